import * as assert from 'assert';
import { parseJsonLine } from '../../src/core/jsonLine';

describe('parseJsonLine', () => {
  it('parses strict JSON without flagging it', () => {
    const r = parseJsonLine('{"a":1,"b":"NaN Infinity"}');
    assert.deepStrictEqual(r, { ok: true, value: { a: 1, b: 'NaN Infinity' }, nonStandard: false });
  });

  it('accepts NaN, Infinity and -Infinity as Python does, and flags them', () => {
    const r = parseJsonLine('{"a":NaN,"b":[Infinity,-Infinity],"c":"NaN"}');
    assert.ok(r.ok);
    const v = r.value as { a: number; b: number[]; c: string };
    assert.ok(Number.isNaN(v.a));
    assert.deepStrictEqual(v.b, [Infinity, -Infinity]);
    assert.strictEqual(v.c, 'NaN');
    assert.strictEqual(r.nonStandard, true);
  });

  it('never rewrites text inside strings, even with escaped quotes', () => {
    const r = parseJsonLine('{"a":"say \\"NaN\\" Infinity","b":NaN}');
    assert.ok(r.ok);
    assert.strictEqual((r.value as { a: string }).a, 'say "NaN" Infinity');
  });

  it('rejects what Python rejects too', () => {
    for (const bad of ['{"a":nan}', '{"a":NaNa}', '{"a":1', 'NaN NaN', "{'a':1}"]) {
      assert.strictEqual(parseJsonLine(bad).ok, false, bad);
    }
  });

  it('does not take a transcript string that imitates the placeholder for a number', () => {
    const r = parseJsonLine('{"a":"\\u0000bma-nonfinite-guess:NaN","b":NaN}');
    assert.ok(r.ok);
    assert.strictEqual((r.value as { a: string }).a, '\u0000bma-nonfinite-guess:NaN');
  });
});
