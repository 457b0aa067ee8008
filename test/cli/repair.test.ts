import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { FIXED_NOW } from '../support/fixtures';
import { writeRepairFixture } from '../support/repairFixtures';
import { tempDir } from '../core/helpers';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const NOW = String(FIXED_NOW);

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fixture(): string {
  const dir = tempDir('bma-cli-repair-');
  writeRepairFixture(dir);
  return dir;
}

describe('bot-memory-audit repair / undo / review', function () {
  this.timeout(30000);

  it('prints the plan without writing anything, exit 1 while work is left', () => {
    const dir = fixture();
    const before = fs.readdirSync(dir).sort();
    const r = run('repair', dir, '--now', NOW);
    assert.strictEqual(r.code, 1, r.stderr);
    assert.match(r.stdout, /dangling1/);
    assert.match(r.stdout, /interruption marker/);
    assert.match(r.stdout, /terminal collision in turn/);
    assert.match(r.stdout, /--apply/);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), before);
    const j = JSON.parse(run('repair', dir, '--now', NOW, '--json', '--session', 'dangling1').stdout);
    assert.deepStrictEqual(
      j.plan.sessions.map((s: { sessionId: string }) => s.sessionId),
      ['dangling1'],
    );
  });

  it('--apply repairs; the same command then has only the live turns left (exit 1) and a healthy session gives 0', () => {
    const dir = fixture();
    const a = run('repair', dir, '--now', NOW, '--apply', '--reviewer', 'ana');
    assert.strictEqual(a.code, 1, a.stderr); // live4 / stale5 are skipped: work left undone
    assert.match(a.stdout, /applied repair \S+: 3 of 3 sessions/);
    const again = JSON.parse(run('repair', dir, '--now', NOW, '--json').stdout);
    assert.ok(
      again.plan.sessions.every(
        (s: { messages: unknown[]; appends: unknown[]; reviews: unknown[] }) => s.messages.length + s.appends.length + s.reviews.length === 0,
      ),
    );
    assert.strictEqual(run('repair', dir, '--now', NOW, '--session', 'dangling1').code, 0);
    assert.strictEqual(run('repair', dir, '--now', NOW, '--session', 'healthy6').code, 0);
    const log = fs.readFileSync(path.join(dir, '_audit_repairs.jsonl'), 'utf8');
    assert.match(log, /"reviewer":"ana"/);
  });

  it('audit shows reviewed lines as known (JSON "reviewed": true) and they stop failing --fail-on', () => {
    const dir = fixture();
    const before = JSON.parse(run('audit', dir, '--now', NOW, '--json', '--session', 'collide3').stdout);
    assert.ok(before.sessions[0].findings.some((f: { kind: string; reviewed?: boolean }) => f.kind === 'malformed_line' && !f.reviewed));
    run('repair', dir, '--now', NOW, '--apply', '--session', 'collide3');
    const r = run('audit', dir, '--now', NOW, '--json', '--session', 'collide3', '--fail-on', 'error');
    const s = JSON.parse(r.stdout).sessions[0];
    const mal = s.findings.filter((f: { kind: string }) => f.kind === 'malformed_line');
    assert.strictEqual(mal.length, 2);
    assert.ok(mal.every((f: { reviewed?: boolean; review_note?: string }) => f.reviewed === true && /left as is/.test(f.review_note ?? '')));
    assert.strictEqual(r.code, 0, 'reviewed errors no longer fail the run');
    assert.strictEqual(run('audit', dir, '--now', NOW, '--session', 'collide3', '--fail-on', 'warning').code, 1, 'the collision is not reviewed yet');
    const turn = s.collisions[0].turn_id;
    assert.strictEqual(run('review', dir, '--session', 'collide3', '--turn', turn).code, 2);
    const rv = run('review', dir, '--session', 'collide3', '--turn', turn, '--note', 'checked: completed is right', '--reviewer', 'bo');
    assert.strictEqual(rv.code, 0, rv.stderr);
    const human = run('audit', dir, '--now', NOW, '--session', 'collide3', '--fail-on', 'warning');
    assert.match(human.stdout, /\[reviewed: checked: completed is right \(bo\)\]/);
    assert.strictEqual(human.code, 0);
  });

  it('undo restores the files; refuses with exit 1 when a sidecar changed since', () => {
    const dir = fixture();
    const sc = path.join(dir, 'dangling1.json');
    const original = fs.readFileSync(sc);
    run('repair', dir, '--now', NOW, '--apply', '--session', 'dangling1');
    assert.ok(!fs.readFileSync(sc).equals(original));
    const u = run('undo', dir);
    assert.strictEqual(u.code, 0, u.stderr);
    assert.match(u.stdout, /undone/);
    assert.ok(fs.readFileSync(sc).equals(original));
    const nothing = run('undo', dir).stdout;
    assert.match(nothing, /no repair to undo/);
    assert.doesNotMatch(nothing, /nothing there/, 'one sentence, not "nothing there is no repair to undo"');
    run('repair', dir, '--now', NOW, '--apply', '--session', 'dangling1');
    fs.appendFileSync(sc, ' ');
    const refused = run('undo', dir);
    assert.strictEqual(refused.code, 1);
    assert.match(refused.stdout, /refused .*dangling1\.json changed since the repair/);
  });

  it('usage errors and unreadable folders exit 2 with a message, no stack trace', () => {
    const dir = fixture();
    for (const args of [
      ['repair'],
      ['repair', dir, '--session', 'bad id'],
      ['repair', dir, '--session', 'nosuch'],
      ['repair', dir, '--bogus'],
      ['repair', path.join(dir, 'missing')],
      ['undo'],
    ]) {
      const r = run(...args);
      assert.strictEqual(r.code, 2, args.join(' '));
      assert.ok(r.stderr.length > 0 && !/\n\s+at /.test(r.stderr), r.stderr);
    }
  });
});
