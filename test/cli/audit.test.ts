import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ev, lifecycle, line, sessionsDir, T0 } from '../core/helpers';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bot-memory-audit audit', () => {
  function folder(): string {
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(path.join(journal, 'good~1.jsonl'), lifecycle('g1', T0));
    fs.writeFileSync(
      path.join(dir, 'good.json'),
      JSON.stringify({
        title: 'Good one',
        messages: [
          { role: 'user', content: 'question g1' },
          { role: 'assistant', content: 'a' },
        ],
      }),
    );
    fs.writeFileSync(path.join(journal, 'bad~1.jsonl'), lifecycle('b1', T0) + 'garbage\n');
    fs.writeFileSync(path.join(journal, 'bad~2.jsonl'), line(ev('interrupted', 'b1', T0 + 30, { reason: 'cancelled' })));
    return dir;
  }

  it('prints exactly one JSON object in the documented shape', () => {
    const r = run('audit', folder(), '--json', '--now', String(T0 + 100));
    assert.strictEqual(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.strictEqual(report.version, 1);
    assert.deepStrictEqual(
      report.sessions.map((s: { session_id: string }) => s.session_id),
      ['bad', 'good'],
    );
    const bad = report.sessions[0];
    assert.deepStrictEqual(bad.shards, ['bad~1.jsonl', 'bad~2.jsonl']);
    assert.strictEqual(bad.event_count, 5);
    assert.strictEqual(bad.turn_count, 1);
    assert.deepStrictEqual(bad.states, { b1: 'interrupted' });
    assert.deepStrictEqual(
      bad.collisions.map((c: { turn_id: string; events: string[] }) => [c.turn_id, c.events]),
      [['b1', ['completed', 'interrupted']]],
    );
    assert.deepStrictEqual(
      bad.malformed.map((m: { shard: string; line: number }) => [m.shard, m.line]),
      [['bad~1.jsonl', 5]],
    );
    assert.ok(bad.findings.every((f: { kind: string; severity: string; message: string }) => f.kind && f.severity && f.message));
    assert.strictEqual(report.sessions[1].title, 'Good one');
    assert.deepStrictEqual(report.sessions[1].findings, []);
  });

  it('exit codes follow --fail-on', () => {
    const dir = folder();
    assert.strictEqual(run('audit', dir).code, 1);
    assert.strictEqual(run('audit', dir, '--fail-on', 'never').code, 0);
    assert.strictEqual(run('audit', dir, '--session', 'good').code, 0);
    assert.strictEqual(run('audit', dir, '--session', 'good', '--fail-on', 'warning').code, 0);
    assert.strictEqual(run('audit', dir, '--session', 'bad', '--fail-on', 'warning').code, 1);
  });

  it('human output has one line per session, then the findings', () => {
    const r = run('audit', folder());
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /bad .*1 turn · 0 open · 1 collision · 1 malformed line/);
    assert.match(lines[1], /good "Good one" {2}1 turn · 0 open/);
    assert.match(r.stdout, /malformed_line\s+bad~1\.jsonl:5/);
  });

  it('bad arguments and unreadable folders exit 2 with a message and no stack trace', () => {
    for (const args of [
      ['audit'],
      ['audit', '/nonexistent/x'],
      ['audit', '.', '--fail-on', 'sometimes'],
      ['audit', '.', '--bogus'],
      ['audit', '.', '--session', '../etc'],
      ['frobnicate'],
    ]) {
      const r = run(...args);
      assert.strictEqual(r.code, 2, args.join(' '));
      assert.ok(r.stderr.length > 0);
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace for ${args.join(' ')}`);
    }
  });

  it('a session id that does not exist is a usage error', () => {
    const r = run('audit', folder(), '--session', 'nope');
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /no session "nope"/);
  });

  it('shows hostile transcript text safely in the terminal', () => {
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(path.join(journal, 's~1.jsonl'), lifecycle('t1', T0));
    fs.writeFileSync(path.join(dir, 's.json'), JSON.stringify({ title: 'evil\u001b[2J\u001b]0;pwned\u0007 title', messages: [] }));
    const r = run('audit', dir);
    assert.ok(!r.stdout.includes('\u001b[2J'));
    assert.match(r.stdout, /evil\\u001b\[2J/);
  });
});

describe('bot-memory-audit audit --jobs', () => {
  it('gives the same report on worker threads as on one thread, in the same order', async () => {
    const { generateSessionsFolder } = await import('../support/fixtures');
    const { dir } = sessionsDir();
    generateSessionsFolder(dir, { seed: 7, sessions: 14, anomalies: 'all' });
    const strip = (s: string) => {
      const o = JSON.parse(s);
      delete o.generated_at;
      return JSON.stringify(o);
    };
    const one = run('audit', dir, '--json', '--now', String(T0 + 86400 * 400), '--jobs', '1');
    const four = run('audit', dir, '--json', '--now', String(T0 + 86400 * 400), '--jobs', '4');
    assert.strictEqual(one.code, four.code);
    assert.ok(JSON.parse(one.stdout).sessions.length >= 14);
    assert.strictEqual(strip(four.stdout), strip(one.stdout));
    assert.strictEqual(run('audit', dir, '--jobs', '3', '--now', '0').stdout, run('audit', dir, '--jobs', '1', '--now', '0').stdout);
  });

  it('rejects a bad --jobs', () => {
    const r = run('audit', '.', '--jobs', '0');
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /--jobs/);
  });
});
