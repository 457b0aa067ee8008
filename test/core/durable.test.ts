import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { appendLineDurable, atomicReplace } from '../../src/core/durable';
import { tempDir } from './helpers';

// Re-entered as a child process: append N big lines as fast as possible.
if (process.env.BMA_APPEND_CHILD) {
  const [file, id, n, size] = process.env.BMA_APPEND_CHILD.split('|');
  for (let i = 0; i < Number(n); i++) {
    appendLineDurable(file, JSON.stringify({ writer: id, i, pad: String(id).repeat(Number(size)) }));
  }
} else {
  describe('durable writes', () => {
    it('appends whole lines with mode 0600 and a trailing newline', () => {
      const file = path.join(tempDir(), 'own~audit.jsonl');
      appendLineDurable(file, '{"a":1}');
      appendLineDurable(file, '{"b":"\u2028"}');
      assert.strictEqual(fs.readFileSync(file, 'utf8'), '{"a":1}\n{"b":"\u2028"}\n');
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
      assert.throws(() => appendLineDurable(file, 'a\nb'));
    });

    it('concurrent appenders in several processes never interleave', async function () {
      this.timeout(60_000);
      const file = path.join(tempDir(), 'own~audit.jsonl');
      const writers = 4;
      const per = 200;
      const size = 60_000; // lines far above PIPE_BUF
      await Promise.all(
        Array.from(
          { length: writers },
          (_, w) =>
            new Promise<void>((resolve, reject) => {
              const child = spawn(process.execPath, [__filename], {
                env: { ...process.env, BMA_APPEND_CHILD: `${file}|${w}|${per}|${size}` },
                stdio: 'inherit',
              });
              child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}`))));
            }),
        ),
      );
      const text = fs.readFileSync(file, 'utf8');
      // No blank line: a live writer's append in progress (its size mid-line, for as long as it is
      // preempted) is waited for (fsSafe's write barrier), never taken for a torn line.
      assert.strictEqual(text.indexOf('\n\n'), -1, 'a blank line: an append in progress was taken for a torn line');
      const lines = text.split('\n');
      assert.strictEqual(lines.pop(), '');
      assert.strictEqual(lines.length, writers * per);
      const seen = new Map<string, number>();
      for (const l of lines) {
        const o = JSON.parse(l) as { writer: string; i: number; pad: string };
        assert.strictEqual(o.pad, o.writer.repeat(size));
        assert.strictEqual(o.i, seen.get(o.writer) ?? 0, "each writer's lines stay in order");
        seen.set(o.writer, o.i + 1);
      }
    });

    it('atomicReplace swaps content whole, keeps the mode and leaves no temp file', () => {
      const dir = tempDir();
      const file = path.join(dir, 'sess.json');
      fs.writeFileSync(file, 'old', { mode: 0o640 });
      fs.chmodSync(file, 0o640);
      atomicReplace(file, '{"new":true}');
      assert.strictEqual(fs.readFileSync(file, 'utf8'), '{"new":true}');
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o640);
      assert.deepStrictEqual(fs.readdirSync(dir), ['sess.json']);
    });
  });
}
