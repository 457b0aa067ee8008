import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { auditFolder } from '../../src/core/audit';
import { reportFromWire, reportToWire } from '../../src/core/parallelAudit';
import { lifecycle, sessionsDir, T0 } from './helpers';

describe('parallelAudit: a report as the workers send it', () => {
  it('arrives with the same JSON, key order and shared states object as a structured clone of it', async () => {
    const { dir, journal } = sessionsDir();
    // Turn ids that are prototype names or integer-like (enumerated first), a turn upstream reads
    // differently (a non-numeric created_at: upstream's view cannot read it), a session of ordinary ids.
    const odd = ['__proto__', 'constructor', '10', '2', 'toString', 'b', '0'];
    fs.writeFileSync(path.join(journal, 'sess~1.jsonl'), odd.map((t, i) => lifecycle(t, T0 + 60 * i, i % 3 === 0 ? null : 'completed')).join(''));
    fs.writeFileSync(
      path.join(journal, 'plain~1.jsonl'),
      ['t1', 't2']
        .map((t, i) => lifecycle(t, T0 + 60 * i))
        .join('')
        .replace(/"sess"/g, '"plain"'),
    );
    const bad = lifecycle('x1', T0).replace(/"created_at":\d+\.?\d*/, '"created_at":"soon"');
    fs.writeFileSync(path.join(journal, 'bad~1.jsonl'), (bad + lifecycle('x2', T0 + 5)).replace(/"sess"/g, '"bad"'));
    const report = await auditFolder(dir, { now: T0 + 86400 });
    assert.strictEqual(report.sessions.length, 3);
    let shared = 0;
    for (const r of report.sessions) {
      const before = JSON.stringify(r);
      const sent = structuredClone(reportToWire(r));
      const got = reportFromWire(sent);
      assert.strictEqual(JSON.stringify(got), JSON.stringify(structuredClone(r)), r.session_id);
      assert.strictEqual(JSON.stringify(got), before);
      assert.deepStrictEqual(Object.keys(got.states), Object.keys(r.states));
      if (r.upstream) {
        assert.strictEqual(got.upstream!.states === got.states, r.upstream.states === r.states, r.session_id);
        if (r.upstream.states === r.states) shared++;
      }
      // The report itself is left as it was (the analysis' upstream view is not changed).
      assert.strictEqual(JSON.stringify(r), before);
    }
    assert.ok(Object.keys(report.sessions.find((s) => s.session_id === 'sess')!.states).includes('__proto__'));
    assert.ok(shared >= 1, 'one report shares its states with its upstream view');
  });
});
