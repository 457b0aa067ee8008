/**
 * Crash test: `repair --apply` killed with SIGKILL at every step (test/support/crashingCli.ts) and
 * at random moments, ≥ 50 times. After each kill: no valid event lost, no byte of another
 * process's shard changed, every sidecar valid JSON; then a rerun converges (a further plan
 * is empty, each repaired turn has exactly one marker) and upstream's reader sees no pending
 * turn in the repaired sessions and no new collision or malformed line.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { discoverSessions } from '../../src/core/discovery';
import { applyRepair, canonicalJson, hasWork, loadSession, planRepair, MARKER_TURN_FIELD } from '../../src/core/repair';
import { FIXED_NOW, Rng } from '../support/fixtures';
import { HAS_PYTHON, runUpstreamReader, snapshotFiles, writeRepairFixture, type UpstreamSession } from '../support/repairFixtures';
import { tempDir } from '../core/helpers';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
/** The CLI's repair/undo with a step hook that SIGKILLs after the Nth durable write (argument 1; 0 = never). */
const CRASHING_CLI = path.resolve(__dirname, '../support/crashingCli.js');
const NOW = FIXED_NOW;
const REPAIRED = ['dangling1', 'glued2'];

async function validEvents(dir: string): Promise<Map<string, number>> {
  const d = await discoverSessions(dir);
  const counts = new Map<string, number>();
  for (const s of d.sessions) {
    const { analysis } = await loadSession(dir, s, { now: NOW, staleAfterMinutes: 60 });
    for (const e of analysis.events) {
      const k = `${s.sessionId} ${canonicalJson(e.data)}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Runs `repair [--apply]`. killAfterMs: SIGKILL that long after the spawn; killAfterLockMs:
 * SIGKILL that long after the repair lock appears (i.e. after apply started).
 */
function runCli(
  dir: string,
  crashAfter: number,
  kill: { afterMs?: number; afterLockMs?: number } = {},
  apply = true,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    const args = crashAfter > 0 ? [CRASHING_CLI, String(crashAfter)] : [CLI];
    const child = spawn(process.execPath, [...args, 'repair', dir, ...(apply ? ['--apply'] : []), '--now', String(NOW)], { stdio: 'ignore' });
    const timers: NodeJS.Timeout[] = [];
    if (kill.afterMs !== undefined) timers.push(setTimeout(() => child.kill('SIGKILL'), kill.afterMs));
    if (kill.afterLockMs !== undefined) {
      const lock = path.join(dir, '_audit_repairs.lock');
      const poll = setInterval(() => {
        if (fs.existsSync(lock)) {
          clearInterval(poll);
          timers.push(setTimeout(() => child.kill('SIGKILL'), kill.afterLockMs));
        }
      }, 1);
      timers.push(poll);
    }
    child.on('exit', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

describe('repair --apply survives SIGKILL at any point', function () {
  this.timeout(300000); // ~40 s on a quiet 2-core machine; 120 s ran out at load 11
  let template: string;
  let original: Map<string, Buffer>;
  let originalEvents: Map<string, number>;
  let upstreamBefore: Record<string, UpstreamSession> | null;
  let steps = 0;
  let applyMs = 0;

  before(async () => {
    template = tempDir('bma-crash-template-');
    writeRepairFixture(template);
    original = snapshotFiles(template);
    originalEvents = await validEvents(template);
    upstreamBefore = HAS_PYTHON ? runUpstreamReader(template) : null;
    // How many steps a whole run has, and how long it takes.
    const probe = tempDir('bma-crash-probe-');
    fs.cpSync(template, probe, { recursive: true });
    const p = await planRepair(probe, { now: NOW });
    const t = Date.now();
    await applyRepair(p, { onStep: () => steps++ });
    applyMs = Math.max(2, Date.now() - t);
  });

  async function check(dir: string, label: string): Promise<void> {
    const files = snapshotFiles(dir);
    for (const [k, v] of original) {
      if (k.startsWith('_turn_journal')) assert.ok(files.get(k)?.equals(v), `${label}: ${k} changed`);
    }
    for (const [k, v] of files) {
      if (/^[^/]+\.json$/.test(k)) assert.doesNotThrow(() => JSON.parse(v.toString('utf8')), `${label}: ${k} is not valid JSON`);
    }
    const now = await validEvents(dir);
    for (const [k, n] of originalEvents) assert.ok((now.get(k) ?? 0) >= n, `${label}: lost event ${k.slice(0, 120)}`);

    // The rerun converges.
    await applyRepair(await planRepair(dir, { now: NOW }));
    const after = await planRepair(dir, { now: NOW });
    assert.deepStrictEqual(
      after.sessions.filter(hasWork).map((s) => s.sessionId),
      [],
      `${label}: rerun left work`,
    );
    for (const sid of REPAIRED) {
      const sc = JSON.parse(fs.readFileSync(path.join(dir, `${sid}.json`), 'utf8')) as { messages: Record<string, unknown>[] };
      const markers = sc.messages.filter((m) => typeof m[MARKER_TURN_FIELD] === 'string').map((m) => m[MARKER_TURN_FIELD] as string);
      assert.strictEqual(new Set(markers).size, markers.length, `${label}: duplicate marker in ${sid}`);
      const users = sc.messages.filter((m) => m.role === 'user').map((m) => m.content);
      assert.strictEqual(new Set(users).size, users.length, `${label}: duplicate user message in ${sid}`);
    }
    const ownLines = [...snapshotFiles(dir)].filter(([k]) => k.endsWith('~audit.jsonl')).flatMap(([, v]) => v.toString('utf8').split('\n').filter(Boolean));
    assert.strictEqual(new Set(ownLines).size, ownLines.length, `${label}: a line was appended twice`);
    if (upstreamBefore) {
      const up = runUpstreamReader(dir);
      for (const sid of REPAIRED) {
        assert.deepStrictEqual(
          Object.entries(up[sid].states).filter(([, s]) => s !== 'completed' && s !== 'interrupted'),
          [],
          `${label}: upstream sees a pending turn in ${sid}`,
        );
      }
      for (const sid of Object.keys(upstreamBefore)) {
        assert.deepStrictEqual(up[sid].collisions, upstreamBefore[sid].collisions, `${label}: new collision in ${sid}`);
        assert.deepStrictEqual(up[sid].malformed, upstreamBefore[sid].malformed, `${label}: new malformed line in ${sid}`);
      }
    }
  }

  it('kills after each durable step, then at random moments (≥ 50 runs in all) @slow', async () => {
    assert.ok(steps >= 8, `a full run has ${steps} steps`);
    const rng = new Rng(20251120);
    let runs = 0;
    let killed = 0;
    let midRepair = 0;
    // Random kills after the lock appears land in [0, window) ms; the window adapts to this
    // machine's speed (runs that finished first shrink it), so kills keep landing inside apply.
    let window = applyMs * 1.5;
    const total = Math.max(50, steps + 40);
    for (let i = 0; i < total; i++) {
      const dir = tempDir('bma-crash-');
      fs.cpSync(template, dir, { recursive: true });
      const deterministic = i < steps;
      // Random kills: most at a random moment after apply took the lock, some at any moment.
      const r = deterministic
        ? await runCli(dir, i + 1)
        : i % 4 === 0
          ? await runCli(dir, 0, { afterMs: Math.floor(rng.next() * 250) })
          : await runCli(dir, 0, { afterLockMs: Math.floor(rng.next() * window) });
      runs++;
      if (r.signal === 'SIGKILL') killed++;
      if (!deterministic && r.signal === 'SIGKILL') {
        const log = fs.existsSync(path.join(dir, '_audit_repairs.jsonl')) ? fs.readFileSync(path.join(dir, '_audit_repairs.jsonl'), 'utf8') : '';
        if (log.includes('"begin"') && !log.includes('"done"')) midRepair++;
      }
      if (!deterministic && i % 4 !== 0) {
        const log = fs.existsSync(path.join(dir, '_audit_repairs.jsonl')) ? fs.readFileSync(path.join(dir, '_audit_repairs.jsonl'), 'utf8') : '';
        if (r.signal !== 'SIGKILL' || log.includes('"done"')) window = Math.max(1, window * 0.7);
        else if (!log.includes('"begin"')) window *= 1.3;
      }
      if (deterministic) assert.strictEqual(r.signal, 'SIGKILL', `step ${i + 1} did not crash`);
      await check(dir, deterministic ? `crash after step ${i + 1}` : `random kill #${i - steps + 1}`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(runs >= 50);
    console.log(
      `      ${runs} runs: ${steps} deterministic kills, ${killed - steps} random kills (${midRepair} of them mid-repair); in-process apply ${applyMs} ms`,
    );
    assert.ok(killed >= steps, `only ${killed} of ${runs} runs were killed before they finished`);
  });
});

