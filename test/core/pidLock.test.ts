import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { tryPidLock } from '../../src/core/pidLock';
import { tempDir } from './helpers';

describe('pid lock', () => {
  it('is held until released, also against a second attempt from the same process', () => {
    const file = path.join(tempDir(), 'x.lock');
    const first = tryPidLock(file);
    assert.ok('release' in first);
    assert.strictEqual(fs.readFileSync(file, 'utf8').trim(), String(process.pid));
    assert.deepStrictEqual(tryPidLock(file), { heldBy: process.pid });
    first.release();
    assert.ok(!fs.existsSync(file));
    const again = tryPidLock(file);
    assert.ok('release' in again);
    again.release();
  });

  it('takes over a lock whose process is gone, and removes its leftover private files', () => {
    const dir = tempDir();
    const file = path.join(dir, 'x.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    fs.writeFileSync(file, `${pid}\n`);
    fs.writeFileSync(`${file}.${pid}.0`, `${pid}\n`);
    const lock = tryPidLock(file);
    assert.ok('release' in lock);
    assert.deepStrictEqual(fs.readdirSync(dir), ['x.lock']);
    lock.release();
  });
});
