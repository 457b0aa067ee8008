import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { discoverSessions, DiscoveryError, findSessionsFolders } from '../../src/core/discovery';
import { lifecycle, sessionsDir, tempDir, T0 } from './helpers';

describe('discoverSessions', () => {
  it('groups legacy and pid shards by session id, in file-name order', async () => {
    const { dir, journal } = sessionsDir();
    for (const n of ['b~2.jsonl', 'a~9.jsonl', 'a.jsonl', 'a~10.jsonl', 'notes.txt', '.a~1.jsonl.tmp'])
      fs.writeFileSync(path.join(journal, n), lifecycle('t', T0));
    const d = await discoverSessions(dir);
    assert.deepStrictEqual(
      d.sessions.map((s) => [s.sessionId, s.shards.map((f) => f.name)]),
      [
        ['a', ['a.jsonl', 'a~10.jsonl', 'a~9.jsonl']],
        ['b', ['b~2.jsonl']],
      ],
    );
    assert.deepStrictEqual(d.skipped, []);
  });

  it('accepts the _turn_journal folder itself', async () => {
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(path.join(journal, 's~1.jsonl'), '');
    const d = await discoverSessions(journal);
    assert.strictEqual(d.sessionsDir, dir);
    assert.strictEqual(d.sessions.length, 1);
  });

  it('reports names that break the session-id rule instead of reading them', async () => {
    const { dir, journal } = sessionsDir();
    for (const n of ['bad name.jsonl', '~1.jsonl', '..jsonl', 'é~1.jsonl', 's~.jsonl']) fs.writeFileSync(path.join(journal, n), lifecycle('t', T0));
    fs.mkdirSync(path.join(journal, 'dir.jsonl'));
    const d = await discoverSessions(dir);
    assert.strictEqual(d.sessions.length, 0);
    assert.deepStrictEqual(d.skipped.map((s) => s.name).sort(), ['..jsonl', 'bad name.jsonl', 'dir.jsonl', 's~.jsonl', '~1.jsonl', 'é~1.jsonl'].sort());
  });

  it('never follows a symbolic link outside the folder, in a loop, or dangling', async () => {
    const { dir, journal } = sessionsDir();
    const outside = path.join(tempDir(), 'secret.jsonl');
    fs.writeFileSync(outside, lifecycle('t', T0));
    fs.symlinkSync(outside, path.join(journal, 'out~1.jsonl'));
    fs.symlinkSync(path.join(journal, 'loop2~1.jsonl'), path.join(journal, 'loop1~1.jsonl'));
    fs.symlinkSync(path.join(journal, 'loop1~1.jsonl'), path.join(journal, 'loop2~1.jsonl'));
    fs.symlinkSync(path.join(journal, 'missing'), path.join(journal, 'dangling~1.jsonl'));
    fs.symlinkSync('..', path.join(journal, 'up~1.jsonl'));
    fs.writeFileSync(path.join(journal, 'real~1.jsonl'), lifecycle('t', T0));
    fs.symlinkSync('real~1.jsonl', path.join(journal, 'real~2.jsonl'));
    const d = await discoverSessions(dir);
    // A link to another shard of the folder is not read a second time (issue 14 #6: a false collision).
    assert.deepStrictEqual(
      d.sessions.map((s) => [s.sessionId, s.shards.map((f) => f.name)]),
      [['real', ['real~1.jsonl']]],
    );
    const reasons = Object.fromEntries(d.skipped.map((s) => [s.name, s.reason]));
    assert.match(reasons['out~1.jsonl'], /outside/);
    assert.match(reasons['loop1~1.jsonl'], /loop/);
    assert.match(reasons['dangling~1.jsonl'], /cannot be resolved/);
    assert.match(reasons['up~1.jsonl'], /outside/);
    assert.match(reasons['real~2.jsonl'], /another shard of this folder/);
  });

  it('a missing _turn_journal is an empty folder; a missing sessions folder is an error', async () => {
    const dir = tempDir();
    assert.deepStrictEqual((await discoverSessions(dir)).sessions, []);
    await assert.rejects(discoverSessions(path.join(dir, 'nope')), DiscoveryError);
  });
});

describe('findSessionsFolders (the workspace walk)', () => {
  it('finds journal folders up to the depth, never through a link, node_modules or .git, within the folder budget', async () => {
    const top = tempDir();
    const mk = (rel: string) => fs.mkdirSync(path.join(top, rel, '_turn_journal'), { recursive: true });
    for (const rel of ['.', 'a', 'a/b', 'a/b/c', 'a/b/c/d', 'node_modules/x', '.git/y', 'z']) mk(rel);
    const outside = tempDir();
    fs.mkdirSync(path.join(outside, 'linked', '_turn_journal'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'linked'), path.join(top, 'link'));
    fs.symlinkSync(path.join(outside, 'linked', '_turn_journal'), path.join(top, 'z', 'x'));
    fs.mkdirSync(path.join(top, 'j'));
    fs.symlinkSync(path.join(outside, 'linked', '_turn_journal'), path.join(top, 'j', '_turn_journal'));
    const rel = (dirs: string[]) => dirs.map((d) => path.relative(top, d) || '.');
    assert.deepStrictEqual(rel(await findSessionsFolders(top)), ['.', 'a', 'a/b', 'a/b/c', 'z'], 'depth 3; a linked folder or journal is not one');
    assert.deepStrictEqual(rel(await findSessionsFolders(top, 1)), ['.', 'a', 'z']);
    assert.deepStrictEqual(rel(await findSessionsFolders(top, 3, 2)), ['.', 'a'], 'two folders read: the top and a');
    assert.deepStrictEqual(await findSessionsFolders(path.join(top, 'missing')), []);
  });
});
