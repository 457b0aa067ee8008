import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DirWatcher, type DirEventKind } from '../../src/core/dirWatcher';

/** Real `fs.watch` on real folders: events arrive asynchronously, so each check polls. */
async function until(ok: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('DirWatcher', () => {
  let tmp: string;
  let dir: string;
  let seen: string[];
  let w: DirWatcher | undefined;
  const onEvent = (file: string, kind: DirEventKind) => seen.push(`${kind} ${path.relative(tmp, file)}`);

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-dirwatch-'));
    dir = path.join(tmp, '_turn_journal');
    seen = [];
  });
  afterEach(() => {
    w?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reports files created in the folder', async () => {
    fs.mkdirSync(dir);
    w = new DirWatcher(dir, onEvent);
    assert.ok(w.active);
    fs.writeFileSync(path.join(dir, 'a~1.jsonl'), '{}\n');
    await until(() => seen.includes('created _turn_journal/a~1.jsonl'), 'the create event');
  });

  it('a folder that appears later is watched once armed', async () => {
    w = new DirWatcher(dir, onEvent);
    assert.strictEqual(w.active, false);
    fs.mkdirSync(dir);
    assert.ok(w.arm());
    fs.writeFileSync(path.join(dir, 'b~1.jsonl'), '{}\n');
    await until(() => seen.includes('created _turn_journal/b~1.jsonl'), 'the create event');
  });

  it('a folder deleted and made again is watched again (the dead watch is dropped, not kept as active)', async () => {
    fs.mkdirSync(dir);
    w = new DirWatcher(dir, onEvent);
    fs.rmSync(dir, { recursive: true });
    await until(() => !w!.active, 'the watch of the deleted folder to stop');
    assert.ok(!seen.some((s) => s.includes('_turn_journal/_turn_journal')), `no event about a file named like the folder: ${seen.join(', ')}`);
    fs.mkdirSync(dir);
    assert.ok(w.arm(), 'armed again on the new folder');
    fs.writeFileSync(path.join(dir, 'c~1.jsonl'), '{}\n');
    await until(() => seen.includes('created _turn_journal/c~1.jsonl'), 'an event from the new folder');
  });

  it('arm() re-watches a folder replaced under the same name before its old watch noticed', async () => {
    fs.mkdirSync(dir);
    w = new DirWatcher(dir, onEvent);
    fs.renameSync(dir, path.join(tmp, 'old'));
    fs.mkdirSync(dir);
    assert.ok(w.arm());
    fs.writeFileSync(path.join(dir, 'd~1.jsonl'), '{}\n');
    await until(() => seen.includes('created _turn_journal/d~1.jsonl'), 'an event from the replacing folder');
  });

  it('a file inside named like the folder is reported, and the watch stays', async () => {
    fs.mkdirSync(dir);
    w = new DirWatcher(dir, onEvent);
    fs.writeFileSync(path.join(dir, '_turn_journal'), 'x');
    await until(() => seen.includes('created _turn_journal/_turn_journal'), 'the create event');
    assert.ok(w.active);
  });
});
