import * as assert from 'assert';
import { isValidSessionId, parseShardFileName, shardFileName } from '../../src/core/sessionId';

describe('session ids and shard names', () => {
  it('accepts upstream ids and rejects the rest', () => {
    for (const ok of ['abc', 'a.b-c_d', '20260101_x', '...', 'A9']) assert.ok(isValidSessionId(ok), ok);
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a b', 'a~b', 'é', '../etc', 'a\u0000b']) assert.ok(!isValidSessionId(bad), JSON.stringify(bad));
  });

  it('splits the session id at the first ~', () => {
    assert.deepStrictEqual(parseShardFileName('s1~123.jsonl'), { ok: true, sessionId: 's1', tag: '123' });
    assert.deepStrictEqual(parseShardFileName('s1~12~3.jsonl'), { ok: true, sessionId: 's1', tag: '12~3' });
    assert.deepStrictEqual(parseShardFileName('s1.jsonl'), { ok: true, sessionId: 's1', tag: null });
  });

  it('reports names that break the rule', () => {
    for (const bad of ['~1.jsonl', '..jsonl', '...jsonl'.slice(1), 'a b.jsonl', 's~.jsonl', 'x.json']) {
      const r = parseShardFileName(bad);
      assert.strictEqual(r.ok, false, bad);
    }
  });

  it('refuses to build a file name from a traversal id', () => {
    assert.throws(() => shardFileName('../../etc/passwd', null));
    assert.strictEqual(shardFileName('s', 'audit'), 's~audit.jsonl');
  });
});
