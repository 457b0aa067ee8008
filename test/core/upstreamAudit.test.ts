/**
 * Our `upstream` view (per session) and `upstream_audit` (per folder) against hermes-webui's
 * OWN code run from the mirror: `read_turn_journal` + `derive_turn_journal_states` and
 * `audit_session_recovery`. Without the mirror, against test/support/upstream_reader.py.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { auditFolder, auditSessions } from '../../src/core/audit';
import { discoverSessions } from '../../src/core/discovery';
import { upstreamView } from '../../src/core/upstreamView';
import { generateSessionsFolder, everyAnomaly } from '../support/fixtures';
import { mechanismScenario, runWriterModel } from '../support/fixtures/mechanisms';
import { runUpstreamAudit, runUpstreamPython, upstreamUnavailable } from '../support/upstreamPython';
import { HAS_PYTHON, runUpstreamReader } from '../support/upstreamReader';
import { ev, line, sessionsDir, tempDir, T0 } from './helpers';

const NOW = 1763600000 + 2 * 86400;

/** Upstream's reading of every session, by upstream's own functions. */
function upstreamSessions(
  dir: string,
): Record<
  string,
  { error?: string; states?: Record<string, string>; collisions?: { turn_id: string; events: string[] }[]; malformed?: { shard: string; line: number }[] }
> {
  const code = [
    'import json, sys',
    'from pathlib import Path',
    'from api.turn_journal import read_turn_journal, derive_turn_journal_states, iter_turn_journal_session_ids',
    'd = Path(sys.argv[1]); out = {}',
    'for sid in iter_turn_journal_session_ids(d):',
    '    try:',
    '        j = read_turn_journal(sid, session_dir=d)',
    '        st, col = derive_turn_journal_states(j["events"])',
    '        out[sid] = {"states": {k: str(v.get("event")) for k, v in st.items()},',
    '                    "collisions": [{"turn_id": c["turn_id"], "events": [e.get("event") for e in c["events"]]} for c in col],',
    '                    "malformed": [{"shard": m["shard"], "line": m["line"]} for m in j["malformed"]]}',
    '    except Exception as exc:',
    '        out[sid] = {"error": type(exc).__name__}',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(runUpstreamPython(code, [dir]));
}

const byKey = (a: { shard: string; line: number }, b: { shard: string; line: number }) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : a.line - b.line);