describe('undo survives SIGKILL after each step', function () {
  this.timeout(180000); // ~12 s quiet; room for a loaded machine

  function runUndo(dir: string, crashAfter: number): Promise<{ code: number | null; signal: string | null }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [...(crashAfter > 0 ? [CRASHING_CLI, String(crashAfter)] : [CLI]), 'undo', dir], { stdio: 'ignore' });
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  it('a killed undo leaves valid files and the next undo completes it @slow', async () => {
    const template = tempDir('bma-undo-template-');
    writeRepairFixture(template);
    const original = snapshotFiles(template);
    await applyRepair(await planRepair(template, { now: NOW }));
    const repaired = snapshotFiles(template);
    let step = 0;
    for (;;) {
      step++;
      const dir = tempDir('bma-undo-crash-');
      fs.cpSync(template, dir, { recursive: true });
      const r = await runUndo(dir, step);
      const files = snapshotFiles(dir);
      for (const [k, v] of files) if (/^[^/]+\.json$/.test(k)) assert.doesNotThrow(() => JSON.parse(v.toString('utf8')), `undo step ${step}: ${k}`);
      for (const [k, v] of original) if (k.startsWith('_turn_journal')) assert.ok(files.get(k)?.equals(v), `undo step ${step}: ${k} changed`);
      const again = await runUndo(dir, 0);
      assert.strictEqual(again.code, 0, `undo step ${step}: the next undo failed`);
      const after = snapshotFiles(dir);
      for (const [k, v] of original) {
        if (k.endsWith('.json') || k.startsWith('_turn_journal')) assert.ok(after.get(k)?.equals(v), `undo step ${step}: ${k} not restored`);
      }
      // A shard the repair created is removed by undo, not left empty (issue 13).
      for (const k of after.keys()) assert.ok(!k.endsWith('~audit.jsonl'), `undo step ${step}: ${k} is left behind`);
      fs.rmSync(dir, { recursive: true, force: true });
      if (r.signal !== 'SIGKILL') break; // the undo finished before this step: every step was covered
      assert.ok(step < 50);
    }
    assert.ok(step > 3, `undo had only ${step - 1} steps`);
    assert.ok(repaired.size > original.size);
  });
});
