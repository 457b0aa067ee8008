import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { FakeGithub, ONE_MB } from '../support/fakeGithub';
import { partPath } from '../../src/core/github/remote';
import { idsOf, turnId, writeFeedback, writeSession } from '../support/githubFixtures';
import { tempDir } from '../core/helpers';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const REPO = 'acme/bot';
const LOG = 'data/interactions.jsonl';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the fake server lives here). */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        GITHUB_TOKEN: 'test-token',
        BMA_GITHUB_TIMEOUT_MS: '500',
        BMA_GITHUB_RETRY_BASE_MS: '10',
        BMA_GITHUB_WRITE_SPACING_MS: '10',
        NO_COLOR: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Four "machines" with overlapping sessions and feedback; each round adds turns. */
function machines(dirs: string[], round: number, all: Set<string>): void {
  for (let k = 0; k < 4; k++) {
    dirs[k] ??= tempDir('bma-machine-');
    const dir = dirs[k];
    for (const s of [k, k + 1, k + 2]) for (const id of writeSession(dir, `s${s % 6}`, 6 + 5 * round)) all.add(id);
    for (const id of writeFeedback(dir, `s${k}`, [
      { id: `fb-common-${round}`, turn: turnId(0), feedback: -1 },
      { id: `fb-${k}-${round}`, turn: turnId(1), feedback: 1, note: `from machine ${k}` },
    ]))
      all.add(id);
  }
}

function pushArgs(dir: string, gh: FakeGithub, extra: string[] = []): string[] {
  return ['push', dir, '--repo', REPO, '--api-url', gh.url, '--quiet', ...extra];
}

