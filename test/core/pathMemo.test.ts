import * as assert from 'assert';
import * as path from 'path';
import { feedbackFilePath } from '../../src/core/feedback/record';
import { lastCallMemo } from '../../src/core/pathMemo';
import { runJournalDirOf } from '../../src/core/session';
import { sidecarPath } from '../../src/core/sidecar';

describe('lastCallMemo (a session path asked again in a row)', () => {
  it("gives the function's own result for any arguments, and the same string when asked again right after", () => {
    let calls = 0;
    const f = lastCallMemo((d, id) => (calls++, `${d}|${id}`));
    const a = f('x', '1');
    assert.strictEqual(f('x', '1'), a);
    assert.strictEqual(calls, 1);
    assert.strictEqual(f('x', '2'), 'x|2');
    assert.strictEqual(f('y', '2'), 'y|2');
    assert.strictEqual(f('x', '1'), 'x|1');
    assert.strictEqual(calls, 4);
  });

  it('remembers nothing of a call that threw (an invalid session id throws every time)', () => {
    assert.throws(() => feedbackFilePath('/s', '../x'), /invalid session id/);
    assert.throws(() => feedbackFilePath('/s', '../x'), /invalid session id/);
    assert.strictEqual(feedbackFilePath('/s', 'ok'), path.join('/s', '_turn_feedback', 'ok.jsonl'));
  });

  it('the session paths equal path.join of their parts, folder or id changing between calls', () => {
    for (const dir of ['/a/b', '/a/b/', 'rel/./c', '/', '/a/../d']) {
      for (const sid of ['s1', 's.2', 's1']) {
        assert.strictEqual(sidecarPath(dir, sid), path.join(dir, `${sid}.json`));
        assert.strictEqual(feedbackFilePath(dir, sid), path.join(dir, '_turn_feedback', `${sid}.jsonl`));
        assert.strictEqual(runJournalDirOf(dir, sid), path.join(dir, '_run_journal', sid));
      }
    }
  });
});