describe("the upstream view agrees with hermes-webui's own code", function () {
  this.timeout(180_000);

  it('per session: readable, states, collisions, malformed (shard, line)', async function () {
    const dir = tempDir();
    generateSessionsFolder(dir, { seed: 13, sessions: 24, anomalies: { ...everyAnomaly(1), invalid_name_file: 0 } });
    runWriterModel(dir, mechanismScenario(1763600000, 5).steps);
    const report = await auditFolder(dir, { now: NOW });
    const ours = new Map(report.sessions.map((s) => [s.session_id, s.upstream!]));
    let theirs: ReturnType<typeof upstreamSessions>;
    if (!upstreamUnavailable()) theirs = upstreamSessions(dir);
    else if (HAS_PYTHON) theirs = runUpstreamReader(dir).sessions as unknown as ReturnType<typeof upstreamSessions>;
    else return this.skip();
    if (!HAS_PYTHON) return this.skip();
    assert.deepStrictEqual([...ours.keys()].sort(), Object.keys(theirs).sort());
    const ref = runUpstreamReader(dir);
    let unreadable = 0;
    let pending = 0;
    for (const [sid, t] of Object.entries(theirs)) {
      const o = ours.get(sid)!;
      if (t.error) {
        unreadable++;
        assert.strictEqual(o.readable, false, sid);
        assert.strictEqual(o.error, t.error.split(':')[0], sid);
        continue;
      }
      assert.strictEqual(o.readable, true, `${sid}: ${o.error}`);
      assert.deepStrictEqual(o.states, t.states, `${sid}: states`);
      assert.deepStrictEqual(
        o.collisions,
        (t.collisions ?? []).map((c) => ({ turn_id: c.turn_id, events: c.events })),
        `${sid}: collisions`,
      );
      assert.deepStrictEqual(
        [...o.malformed].sort(byKey),
        [...(t.malformed ?? [])].map((m) => ({ shard: m.shard, line: m.line })).sort(byKey),
        `${sid}: malformed`,
      );
      assert.deepStrictEqual(o.pending, ref.sessions[sid].pending, `${sid}: pending (upstream_reader.py)`);
      pending += o.pending.length;
    }
    assert.ok(pending >= 3, 'the corpus has pending turns');
    assert.ok(unreadable >= 2, 'the corpus has sessions upstream cannot read');
  });

  it("folder: every item of upstream's recovery audit, pending rule included", async function () {
    const why = upstreamUnavailable();
    if (why) return this.skip();
    const dir = tempDir();
    generateSessionsFolder(dir, { seed: 21, sessions: 16, anomalies: { ...everyAnomaly(1), invalid_name_file: 0, invalid_utf8: 0, string_created_at: 0 } });
    runWriterModel(dir, mechanismScenario(1763600000, 6).steps);
    // upstream's audit raises on a session its reader cannot read: ours says so, and reports the rest
    const crash = await auditFolder(dir, { now: NOW });
    assert.match(crash.upstream_audit.error ?? '', /dropped6/);
    for (const f of fs.readdirSync(path.join(dir, '_turn_journal'))) if (f.startsWith('dropped6')) fs.rmSync(path.join(dir, '_turn_journal', f));
    fs.writeFileSync(path.join(dir, 'gone-too.json.bak'), 'not json');
    const report = await auditFolder(dir, { now: NOW });
    const up = runUpstreamAudit(dir);
    const norm = (items: Record<string, unknown>[]) => items.map((i) => JSON.stringify(Object.fromEntries(Object.entries(i).sort()))).sort();
    assert.strictEqual(report.upstream_audit.error, undefined);
    assert.deepStrictEqual(norm(report.upstream_audit.items as unknown as Record<string, unknown>[]), norm(up.items));
    assert.deepStrictEqual(report.upstream_audit.summary, up.summary);
    assert.strictEqual(report.upstream_audit.status, up.status);
    const kinds = new Set(up.items.map((i) => i.kind));
    for (const k of ['shrunken_live', 'orphan_backup', 'malformed_orphan_backup', 'index_missing_file', 'index_missing_entry', 'turn_journal_pending_turn'])
      assert.ok(kinds.has(k), k);
    // and the items about sessions with a journal are findings there, with upstream_kind and category
    const s = report.sessions.find((x) => x.session_id === 'backup6')!;
    assert.ok(s.findings.some((f) => f.kind === 'shrunken_live' && f.upstream_kind === 'shrunken_live' && f.category === 'repairable'));
    assert.ok(report.sessions.some((x) => x.findings.some((f) => f.upstream_kind === 'turn_journal_pending_turn')));
  });

  it('lines over 4 MiB: parsed as upstream parses them (its reader has no line limit); past our re-read limit, counted and listed as unverified', async function () {
    const { dir, journal } = sessionsDir();
    const big = 'x'.repeat(5 * 1024 * 1024);
    fs.writeFileSync(
      path.join(journal, 'sess~1.jsonl'),
      line(ev('submitted', 't1', T0)) +
        line(ev('submitted', 't2', T0 + 1, { content: `long ${big}` })) + // one event, 5 MiB
        line(ev('worker_started', 't3', T0 + 2, { note: `${big}\u2028${big}` })) + // upstream splits it: two malformed lines
        line(ev('completed', 't1', T0 + 3)) +
        'not json\n',
    );
    // our reader leaves lines over 1 MiB unparsed (too_long); the upstream view parses them
    const report = await auditFolder(dir, { now: T0 + 10, maxLineBytes: 1024 * 1024 });
    const v = report.sessions[0].upstream!;
    assert.strictEqual(v.readable, true);
    assert.deepStrictEqual(v.states, { t1: 'completed', t2: 'submitted' });
    assert.deepStrictEqual(v.malformed, [
      { shard: 'sess~1.jsonl', line: 3 },
      { shard: 'sess~1.jsonl', line: 4 },
      { shard: 'sess~1.jsonl', line: 6 },
    ]);
    assert.deepStrictEqual(v.pending, [{ turn_id: 't2', event: 'submitted' }]);
    assert.strictEqual(v.unverified, undefined);
    if (!upstreamUnavailable()) {
      const up = upstreamSessions(dir).sess;
      assert.deepStrictEqual(v.states, up.states);
      assert.deepStrictEqual(v.malformed, up.malformed);
    }
    // past the re-read limit (here 1 MiB): never read whole; pieces counted, later line numbers still upstream's
    const discovery = await discoverSessions(dir);
    for await (const a of auditSessions(discovery, { now: T0 + 10, maxLineBytes: 1024 * 1024 })) {
      const w = await upstreamView(a, (n) => path.join(journal, n), { maxReread: 1024 * 1024 });
      assert.deepStrictEqual(w.unverified, [
        { shard: 'sess~1.jsonl', line: 2 },
        { shard: 'sess~1.jsonl', line: 3 },
        { shard: 'sess~1.jsonl', line: 4 },
      ]);
      assert.deepStrictEqual(w.malformed, [{ shard: 'sess~1.jsonl', line: 6 }]);
      assert.deepStrictEqual(w.states, { t1: 'completed' });
    }
    // invalid UTF-8 inside a long line: upstream's read_text raises for the session
    fs.appendFileSync(path.join(journal, 'sess~1.jsonl'), Buffer.concat([Buffer.from(`{"event":"x","pad":"${big}`), Buffer.from([0xff]), Buffer.from('"}\n')]));
    const bad = await auditFolder(dir, { now: T0 + 10, maxLineBytes: 1024 * 1024 });
    assert.strictEqual(bad.sessions[0].upstream!.readable, false);
    assert.strictEqual(bad.sessions[0].upstream!.error, 'UnicodeDecodeError');
  });
});
