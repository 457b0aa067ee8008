import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { exportFolder, validateLine } from '../core/feedbackFixture';
import { tempDir } from '../core/helpers';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, BOT_MEMORY_REVIEWER: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bot-memory-audit feedback', () => {
  it('appends records that export picks up (latest wins), and shows the history', function () {
    this.timeout(40_000);
    const dir = exportFolder();
    let r = run('feedback', dir, 's2', 'u2', '--up', '--note', 'better now', '--tag', 'greeting', '--reviewer', 'Cli Person', '--json');
    assert.strictEqual(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout);
    assert.deepStrictEqual(
      [rec.type, rec.version, rec.session_id, rec.turn_id, rec.feedback, rec.note, rec.tags, rec.reviewer],
      ['feedback', 1, 's2', 'u2', 1, 'better now', ['greeting'], 'Cli Person'],
    );
    r = run('export', dir, '--format', 'sft', '--out', '-', '--tag', 'greeting');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(r.stdout, '', 'u1 ("Go away.", 👎) is in u2\'s history: left out');
    assert.match(r.stderr, /left out 1: an earlier 👎 answer without a correction/);
    // A correction of u1 (and a reason for its 👎) lets u2 in, with the correction in its prompt.
    const fix = path.join(tempDir(), 'fix.md');
    fs.writeFileSync(fix, 'Hello!\nHow can I help?\n');
    r = run('feedback', dir, 's2', 'u1', '--down', '--reason', 'not_helpful', '--correct-file', fix, '--reviewer', 'Cli Person');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /👎 down \(not_helpful\) s2 u1[\s\S]*✎ correction \(23 characters\)/);
    r = run('export', dir, '--format', 'sft', '--out', '-', '--tag', 'greeting');
    const rows = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.deepStrictEqual(
      rows.map((o) => o.completion.at(-1).content),
      ['Hello again'],
    );
    assert.deepStrictEqual(
      rows[0].prompt.map((m: { content: string }) => m.content),
      ['Hi', 'Hello!\nHow can I help?\n', 'Hi again'],
    );
    r = run('feedback', dir, 's2', 'u2', '--down');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /👎 down s2 u2 by \S/);
    r = run('export', dir, '--format', 'sft', '--out', '-', '--session', 's2');
    assert.deepStrictEqual(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).completion[0].content),
      ['Hello!\nHow can I help?\n'],
      "the 👎 wins for u2: only u1's correction is an sft example",
    );
    r = run('feedback', dir, 's2', 'u2', '--history', '--json');
    assert.deepStrictEqual(
      JSON.parse(r.stdout).map((x: { feedback: number }) => x.feedback),
      [1, 0, 1, -1],
    );
    r = run('feedback', dir, 's2', 'u1', '--history', '--json');
    assert.deepStrictEqual(
      JSON.parse(r.stdout).map((x: { type: string; reason?: string }) => [x.type, x.reason ?? null]),
      [
        ['feedback', null],
        ['feedback', 'not_helpful'],
        ['correction', null],
      ],
    );
  });

  it('bad arguments and unknown sessions or turns exit 2 with a message and write nothing', function () {
    this.timeout(40_000);
    const dir = exportFolder();
    const file = path.join(dir, '_turn_feedback', 's1.jsonl');
    const before = fs.readFileSync(file, 'utf8');
    for (const args of [
      ['feedback', dir, 's1', 't1'],
      ['feedback', dir, 's1', 't1', '--up', '--down'],
      ['feedback', dir, 'nosuch', 't1', '--up'],
      ['feedback', dir, 's1', 'nosuch', '--up'],
      ['feedback', dir, '../x', 't1', '--up'],
      ['feedback', dir, 's1', 't1', '--up', '--note', 'x'.repeat(10_001)],
      ['feedback', '/nonexistent/dir', 's1', 't1', '--up'],
      ['feedback', dir, 's1'],
      ['feedback', dir, 's1', 't1', '--up', '--reason', 'too_long'],
      ['feedback', dir, 's1', 't1', '--down', '--reason', 'boring'],
      ['feedback', dir, 's1', 't1', '--down', '--correct', 'x', '--correct-file', '/etc/hostname'],
      ['feedback', dir, 's1', 't1', '--down', '--correct-file', '/nonexistent/file'],
    ]) {
      const r = run(...args);
      assert.strictEqual(r.code, 2, `${args.slice(2).join(' ').slice(0, 60)}: ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.length > 0 && !/\n\s+at /.test(r.stderr), r.stderr);
    }
    assert.strictEqual(fs.readFileSync(file, 'utf8'), before);
  });
});

describe('bot-memory-audit export', () => {
  it('writes each format, validated line by line, with a summary of what was left out', function () {
    this.timeout(40_000);
    const dir = exportFolder();
    const outDir = tempDir();
    for (const format of ['sft', 'sft-messages', 'kto', 'dpo'] as const) {
      const file = path.join(outDir, `${format}.jsonl`);
      const r = run('export', dir, '--format', format, '--out', file);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600, 'transcript text: 0600');
      assert.match(fs.readFileSync(`${file}.README.md`, 'utf8'), /^---\nlicense: other/);
      const lines = fs.readFileSync(file, 'utf8').split(/(?<=\n)/);
      assert.ok(lines.length > 0);
      for (const l of lines) assert.strictEqual(validateLine(format, l), null, l);
      assert.match(r.stdout, new RegExp(`^${lines.length} ${format} example`));
      assert.match(r.stdout, /left out 1: terminal collision/);
      assert.match(r.stdout, /left out 1: interrupted/);
      // Same input, same bytes.
      const again = path.join(outDir, `${format}-again.jsonl`);
      assert.strictEqual(run('export', dir, '--format', format, '--out', again).code, 0);
      assert.ok(fs.readFileSync(file).equals(fs.readFileSync(again)));
    }
    const j = run(
      'export',
      dir,
      '--format',
      'kto',
      '--out',
      path.join(outDir, 'k.jsonl'),
      '--json',
      '--since',
      '2026-01-01T00:00:30Z',
      '--until',
      String(1767225600 + 100),
    );
    const summary = JSON.parse(j.stdout);
    assert.strictEqual(summary.examples, 2);
    assert.strictEqual(summary.excluded.before_since, 3);
    // No examples: nothing written, and it says so.
    const none = path.join(outDir, 'none.jsonl');
    const n = run('export', dir, '--format', 'dpo', '--out', none, '--model', 'no-such-model');
    assert.strictEqual(n.code, 0, n.stderr);
    assert.match(n.stdout, /no examples: nothing written/);
    assert.ok(!fs.existsSync(none) && !fs.existsSync(`${none}.README.md`));
  });

  it('agreement prints kappa per pair and alpha', function () {
    this.timeout(20_000);
    const dir = exportFolder();
    for (const [rev, v] of [
      ['bo', '--down'],
      ['cy', '--up'],
    ] as const)
      assert.strictEqual(run('feedback', dir, 's1', 't1', v, '--reviewer', rev).code, 0);
    const r = run('agreement', dir, '--no-hermes-feedback');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /rated by two or more reviewers \(3 reviewers\)/);
    assert.match(r.stdout, /Cohen's kappa ana × bo: .* over 1 turn/);
    assert.match(r.stdout, /Krippendorff's alpha \(nominal\): -?\d\.\d{3}|n\/a/);
    assert.match(r.stdout, /disagree: s1 t1 {2}ana 👍, bo 👎, cy 👍/);
  });

  it('usage errors exit 2', function () {
    this.timeout(40_000);
    const dir = exportFolder();
    for (const args of [
      ['export', dir],
      ['export', dir, '--format', 'rlhf', '--out', '-'],
      ['export', dir, '--format', 'sft'],
      ['export', dir, '--format', 'sft', '--out', '-', '--since', 'yesterday'],
      ['export', dir, '--format', 'sft', '--out', '-', '--since', '2026-02-01', '--until', '2026-01-01'],
      ['export', '/nonexistent/dir', '--format', 'sft', '--out', '-'],
    ]) {
      const r = run(...args);
      assert.strictEqual(r.code, 2, `${args.slice(2).join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.length > 0 && !/\n\s+at /.test(r.stderr), r.stderr);
    }
  });
});