describe('bot-memory-audit push / pull', function () {
  this.timeout(180_000); // 4 CLI processes × 3 rounds; a loaded 2-core machine makes them slow
  let gh: FakeGithub;
  afterEach(async () => {
    await gh?.stop();
  });

  /** Every rotated part in order, then the active file (what pull reads). */
  function wholeLog(): Buffer {
    const chunks: Buffer[] = [];
    for (let n = 1; ; n++) {
      const part = gh.file(REPO, partPath(LOG, n));
      if (!part) break;
      chunks.push(part);
    }
    chunks.push(gh.file(REPO, LOG) ?? Buffer.alloc(0));
    return Buffer.concat(chunks.flatMap((c, i) => (i < chunks.length - 1 && c.length && c[c.length - 1] !== 0x0a ? [c, Buffer.from('\n')] : [c])));
  }

  async function concurrent(prior: Buffer, faultRate: number, extra: string[]): Promise<void> {
    gh = await new FakeGithub({
      hangMs: 1500,
      randomFaults: { rate: faultRate, kinds: ['status500', 'status502', 'conflict409', 'reset', 'resetAfterWrite', 'hang'], seed: 7 },
    }).start();
    gh.createRepo(REPO, { [LOG]: prior });
    const dirs: string[] = [];
    const all = new Set<string>();
    const first: Run[] = [];
    for (let round = 0; round < 3; round++) {
      machines(dirs, round, all);
      const results = await Promise.all(dirs.map((d) => run(pushArgs(d, gh, extra))));
      for (const [i, r] of results.entries()) {
        assert.ok(r.code === 0 || r.code === 1, `machine ${i} exit ${r.code}: ${r.stderr}`);
        const outbox = fs.readFileSync(path.join(dirs[i], '_github_outbox.jsonl'), 'utf8');
        if (r.code === 1) assert.ok(outbox.length > 0, 'a failed push keeps its records');
        else assert.strictEqual(outbox, '', `machine ${i}: outbox emptied`);
        if (first[i]?.code !== 1) first[i] = r;
        if (process.env.BMA_DEBUG_DUPS)
          console.log(
            `round ${round} machine ${i}`,
            r.stderr
              .split('\n')
              .filter((l) => l.startsWith('TRACE'))
              .join('\n'),
          );
      }
    }
    const faults = gh.log.filter((l) => l.fault).length;
    const conflicts = gh.log.filter((l) => l.status === 409 || (l.status === 422 && l.method === 'PATCH')).length;
    assert.ok(faults > 0, 'faults were injected');
    if (process.env.BMA_VERBOSE)
      console.log(`    ${gh.log.length} requests, ${faults} faults, ${conflicts} conflicts, exits ${first.map((r) => r.code).join(' ')}`);
    // The network heals: whoever failed pushes again.
    gh.randomFaults = undefined;
    for (const [i, r] of first.entries()) if (r.code !== 0) assert.strictEqual((await run(pushArgs(dirs[i], gh, extra))).code, 0);
    const after = wholeLog();
    assert.ok(after.subarray(0, prior.length).equals(prior), 'prior lines untouched');
    const sep = prior.length && prior[prior.length - 1] !== 0x0a ? 1 : 0;
    const ids = idsOf(after.subarray(prior.length + sep));
    if (process.env.BMA_DEBUG_DUPS) {
      const count = new Map<string, number>();
      for (const id of ids) count.set(id, (count.get(id) ?? 0) + 1);
      for (let n = 1; gh.file(REPO, partPath(LOG, n)); n++)
        console.log(
          n,
          gh
            .file(REPO, partPath(LOG, n))!
            .toString()
            .split('\n')
            .filter((l) => [...count].some(([id, c]) => c > 1 && l.includes(`"${id}"`)))
            .map((l) => JSON.parse(l).id),
        );
      console.log(
        'active',
        gh
          .file(REPO, LOG)!
          .toString()
          .split('\n')
          .filter((l) => [...count].some(([id, c]) => c > 1 && l.includes(`"${id}"`)))
          .map((l) => JSON.parse(l).id),
      );
      console.log(
        gh.log
          .filter((l) => l.method !== 'GET' || l.path.includes('contents/data?'))
          .map((l) => `${l.method} ${l.path.slice(0, 60)} ${l.status}${l.fault ? ' ' + l.fault : ''}`)
          .join('\n'),
      );
    }
    assert.strictEqual(ids.length, all.size, `every record exactly once (${ids.length} lines for ${all.size} records)`);
    assert.deepStrictEqual(new Set(ids), all);
    for (const d of dirs) assert.strictEqual(fs.readFileSync(path.join(d, '_github_outbox.jsonl'), 'utf8'), '');
    // And pushing again changes nothing.
    const commits = gh.commitCount(REPO);
    const again = await Promise.all(dirs.map((d) => run(pushArgs(d, gh, extra))));
    assert.ok(again.every((r) => r.code === 0));
    assert.ok(
      again.every((r) => !/log_rewritten/.test(r.stderr)),
      'no false alarm: nothing vanished',
    );
    assert.strictEqual(gh.commitCount(REPO), commits);
  }

  it('4 processes pushing overlapping records at once, with random 409/5xx/resets/timeouts, rotating at 8 KB: each record once @slow', async () => {
    await concurrent(Buffer.from('{"id":"prior-1","type":"interaction"}\nthis line is not JSON\n{"id":"prior-2"}'), 0.3, ['--rotate-at-kb', '8']);
    assert.ok(gh.file(REPO, partPath(LOG, 3)), 'the log was rotated several times');
  });

  it('the same over 1 MB (Git Data API), prior bytes untouched @slow', async () => {
    const prior = Buffer.from(Array.from({ length: 9000 }, (_, i) => JSON.stringify({ id: `old-${i}`, pad: 'p'.repeat(110) }) + '\n').join(''));
    assert.ok(prior.length > ONE_MB);
    await concurrent(prior, 0.15, ['--rotate-at-kb', '0']);
    assert.ok(!gh.log.some((l) => l.method === 'PUT' && l.status > 0 && l.status < 300), 'no Contents API write for a large file');
  });

  it('a rewritten log is reported on stderr even with --quiet, and healed', async () => {
    gh = await new FakeGithub().start();
    gh.createRepo(REPO, {});
    const dir = tempDir();
    const ids = writeSession(dir, 's1', 5);
    assert.strictEqual((await run(pushArgs(dir, gh))).code, 0);
    gh.writeFile(REPO, LOG, '{"type":"feedback","session_id":"s1","feedback":-1}\n'); // someone replaced the file
    const r = await run(pushArgs(dir, gh));
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning log_rewritten: The log acme\/bot:data\/interactions\.jsonl was rewritten:/);
    assert.match(r.stderr, /4 records pushed earlier were gone\. 4 pushed again/);
    assert.deepStrictEqual(idsOf(gh.file(REPO, LOG)!.toString().split('\n').slice(1).join('\n')), ids);
  });

  it('exit 2 for a bad token, a read-only token, a missing repository or branch, or no token', async () => {
    gh = await new FakeGithub({ tokens: { 'test-token': 'write', ro: 'read' } }).start();
    gh.createRepo(REPO, {});
    const dir = tempDir();
    writeSession(dir, 's1', 3);
    const bad = await run(pushArgs(dir, gh), { GITHUB_TOKEN: 'secret-wrong-token' });
    assert.strictEqual(bad.code, 2);
    assert.match(bad.stderr, /401 Bad credentials/);
    assert.ok(!bad.stderr.includes('secret-wrong-token') && !bad.stdout.includes('secret-wrong-token'), 'the token is never printed');
    const ro = await run(pushArgs(dir, gh), { GITHUB_TOKEN: 'ro' });
    assert.strictEqual(ro.code, 2);
    assert.match(ro.stderr, /contents: write/);
    assert.strictEqual((await run(['push', dir, '--repo', 'acme/none', '--api-url', gh.url])).code, 2);
    const br = await run(pushArgs(dir, gh, ['--branch', 'dev']));
    assert.strictEqual(br.code, 2);
    assert.match(br.stderr, /Branch "dev" not found/);
    const none = await run(pushArgs(dir, gh), { GITHUB_TOKEN: '' });
    assert.strictEqual(none.code, 2);
    assert.match(none.stderr, /GITHUB_TOKEN is not set/);
    assert.strictEqual((await run(['push', dir, '--api-url', gh.url])).code, 2);
    // The records are still waiting in the outbox.
    assert.strictEqual(fs.readFileSync(path.join(dir, '_github_outbox.jsonl'), 'utf8').trim().split('\n').length, 2);
  });

  it('exit 1 with records kept when GitHub cannot be reached; pull writes the log', async () => {
    gh = await new FakeGithub().start();
    gh.createRepo(REPO, {});
    const dir = tempDir();
    writeSession(dir, 's1', 4);
    const port = gh.port;
    await gh.stop();
    const down = await run(['push', dir, '--repo', REPO, '--api-url', `http://127.0.0.1:${port}`], { BMA_GITHUB_RETRY_BASE_MS: '1' });
    assert.strictEqual(down.code, 1, down.stderr);
    assert.match(down.stderr, /Nothing was lost/);
    assert.strictEqual(fs.readFileSync(path.join(dir, '_github_outbox.jsonl'), 'utf8').trim().split('\n').length, 3);
    gh = await new FakeGithub().start();
    gh.createRepo(REPO, {});
    const up = await run(pushArgs(dir, gh));
    assert.strictEqual(up.code, 0, up.stderr);
    assert.match(up.stdout, /appended 3 records/);
    const pull = await run(['pull', dir, '--repo', REPO, '--api-url', gh.url, '--last', '2']);
    assert.strictEqual(pull.code, 0, pull.stderr);
    assert.deepStrictEqual(idsOf(fs.readFileSync(path.join(dir, '_github_log.jsonl'))), idsOf(gh.file(REPO, LOG)!).slice(1));
  });
});
