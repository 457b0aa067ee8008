/**
 * The hostile sessions folder (docs/security.md): symlinks at paths we write, FIFOs/devices at
 * paths we read, a concurrent sidecar writer, torn lines, hostile ids and file names — each run
 * through the real CLI with a timeout (a FIFO opened for reading blocks forever: a hang fails).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawn, spawnSync } from 'child_process';
import { tempDir } from '../core/helpers';
import { openDb } from '../../src/core/sqlite/engine';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const T = 1762009200;

function run(args: string[], timeout = 20_000): { status: number | null; stdout: string; stderr: string; timedOut: boolean } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined && /ETIMEDOUT/.test(String(r.error)) };
}

function ev(sid: string, turn: string, event: string, at: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event,
    stream_id: 'st',
    ...(event === 'submitted' ? { role: 'user', content: 'hello' } : {}),
    version: 1,
    session_id: sid,
    turn_id: turn,
    created_at: at,
    ...(event === 'completed' || event === 'interrupted' ? { terminal: true } : {}),
    ...extra,
  });
}

/** s1: one completed turn and one dangling turn (repair adds a marker to the sidecar and an `interrupted`). */
function folder(): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, '_turn_journal'));
  fs.writeFileSync(
    path.join(dir, '_turn_journal', 's1~100.jsonl'),
    [ev('s1', 't1', 'submitted', T), ev('s1', 't1', 'completed', T + 1), ev('s1', 't2', 'submitted', T + 10)].join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(dir, 's1.json'),
    JSON.stringify({
      session_id: 's1',
      title: 'one',
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: 'hi' },
        { role: 'user', content: 'hello' },
      ],
    }),
  );
  return dir;
}

function mkfifo(p: string): void {
  execFileSync('mkfifo', [p]);
}

