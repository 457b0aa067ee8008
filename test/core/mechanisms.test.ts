/**
 * The proof of issue 13: on folders written the way hermes-webui's own writer writes them
 * (split turns, dropped lifecycle events, pid shards reused across restarts, answered turns
 * whose journal ends early, run journals with every terminal state), repair adds ZERO
 * interruption markers to answered turns, and gives the others the run's real cause.
 *
 * When upstream's source is here (python3 + the mirror), the corpus is written by upstream's
 * own code and the TypeScript model is checked byte for byte against it.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { planRepair, applyRepair } from '../../src/core/repair/apply';
import type { SessionAnalysis } from '../../src/core/analyze';
import type { SessionPlan } from '../../src/core/repair/plan';
import { auditFolder } from '../../src/core/audit';
import { buildTimelineModel } from '../../src/core/timelineModel';
import { mechanismScenario, runWriterModel, type MechanismScenario } from '../support/fixtures/mechanisms';
import { runUpstreamWriter, upstreamUnavailable } from '../support/upstreamPython';
import { tempDir } from './helpers';

const T0 = 1763600000;
const NOW = T0 + 2 * 86400;

function listFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** Writes the scenario with upstream's own code when it is here, else with the model. */
function writeCorpus(variant: number): { dir: string; sc: MechanismScenario; by: string } {
  const dir = tempDir();
  const sc = mechanismScenario(T0 + variant * 1000, variant);
  if (!upstreamUnavailable()) {
    runUpstreamWriter(dir, sc.steps);
    return { dir, sc, by: 'upstream' };
  }
  runWriterModel(dir, sc.steps);
  return { dir, sc, by: 'model' };
}

describe("mechanisms of upstream's writer (FORMATS.md §1)", function () {
  this.timeout(120_000);

  it("the TypeScript model writes the same bytes as upstream's own writer", function () {
    const why = upstreamUnavailable();
    if (why) {
      console.log(`      (skipped: ${why})`);
      return this.skip();
    }
    for (const variant of [0, 1]) {
      const up = tempDir();
      const model = tempDir();
      const sc = mechanismScenario(T0, variant);
      const upRes = runUpstreamWriter(up, sc.steps);
      const modelRes = runWriterModel(model, sc.steps);
      assert.deepStrictEqual(
        modelRes.map((r) => r.dropped ?? null),
        upRes.map((r) => r.dropped ?? null),
        'the same events are dropped',
      );
      const a = listFiles(up);
      const b = listFiles(model);
      assert.deepStrictEqual([...b.keys()].sort(), [...a.keys()].sort());
      for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} differs`);
    }
  });

  it('repair adds zero interruption markers to answered turns, and gives the others their real cause', async () => {
    let answered = 0;
    let unanswered = 0;
    for (const variant of [0, 1, 2, 3]) {
      const { dir, sc } = writeCorpus(variant);
      const analyses = new Map<string, SessionAnalysis>();
      const plan = await planRepair(dir, { now: NOW, onSession: (a) => analyses.set(a.sessionId, a) });
      const plans = new Map<string, SessionPlan>(plan.sessions.map((p) => [p.sessionId, p]));
      for (const truth of sc.turns) {
        const a = analyses.get(truth.sessionId)!;
        const turn = a.turns.find((t) => t.streamId === truth.streamId);
        assert.ok(turn, `${truth.mechanism}: the turn is in the analysis`);
        const ids = new Set([turn.turnId, ...turn.aliasTurnIds]);
        const p = plans.get(truth.sessionId);
        const markers = (p?.messages ?? []).filter((m) => m.kind === 'interruption_marker' && ids.has(m.turnId));
        const interrupted = (p?.appends ?? []).filter((x) => x.kind === 'interrupted_event' && ids.has(x.turnId));
        const completed = (p?.appends ?? []).filter((x) => x.kind === 'completed_event' && ids.has(x.turnId));
        if (truth.answered) {
          answered++;
          assert.strictEqual(markers.length, 0, `${truth.mechanism} (${truth.sessionId}): an answered turn got a marker`);
          assert.strictEqual(interrupted.length, 0, `${truth.mechanism}: an answered turn got "interrupted"`);
          if (!turn.terminal) assert.strictEqual(completed.length, ids.size, `${truth.mechanism}: closed as completed`);
          for (const c of completed) assert.ok(c.evidence && c.evidence.length > 0, 'evidence recorded');
        } else {
          unanswered++;
          assert.strictEqual(markers.length, 1, `${truth.mechanism} (${truth.sessionId}): one marker`);
          assert.strictEqual(markers[0].message.interruption_cause, truth.cause ?? 'audit_repair', truth.mechanism);
          assert.strictEqual(completed.length, 0);
        }
      }
      // Apply, then nothing is left to do, and the sidecars hold exactly the expected markers.
      await applyRepair(plan);
      const again = await planRepair(dir, { now: NOW });
      assert.deepStrictEqual(
        again.sessions.filter((s) => s.messages.length || s.appends.length).map((s) => s.sessionId),
        [],
        'a second repair finds nothing to do',
      );
      for (const sid of new Set(sc.turns.map((t) => t.sessionId))) {
        const side = JSON.parse(fs.readFileSync(path.join(dir, `${sid}.json`), 'utf8')) as { messages: { type?: string }[] };
        const want = sc.turns.filter((t) => t.sessionId === sid && !t.answered).length;
        assert.strictEqual(side.messages.filter((m) => m.type === 'interrupted').length, want, `${sid}: markers in the sidecar`);
      }
    }
    assert.ok(answered >= 36 && unanswered >= 28, `corpus size: ${answered} answered, ${unanswered} not`);
  });

  it('reports split turns with their cause, dropped lifecycle events, and the session upstream cannot read', async () => {
    const { dir, sc } = writeCorpus(0);
    const report = await auditFolder(dir, { now: NOW });
    const by = new Map(report.sessions.map((s) => [s.session_id, s]));
    const split = by.get('split0')!.findings.filter((f) => f.kind === 'split_turn');
    assert.strictEqual(split.length, 2);
    assert.match(split[0].message, /U\+2028/);
    assert.match(by.get('restart0')!.findings.find((f) => f.kind === 'split_turn')!.message, /glued after a torn append/);
    const dropped = by.get('dropped0')!;
    assert.strictEqual(dropped.findings.filter((f) => f.kind === 'lifecycle_dropped').length, 3);
    assert.ok(dropped.findings.some((f) => f.kind === 'upstream_unreadable' && f.severity === 'error'));
    for (const sid of sc.unreadable) assert.ok(by.get(sid)!.findings.some((f) => f.kind === 'upstream_unreadable'));
    assert.ok(!by.get('split0')!.findings.some((f) => f.kind === 'upstream_unreadable'));
    // The timeline shows a split turn as one card carrying both ids.
    const analyses = new Map<string, SessionAnalysis>();
    await planRepair(dir, { now: NOW, sessionId: 'split0', onSession: (a) => analyses.set(a.sessionId, a) });
    const rows = buildTimelineModel(analyses.get('split0')!, { now: NOW }).rows.filter((r) => r.kind === 'turn');
    assert.strictEqual(rows.length, 2, 'two logical turns, two cards');
    for (const r of rows) if (r.kind === 'turn') assert.strictEqual(r.aliasTurnIds?.length, 1);
  });
});
