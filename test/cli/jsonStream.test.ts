import * as assert from 'assert';
import { writeJsonStreamed } from '../../src/cli/jsonStream';

describe('streamed JSON output', () => {
  it('writes exactly JSON.stringify, in chunks, for any report shape', () => {
    const states: Record<string, string> = Object.create(null);
    states['__proto__'] = 'completed';
    states['constructor'] = 'submitted';
    const value = {
      a: 1,
      u: undefined,
      s: 'x\u2028"\u001b',
      n: null,
      arr: [1, undefined, 'y', { z: -0, big: 1e21 }],
      states,
      d: new Date(0),
      nested: { e: [], o: {} },
    };
    let out = '';
    let writes = 0;
    writeJsonStreamed(value, (s) => {
      out += s;
      writes++;
    });
    assert.strictEqual(out, JSON.stringify(value));
    const big = { sessions: Array.from({ length: 30_000 }, (_, i) => ({ id: `s${i}`, findings: [{ message: 'm'.repeat(50) }] })) };
    out = '';
    writes = 0;
    writeJsonStreamed(big, (s) => {
      out += s;
      writes++;
    });
    assert.strictEqual(out, JSON.stringify(big));
    assert.ok(writes > 1, 'written in several chunks');
  });
});
