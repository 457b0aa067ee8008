import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import {
  UnsafeFileError,
  appendLineDurable,
  atomicReplace,
  createExclusive,
  ensureDir,
  openRead,
  readFileSync,
  readTextSync,
  removeFile,
  removeTree,
} from '../../src/core/fsSafe';
import { tempDir } from './helpers';

function mkfifo(p: string): void {
  execFileSync('mkfifo', [p]);
}

/** Runs `fn` and fails the test if it does not return within `ms` (a FIFO open would hang forever). */
function withinMs<T>(ms: number, fn: () => T): T {
  const t = Date.now();
  const r = fn();
  assert.ok(Date.now() - t < ms, `took ${Date.now() - t} ms`);
  return r;
}

// Compiled to out/test/core/: the repository is three levels up.
const REPO = path.resolve(__dirname, '..', '..', '..');

describe('fsSafe: the one module that writes', () => {
  it('no other module calls the fs write, rename or delete APIs directly', () => {
    const forbidden =
      /\b(?:fs|fsp|promises)\.(?:writeFile|writeFileSync|appendFile|appendFileSync|write|writeSync|rename|renameSync|unlink|unlinkSync|rm|rmSync|rmdir|rmdirSync|mkdtempSync|mkdir|mkdirSync|copyFile|copyFileSync|cp|cpSync|link|linkSync|symlink|symlinkSync|truncate|truncateSync|ftruncate|ftruncateSync|createWriteStream|chmod|chmodSync)\s*\(|\b(?:fs|fsp|promises)\.open(?:Sync)?\([^)]*['"](?:w|a|r\+|wx|ax|w\+|a\+)['"]|import\s*\{[^}]*\b(?:writeFileSync|appendFileSync|renameSync|unlinkSync|rmSync|writeFile|appendFile|rename|unlink|rm)\b[^}]*\}\s*from\s*'(?:node:)?fs(?:\/promises)?'/;
    // Files allowed to write directly, with why.
    const allowed = new Set([
      'src/core/fsSafe.ts', // the module itself
      'src/extension/store.ts', // mkdir of VS Code's own global storage folder (not a sessions folder)
    ]);
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name)) {
          const rel = path.relative(REPO, p).split(path.sep).join('/');
          if (allowed.has(rel)) continue;
          fs.readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (forbidden.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(path.join(REPO, 'src'));
    assert.deepStrictEqual(offenders, [], 'write through core/fsSafe.ts instead');
  });

  it('reads refuse a FIFO, a character device and an unvetted symlink at once (no hang)', async () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'f.jsonl');
    mkfifo(fifo);
    const link = path.join(dir, 'l.jsonl');
    fs.symlinkSync('/dev/zero', link);
    const fileLink = path.join(dir, 'fl.jsonl');
    fs.writeFileSync(path.join(dir, 'real'), 'x');
    fs.symlinkSync(path.join(dir, 'real'), fileLink);
    for (const p of [fifo, link, '/dev/null', fileLink]) {
      withinMs(2000, () => assert.throws(() => readTextSync(p), UnsafeFileError));
      await assert.rejects(openRead(p), UnsafeFileError);
    }
    // A vetted link to a regular file may be followed; a link to a device never.
    assert.strictEqual(readTextSync(fileLink, { followSymlink: true }), 'x');
    assert.throws(() => readTextSync(link, { followSymlink: true }), UnsafeFileError);
  });

  it("a read from the caller's stat (`pre`) opens only that regular file: replaced by a FIFO, a device link or another file since, it looks again", () => {
    const dir = tempDir();
    const p = path.join(dir, 's.jsonl');
    fs.writeFileSync(p, 'old');
    const pre = fs.statSync(p);
    // Unchanged: read from the stat.
    assert.strictEqual(readFileSync(p, { followSymlink: true, pre }).data.toString(), 'old');
    // A stat that shows a device (a link to /dev/null, followed) is refused before any open.
    const devLink = path.join(dir, 'dev.jsonl');
    fs.symlinkSync('/dev/null', devLink);
    assert.throws(() => readFileSync(devLink, { followSymlink: true, pre: fs.statSync(devLink) }), UnsafeFileError);
    // Replaced by a FIFO after the stat: the opened inode is not the stat's, the fresh look refuses it (no hang).
    fs.unlinkSync(p);
    mkfifo(p);
    withinMs(2000, () => assert.throws(() => readFileSync(p, { followSymlink: true, pre }), UnsafeFileError));
    // Replaced by another regular file (an atomic replace): read afresh, the new file's content and stat.
    fs.unlinkSync(p);
    fs.writeFileSync(p + '.tmp', 'new');
    fs.renameSync(p + '.tmp', p);
    const r = readFileSync(p, { followSymlink: true, pre });
    assert.strictEqual(r.data.toString(), 'new');
    assert.strictEqual(r.stat.ino, fs.statSync(p).ino);
    // Without followSymlink, `pre` is ignored: an unvetted link is still refused.
    const fileLink = path.join(dir, 'fl.jsonl');
    fs.symlinkSync(p, fileLink);
    assert.throws(() => readFileSync(fileLink, { pre: fs.statSync(fileLink) }), UnsafeFileError);
  });

  it('appends never follow a link (file or folder) and never write into a FIFO', () => {
    const root = tempDir();
    const outside = tempDir();
    const victim = path.join(outside, 'victim');
    fs.writeFileSync(victim, 'keep\n');
    fs.symlinkSync(victim, path.join(root, '_audit_repairs.jsonl'));
    assert.throws(() => appendLineDurable(path.join(root, '_audit_repairs.jsonl'), '{}', { root }));
    fs.symlinkSync(outside, path.join(root, '_turn_feedback'));
    assert.throws(() => appendLineDurable(path.join(root, '_turn_feedback', 's1.jsonl'), '{}', { root }), UnsafeFileError);
    mkfifo(path.join(root, 'fifo.jsonl'));
    withinMs(2000, () => assert.throws(() => appendLineDurable(path.join(root, 'fifo.jsonl'), '{}', { root })));
    assert.strictEqual(fs.readFileSync(victim, 'utf8'), 'keep\n');
    assert.deepStrictEqual(fs.readdirSync(outside), ['victim']);
  });

  it('an append after a torn line starts on a fresh line; new files are 0600', () => {
    const root = tempDir();
    const f = path.join(root, 'x.jsonl');
    fs.writeFileSync(f, '{"a":1}\n{"torn":');
    const r = appendLineDurable(f, '{"b":2}', { root });
    assert.strictEqual(fs.readFileSync(f, 'utf8'), '{"a":1}\n{"torn":\n{"b":2}\n');
    assert.deepStrictEqual(r, { offset: '{"a":1}\n{"torn":\n'.length, closedTornLine: true });
    const g = path.join(root, 'sub', 'new.jsonl');
    appendLineDurable(g, '{}', { root });
    assert.strictEqual(fs.statSync(g).mode & 0o777, 0o600);
    assert.strictEqual(fs.statSync(path.dirname(g)).mode & 0o777, 0o700);
  });

  it('atomic replace refuses a link or FIFO at the target and a linked folder; temp names are O_EXCL', () => {
    const root = tempDir();
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 't'), 'keep');
    fs.symlinkSync(path.join(outside, 't'), path.join(root, 'a.json'));
    assert.throws(() => atomicReplace(path.join(root, 'a.json'), 'x', { root }), UnsafeFileError);
    assert.ok(fs.lstatSync(path.join(root, 'a.json')).isSymbolicLink(), 'the link is not replaced by a copy');
    mkfifo(path.join(root, 'b.json'));
    assert.throws(() => atomicReplace(path.join(root, 'b.json'), 'x', { root }), UnsafeFileError);
    fs.symlinkSync(outside, path.join(root, '_audit_backups'));
    assert.throws(() => ensureDir(path.join(root, '_audit_backups', 'r1'), { root }), UnsafeFileError);
    assert.throws(() => atomicReplace(path.join(root, '_audit_backups', 'r1', 's.json'), 'x', { root }), UnsafeFileError);
    assert.throws(() => atomicReplace(path.join(outside, 'z'), 'x', { root }), UnsafeFileError);
    assert.deepStrictEqual(fs.readdirSync(outside), ['t']);
    assert.strictEqual(fs.readFileSync(path.join(outside, 't'), 'utf8'), 'keep');
    // Exports: forced 0600 even over an existing 0644 file.
    const exp = path.join(root, 'export.jsonl');
    fs.writeFileSync(exp, 'old', { mode: 0o644 });
    atomicReplace(exp, 'new', { mode: 0o600, forceMode: true });
    assert.strictEqual(fs.statSync(exp).mode & 0o777, 0o600);
  });

  it('lock files are created O_EXCL|O_NOFOLLOW: a planted (even dangling) link is never written through', () => {
    const root = tempDir();
    const outside = tempDir();
    const target = path.join(outside, 'new-file');
    fs.symlinkSync(target, path.join(root, 'x.lock'));
    assert.throws(() => createExclusive(path.join(root, 'x.lock'), '1\n', { root }), /EEXIST/);
    assert.ok(!fs.existsSync(target));
  });

  it('deletes never follow a link and never leave the root', () => {
    const root = tempDir();
    const outside = tempDir();
    fs.mkdirSync(path.join(outside, 'precious'));
    fs.writeFileSync(path.join(outside, 'precious', 'f'), 'keep');
    fs.symlinkSync(outside, path.join(root, 'link'));
    removeTree(path.join(root, 'link'), { root }); // the link itself goes
    assert.ok(!fs.existsSync(path.join(root, 'link')));
    assert.strictEqual(fs.readFileSync(path.join(outside, 'precious', 'f'), 'utf8'), 'keep');
    fs.symlinkSync(outside, path.join(root, 'link2'));
    assert.throws(() => removeTree(path.join(root, 'link2', 'precious'), { root }), UnsafeFileError);
    assert.throws(() => removeFile(path.join(root, 'link2', 'precious', 'f'), { root }), UnsafeFileError);
    assert.throws(() => removeTree(path.join(outside, 'precious'), { root }), UnsafeFileError);
    // A tree holding a link to the outside: the link is removed, its target kept.
    fs.mkdirSync(path.join(root, 'd'));
    fs.symlinkSync(path.join(outside, 'precious'), path.join(root, 'd', 'in'));
    removeTree(path.join(root, 'd'), { root });
    assert.strictEqual(fs.readFileSync(path.join(outside, 'precious', 'f'), 'utf8'), 'keep');
  });
});