describe('hostile file system', function () {
  this.timeout(120_000);

  it('FIFOs at every path we read: audit, repair plan, feedback, push outbox and rebuild finish; audit/rebuild report, not exit 2', () => {
    const dir = folder();
    fs.mkdirSync(path.join(dir, '_turn_feedback'));
    for (const p of [
      '_audit_repairs.jsonl',
      '_turn_feedback/s1.jsonl',
      '_github_outbox.jsonl',
      '_github_ledger.jsonl',
      '_github_state.json',
      '_audit_repairs.lock',
      's2.json',
    ])
      mkfifo(path.join(dir, p));
    fs.writeFileSync(path.join(dir, '_turn_journal', 's2~1.jsonl'), ev('s2', 'u1', 'submitted', T) + '\n');
    const audit = run(['audit', dir, '--json', '--fail-on', 'never']);
    assert.ok(!audit.timedOut, 'audit hung');
    assert.strictEqual(audit.status, 0, audit.stderr);
    const report = JSON.parse(audit.stdout) as { skipped_files: { name: string; reason: string }[] };
    assert.ok(
      report.skipped_files.some((f) => f.name === '_audit_repairs.jsonl' && /FIFO/.test(f.reason)),
      JSON.stringify(report.skipped_files),
    );
    const plan = run(['repair', dir]);
    assert.ok(!plan.timedOut, 'repair plan hung');
    assert.notStrictEqual(plan.status, null);
    const apply = run(['repair', dir, '--apply']);
    assert.ok(!apply.timedOut, 'repair apply hung');
    assert.ok(/FIFO|not a regular file|lock/i.test(apply.stderr + apply.stdout), apply.stderr + apply.stdout);
    const fb = run(['feedback', dir, 's1', 't1', '--up']);
    assert.ok(!fb.timedOut, 'feedback hung');
    assert.notStrictEqual(fb.status, 0, 'a feedback record is never written into a FIFO');
    const db = path.join(tempDir(), 'index.db');
    const rebuild = run(['rebuild', dir, '--db', db]);
    assert.ok(!rebuild.timedOut, 'rebuild hung');
    assert.strictEqual(rebuild.status, 0, rebuild.stderr);
  });

  it('mode 000 repair log and feedback file (run as nobody via setpriv: root ignores mode 000) are findings; audit and rebuild go on', function () {
    if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) this.skip();
    const dir = folder();
    fs.mkdirSync(path.join(dir, '_turn_feedback'));
    fs.writeFileSync(path.join(dir, '_audit_repairs.jsonl'), '{"op":"done","repair_id":"x","at":"2020"}\n');
    fs.writeFileSync(path.join(dir, '_turn_feedback', 's1.jsonl'), '');
    fs.chmodSync(path.join(dir, '_audit_repairs.jsonl'), 0o000);
    fs.chmodSync(path.join(dir, '_turn_feedback', 's1.jsonl'), 0o000);
    for (const d of [dir, path.join(dir, '_turn_journal'), path.join(dir, '_turn_feedback')]) fs.chmodSync(d, 0o755);
    for (const f of fs.readdirSync(path.join(dir, '_turn_journal'))) fs.chmodSync(path.join(dir, '_turn_journal', f), 0o644);
    fs.chmodSync(path.join(dir, 's1.json'), 0o644);
    const out = tempDir();
    fs.chmodSync(out, 0o777);
    const asNobody = (args: string[]) =>
      spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
    const audit = asNobody(['audit', dir, '--json', '--fail-on', 'never']);
    assert.strictEqual(audit.status, 0, audit.stderr);
    const report = JSON.parse(audit.stdout) as { skipped_files: { name: string; reason: string }[] };
    assert.ok(
      report.skipped_files.some((f) => f.name === '_audit_repairs.jsonl' && /permission denied/.test(f.reason)),
      JSON.stringify(report.skipped_files),
    );
    const rebuild = asNobody(['rebuild', dir, '--db', path.join(out, 'i.db')]);
    assert.strictEqual(rebuild.status, 0, rebuild.stderr);
  });

  it('a character device or a link to /dev/zero as sidecar or shard is reported, never read', () => {
    const dir = folder();
    fs.rmSync(path.join(dir, 's1.json'));
    fs.symlinkSync('/dev/zero', path.join(dir, 's1.json'));
    fs.symlinkSync('/dev/zero', path.join(dir, '_turn_journal', 'z1~1.jsonl'));
    const audit = run(['audit', dir, '--json', '--fail-on', 'never']);
    assert.ok(!audit.timedOut, 'audit read /dev/zero');
    assert.strictEqual(audit.status, 0, audit.stderr);
  });

  it('device files (mknod: a /dev/null and a /dev/zero clone, a block device) at sidecar, shard, repair log, feedback file, lock, own shard and index: never opened, clear messages', function () {
    const probe = path.join(tempDir(), 'probe');
    if (spawnSync('mknod', [probe, 'c', '1', '3']).status !== 0) this.skip(); // not root, or no CAP_MKNOD
    const mknod = (p: string, ...spec: string[]) => execFileSync('mknod', [p, ...spec]);
    // Read paths: /dev/zero clones (reading one never ends) and a block device.
    const dir = folder();
    fs.mkdirSync(path.join(dir, '_turn_feedback'));
    mknod(path.join(dir, '_turn_journal', 'z1~1.jsonl'), 'c', '1', '5');
    fs.writeFileSync(path.join(dir, '_turn_journal', 's2~1.jsonl'), ev('s2', 'u1', 'submitted', T) + '\n');
    mknod(path.join(dir, 's2.json'), 'b', '7', '0');
    mknod(path.join(dir, '_audit_repairs.jsonl'), 'c', '1', '3');
    mknod(path.join(dir, '_turn_feedback', 's1.jsonl'), 'c', '1', '5');
    const audit = run(['audit', dir, '--json', '--fail-on', 'never']);
    assert.ok(!audit.timedOut, 'audit read a device');
    assert.strictEqual(audit.status, 0, audit.stderr);
    const report = JSON.parse(audit.stdout) as {
      skipped_files: { name: string; reason: string }[];
      sessions: { session_id: string; findings: { kind: string; message: string }[] }[];
    };
    const skipped = new Map(report.skipped_files.map((f) => [f.name, f.reason]));
    assert.strictEqual(skipped.get('z1~1.jsonl'), 'not a regular file');
    assert.match(
      skipped.get('_audit_repairs.jsonl') ?? '',
      /_audit_repairs\.jsonl is a character device, not a regular file: not opened\); reviews recorded in it are not applied$/,
    );
    const s2 = report.sessions.find((x) => x.session_id === 's2')!;
    assert.ok(
      s2.findings.some((f) => f.kind === 'invalid_sidecar' && /s2\.json cannot be used: not a regular file/.test(f.message)),
      JSON.stringify(s2.findings),
    );
    const plan = run(['repair', dir]);
    assert.ok(!plan.timedOut);
    assert.match(plan.stdout, /the sidecar cannot be used: .*s2\.json is a block device, not a regular file: not opened/);
    const apply = run(['repair', dir, '--apply']);
    assert.ok(!apply.timedOut, 'repair read a device');
    assert.strictEqual(apply.status, 2, apply.stdout);
    assert.match(apply.stderr, /_audit_repairs\.jsonl is a character device, not a regular file: not opened/);
    assert.ok(!/\n\s+at /.test(apply.stderr), 'no stack trace');
    assert.ok(!fs.existsSync(path.join(dir, '_turn_journal', 's1~audit.jsonl')), 'nothing written when the repair log cannot take the record');
    const fb = run(['feedback', dir, 's1', 't1', '--up']);
    assert.strictEqual(fb.status, 2);
    assert.match(fb.stderr, /_turn_feedback\/s1\.jsonl is a character device, not a regular file: not opened/);
    const db = path.join(tempDir(), 'index.db');
    const rebuild = run(['rebuild', dir, '--db', db]);
    assert.ok(!rebuild.timedOut, 'rebuild read a device');
    assert.strictEqual(rebuild.status, 0, rebuild.stderr);
    for (const p of ['_turn_journal/z1~1.jsonl', 's2.json', '_audit_repairs.jsonl', '_turn_feedback/s1.jsonl']) {
      assert.ok(fs.lstatSync(path.join(dir, p)).isCharacterDevice() || fs.lstatSync(path.join(dir, p)).isBlockDevice(), `${p} is still the device`);
    }

    // Write paths. Our own shard as a /dev/null clone: the session is skipped, nothing "appended" into it.
    const own = folder();
    mknod(path.join(own, '_turn_journal', 's1~audit.jsonl'), 'c', '1', '3');
    const ownApply = run(['repair', own, '--apply']);
    assert.ok(!ownApply.timedOut);
    assert.match(ownApply.stdout, /our shard s1~audit\.jsonl is a symbolic link or not a regular file; nothing is written through it/);
    assert.ok(fs.lstatSync(path.join(own, '_turn_journal', 's1~audit.jsonl')).isCharacterDevice());
    // The lock name as a device: never read (a planted lock whose owner is unknown is not a live holder), removed as a name.
    const lock = folder();
    mknod(path.join(lock, '_audit_repairs.lock'), 'c', '1', '5');
    const lockApply = run(['repair', lock, '--apply']);
    assert.ok(!lockApply.timedOut, 'the lock was read');
    assert.strictEqual(lockApply.status, 0, lockApply.stderr);
    assert.ok(!fs.existsSync(path.join(lock, '_audit_repairs.lock')));
    // The index as a device: refused with a message, the device stays.
    const idx = path.join(tempDir(), 'idx.db');
    mknod(idx, 'c', '1', '3');
    const r2 = run(['rebuild', folder(), '--db', idx]);
    assert.strictEqual(r2.status, 2, r2.stdout);
    assert.match(r2.stderr, /idx\.db is a character device, not a regular file: not opened/);
    assert.ok(fs.lstatSync(idx).isCharacterDevice(), 'the device was replaced');
  });

  it('symlinks at every path we write: backups folder, repair log, lock, own shard, feedback folder and file — nothing outside changes', () => {
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'victim'), 'keep\n');
    for (let i = 0; i < 20; i++) fs.mkdirSync(path.join(outside, `2020010${i % 10}T000000000Z-00000${i}`.slice(0, 30)), { recursive: true });
    const before = execFileSync('find', [outside, '-printf', '%p %s\\n']).toString();
    const cases: [string, (dir: string) => void][] = [
      ['_audit_backups', (d) => fs.symlinkSync(outside, path.join(d, '_audit_backups'))],
      ['_audit_repairs.jsonl', (d) => fs.symlinkSync(path.join(outside, 'victim'), path.join(d, '_audit_repairs.jsonl'))],
      ['_audit_repairs.lock', (d) => fs.symlinkSync(path.join(outside, 'new-file'), path.join(d, '_audit_repairs.lock'))],
      ['own shard', (d) => fs.symlinkSync(path.join(outside, 'victim'), path.join(d, '_turn_journal', 's1~audit.jsonl'))],
    ];
    for (const [name, plant] of cases) {
      const dir = folder();
      plant(dir);
      const r = run(['repair', dir, '--apply']);
      assert.ok(!r.timedOut, `${name}: hung`);
      assert.strictEqual(
        execFileSync('find', [outside, '-printf', '%p %s\\n']).toString(),
        before,
        `${name}: the outside folder changed\n${r.stdout}${r.stderr}`,
      );
    }
    // Own shard linked to another process's shard: not read twice, never appended to.
    const dir = folder();
    fs.symlinkSync('s1~100.jsonl', path.join(dir, '_turn_journal', 's1~audit.jsonl'));
    const shard = fs.readFileSync(path.join(dir, '_turn_journal', 's1~100.jsonl'));
    const audit = JSON.parse(run(['audit', dir, '--json', '--fail-on', 'never']).stdout) as { sessions: { collisions: unknown[] }[] };
    assert.deepStrictEqual(audit.sessions[0].collisions, [], 'no false collision from reading the link');
    run(['repair', dir, '--apply']);
    assert.ok(fs.readFileSync(path.join(dir, '_turn_journal', 's1~100.jsonl')).equals(shard), 'the foreign shard is untouched');
    assert.ok(fs.lstatSync(path.join(dir, '_turn_journal', 's1~audit.jsonl')).isSymbolicLink(), 'the link is not turned into a copy');
    // Feedback folder and file as links.
    for (const plant of [
      (d: string) => fs.symlinkSync(outside, path.join(d, '_turn_feedback')),
      (d: string) => {
        fs.mkdirSync(path.join(d, '_turn_feedback'));
        fs.symlinkSync(path.join(outside, 'victim'), path.join(d, '_turn_feedback', 's1.jsonl'));
      },
    ]) {
      const d = folder();
      plant(d);
      const r = run(['feedback', d, 's1', 't1', '--up']);
      assert.notStrictEqual(r.status, 0);
      assert.strictEqual(execFileSync('find', [outside, '-printf', '%p %s\\n']).toString(), before);
    }
  });

  it('a repair prunes only real backup folders inside the sessions folder', () => {
    const dir = folder();
    const outside = tempDir();
    fs.mkdirSync(path.join(dir, '_audit_backups'));
    for (let i = 0; i < 20; i++) {
      const o = path.join(outside, `o${i}`);
      fs.mkdirSync(o);
      fs.writeFileSync(path.join(o, 'f'), 'keep');
      fs.symlinkSync(o, path.join(dir, '_audit_backups', `2000010${i % 10}T00000${String(i).padStart(2, '0')}Z-aaaaaa`));
    }
    const r = run(['repair', dir, '--apply']);
    assert.strictEqual(r.status, 0, r.stderr + r.stdout);
    for (let i = 0; i < 20; i++) assert.strictEqual(fs.readFileSync(path.join(outside, `o${i}`, 'f'), 'utf8'), 'keep');
  });

  it('a glued event is re-appended as its bytes were written (big ints, -0.0, 709.0 unchanged)', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, '_turn_journal'));
    const glued = `{"event":"completed","stream_id":"a","n":12345678901234567891,"z":-0.0,"f":709.0,"s":"\u2028","version":1,"session_id":"s1","turn_id":"t1","created_at":${T + 2},"terminal":true}`;
    fs.writeFileSync(
      path.join(dir, '_turn_journal', 's1~100.jsonl'),
      ev('s1', 't1', 'submitted', T) + '\n' + ev('s1', 't1', 'worker_started', T + 1).slice(0, -1) + glued + '\n',
    );
    fs.writeFileSync(
      path.join(dir, 's1.json'),
      JSON.stringify({
        session_id: 's1',
        messages: [
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: 'yo' },
        ],
      }),
    );
    const r = run(['repair', dir, '--apply']);
    assert.strictEqual(r.status, 0, r.stderr + r.stdout);
    assert.strictEqual(fs.readFileSync(path.join(dir, '_turn_journal', 's1~audit.jsonl'), 'utf8'), glued.replace('\u2028', '\\u2028') + '\n');
  });

  it('the SQLite index holds a glued event in `events` (counted in event_count) and in malformed.glued_event, as docs/sqlite.md says', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, '_turn_journal'));
    fs.writeFileSync(
      path.join(dir, '_turn_journal', 's1~100.jsonl'),
      ev('s1', 't1', 'submitted', T) + '\n' + ev('s1', 't1', 'worker_started', T + 1).slice(0, -1) + ev('s1', 't1', 'completed', T + 2) + '\n',
    );
    const db = path.join(tempDir(), 'i.db');
    const r = run(['rebuild', dir, '--db', db]);
    assert.strictEqual(r.status, 0, r.stderr);
    const d = openDb(db, { readOnly: true });
    try {
      assert.deepStrictEqual(
        d.all('SELECT event FROM events ORDER BY line, offset').map((x) => x.event),
        ['submitted', 'completed'],
      );
      assert.strictEqual(d.get('SELECT event_count AS n FROM sessions')!.n, 2);
      const q = 'SELECT e.event FROM events e JOIN malformed m ON m.glued AND e.shard = m.shard AND e.offset > m.offset AND e.offset < m.offset + m.length';
      assert.deepStrictEqual(
        d.all(q).map((x) => x.event),
        ['completed'],
        'the documented query finds the glued event',
      );
      assert.match(String(d.get('SELECT glued_event AS g FROM malformed')!.g), /"completed"/);
    } finally {
      d.close();
    }
  });

  it('a shard above the size limit is a clear finding, not an out-of-memory crash (limit proven small)', () => {
    const dir = folder();
    const r = run(['audit', dir, '--json', '--fail-on', 'never', '--max-session-bytes', '100']);
    assert.strictEqual(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { sessions: { findings: { kind: string; message: string }[] }[] };
    const f = report.sessions[0].findings.find((x) => x.kind === 'unreadable_shard');
    assert.ok(
      f && /too large to read into memory \(\d+ bytes, limit 100 per session; .*--max-session-bytes/.test(f.message),
      JSON.stringify(report.sessions[0].findings),
    );
  });

  it('the size limit is per session: a session split over many shards stops at the budget, with a clear message', () => {
    const dir = folder(); // s1: one shard
    const shards = ['s3~1.jsonl', 's3~2.jsonl', 's3~3.jsonl'];
    for (const [i, name] of shards.entries()) {
      const text = [ev('s3', `u${i}`, 'submitted', T + i), ev('s3', `u${i}`, 'completed', T + i + 0.5)].join('\n') + '\n';
      fs.writeFileSync(path.join(dir, '_turn_journal', name), text);
    }
    const sizes = shards.map((n) => fs.statSync(path.join(dir, '_turn_journal', n)).size);
    const s1 = fs.statSync(path.join(dir, '_turn_journal', 's1~100.jsonl')).size;
    // Room for two of s3's shards (and for s1's one), not for three.
    const limit = Math.max(sizes[0] + sizes[1], s1);
    assert.ok(limit < sizes[0] + sizes[1] + sizes[2]);
    const r = run(['audit', dir, '--json', '--fail-on', 'never', '--max-session-bytes', String(limit)]);
    assert.strictEqual(r.status, 0, r.stderr);
    type Report = { sessions: { session_id: string; findings: { kind: string; message: string; shard?: string }[]; turns?: unknown }[] };
    const report = JSON.parse(r.stdout) as Report;
    const bySid = new Map(report.sessions.map((x) => [x.session_id, x]));
    assert.deepStrictEqual(
      bySid.get('s1')!.findings.filter((x) => x.kind === 'unreadable_shard'),
      [],
      'each session has its own budget',
    );
    const big = bySid.get('s3')!.findings.filter((x) => x.kind === 'unreadable_shard');
    assert.strictEqual(big.length, 1, JSON.stringify(bySid.get('s3')!.findings));
    assert.strictEqual(
      big[0].message.replace(/^[^:]*: /, ''),
      `too large to read into memory with the session's other shards (${sizes[2]} bytes here, ${sizes[0] + sizes[1]} already read, ` +
        `limit ${limit} per session; give Node more memory (--max-old-space-size) and raise --max-session-bytes to read it)`,
    );
    // repair plans with the same budget: no crash, and nothing is planned from a session it could not read whole.
    const plan = run(['repair', dir, '--json', '--session', 's3', '--max-session-bytes', String(limit)]);
    assert.ok(plan.status === 0 || plan.status === 1, plan.stderr);
    const p = JSON.parse(plan.stdout) as { plan: { sessions: { appends: unknown[]; messages: unknown[] }[] } };
    assert.deepStrictEqual(
      p.plan.sessions.flatMap((x) => [...x.appends, ...x.messages]),
      [],
    );
  });

  it('feedback after a torn line starts on a fresh line and is read back', () => {
    const dir = folder();
    fs.mkdirSync(path.join(dir, '_turn_feedback'));
    fs.writeFileSync(path.join(dir, '_turn_feedback', 's1.jsonl'), '{"type":"feedback","torn');
    const r = run(['feedback', dir, 's1', 't1', '--up', '--json']);
    assert.strictEqual(r.status, 0, r.stderr);
    const text = fs.readFileSync(path.join(dir, '_turn_feedback', 's1.jsonl'), 'utf8');
    assert.match(text, /^\{"type":"feedback","torn\n\{/);
    assert.strictEqual(text.split('\n').filter(Boolean).length, 2);
  });

  it('__proto__ and constructor turn ids stay in audit --json; ESC/OSC in ids and file names are escaped in CLI output', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, '_turn_journal'));
    const esc = 'x\u001b]0;pwned\u0007\u001b[2J';
    fs.writeFileSync(
      path.join(dir, '_turn_journal', 's1~100.jsonl'),
      [
        ev('s1', '__proto__', 'submitted', T),
        ev('s1', '__proto__', 'completed', T + 1),
        ev('s1', 'constructor', 'submitted', T + 2),
        ev('s1', esc, 'submitted', T + 3),
        ev('s1', esc, 'completed', T + 4),
        ev('s1', esc, 'interrupted', T + 5),
      ].join('\n') + '\n',
    );
    fs.writeFileSync(path.join(dir, '_turn_journal', `bad\u001b[31mname~1.jsonl`), '{}\n');
    const j = run(['audit', dir, '--json', '--fail-on', 'never']);
    const report = JSON.parse(j.stdout) as { sessions: { states: Record<string, string> }[] };
    assert.deepStrictEqual(Object.keys(report.sessions[0].states).sort(), ['__proto__', 'constructor', esc].sort());
    assert.strictEqual(report.sessions[0].states['__proto__'], 'completed');
    for (const out of [j.stdout, run(['audit', dir, '--fail-on', 'never']).stdout, run(['repair', dir]).stdout]) {
      assert.ok(
        !out.includes('\u001b]') && !out.includes('\u0007') && !out.includes('\u001b[2J') && !out.includes('\u001b[31mname'),
        JSON.stringify(out.slice(0, 2000)),
      );
    }
  });

  it('a bot rewriting the sidecar (temp + rename) during repair never loses its write', async function () {
    this.timeout(180_000);
    for (let round = 0; round < 4; round++) {
      const dir = folder();
      const sc = path.join(dir, 's1.json');
      // The bot: rewrites the sidecar every few ms with a new title; its LAST write must survive.
      const bot = spawn(process.execPath, [
        '-e',
        `
        const fs = require('fs'); let i = 0; const end = Date.now() + 1500;
        const base = JSON.parse(fs.readFileSync(${JSON.stringify(sc)}, 'utf8'));
        while (Date.now() < end) { base.title = 'bot ' + (++i); fs.writeFileSync(${JSON.stringify(sc)} + '.tmp', JSON.stringify(base)); fs.renameSync(${JSON.stringify(sc)} + '.tmp', ${JSON.stringify(sc)}); }
        process.stdout.write(String(i));`,
      ]);
      let last = '';
      bot.stdout.on('data', (d) => (last += d));
      const botDone = new Promise<void>((res) => bot.on('close', () => res()));
      const repairs: Promise<void>[] = [];
      for (let k = 0; k < 3; k++) {
        repairs.push(
          new Promise((res) => {
            const c = spawn(process.execPath, [CLI, 'repair', dir, '--apply']);
            c.on('exit', () => res());
          }),
        );
      }
      await Promise.all(repairs);
      await botDone;
      const final = JSON.parse(fs.readFileSync(sc, 'utf8')) as { title: string };
      // Either the bot's last write is there, or our repair replaced it AFTER the bot stopped
      // (then it carries the bot's last title, since we edit what we read).
      assert.strictEqual(final.title, `bot ${last}`, `round ${round}: the bot's last write was lost`);
    }
  });
});
