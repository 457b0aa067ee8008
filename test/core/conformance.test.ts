/**
 * Conformance of the journal core against generated hermes-webui folders:
 * (a) the fixture generator's ground truth (computed while writing, never by reading back),
 * (b) upstream's reading semantics — the manifest's `upstream` view and, when python3 is
 *     here, test/support/upstream_reader.py run on the same folder.
 *
 * Where our answer differs from upstream it must be exactly because of a documented upstream
 * weakness (FORMATS.md §1: splitlines() separators, invalid UTF-8, non-numeric created_at,
 * glued lines; plus the BOM that upstream's read_text keeps), and our findings must say so.
 *
 * Like the truth view, the core reads NaN / Infinity lines as events (Python's json does) and
 * flags them (`nonstandard_number`), and counts the event glued after a torn write (upstream
 * loses it) while reporting it (`glued_event`).
 */
import { HAS_PYTHON, UPSTREAM_READER, runUpstreamReader } from '../support/upstreamReader';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { auditSessions, sessionReport, type SessionReport } from '../../src/core/audit';
import type { SessionAnalysis } from '../../src/core/analyze';
import { discoverSessions } from '../../src/core/discovery';
import { everyAnomaly, generateSessionsFolder, type FixtureManifest, type GenerateOptions, type SessionManifest } from '../support/fixtures';

const READER = UPSTREAM_READER;
const PYTHON = HAS_PYTHON;

/** What upstream reports for one session, whichever way we learned it. */
interface UpstreamAnswer {
  /** Exception class name when upstream raises for the session. */
  error: string | null;
  states: Record<string, string>;
  collisions: { turn_id: string; events: string[] }[];
  eventCount: number;
}

const CASES: { label: string; opts: GenerateOptions }[] = [
  { label: 'seed 1, every anomaly once', opts: { seed: 1, anomalies: 'all' } },
  { label: 'seed 2, every anomaly once, 20 sessions', opts: { seed: 2, anomalies: 'all', sessions: 20 } },
  { label: 'seed 3, every anomaly twice', opts: { seed: 3, anomalies: everyAnomaly(2) } },
  {
    label: 'seed 42, every anomaly three times, long sessions',
    opts: { seed: 42, anomalies: everyAnomaly(3), turnsPerSession: [4, 14], pidsPerSession: [1, 5] },
  },
  {
    label: 'seed 9, separators, BOMs, glued and torn lines',
    opts: { seed: 9, anomalies: { line_separators: 4, bom: 4, glued: 3, torn_tail: 3, crlf: 2, non_finite_created_at: 3, collision: 2, collision_tie: 1 } },
  },
  { label: 'seed 5, no anomaly', opts: { seed: 5, anomalies: 'none', sessions: 6 } },
];

const MALFORMED_KIND: Record<string, string> = {
  not_json: 'not_json',
  nul_bytes: 'not_json',
  json_array: 'not_object',
  json_number: 'not_object',
  json_string: 'not_object',
  json_null: 'not_object',
  torn_tail: 'not_json',
  glued: 'not_json',
  invalid_utf8: 'invalid_utf8',
};

const at = (x: { shard?: string; line?: number }): string => `${x.shard}:${x.line}`;
const sorted = <T>(xs: T[]): T[] => [...xs].sort();
const normCollisions = (cs: { turn_id: string; events: string[] }[]) => [...cs].sort((a, b) => (a.turn_id < b.turn_id ? -1 : a.turn_id > b.turn_id ? 1 : 0));

function hasFinding(a: SessionAnalysis, kind: string, where: { shard?: string; line?: number; turnId?: string } = {}): boolean {
  return a.findings.some(
    (f) =>
      f.kind === kind &&
      (where.shard === undefined || f.shard === where.shard) &&
      (where.line === undefined || f.line === where.line) &&
      (where.turnId === undefined || f.turnId === where.turnId),
  );
}

/**
 * Turns whose upstream answer may differ from ours, each with the weakness that explains it,
 * after checking that our findings report that weakness.
 */
function upstreamWeaknesses(a: SessionAnalysis): Map<string, string[]> {
  const why = new Map<string, string[]>();
  const note = (turnId: string, reason: string): void => {
    if (turnId === '') return;
    why.set(turnId, [...(why.get(turnId) ?? []), reason]);
  };
  const bomShards = new Set(a.shards.filter((s) => s.hasBom).map((s) => s.name));
  for (const ev of a.events) {
    if (ev.recovered) {
      assert.ok(
        hasFinding(a, 'glued_event', { shard: ev.shard, line: ev.line }),
        `${a.sessionId}: no glued_event finding for the event recovered at ${at(ev)}`,
      );
      note(ev.turnId, `event glued after a torn write at ${at(ev)}`);
    }
    if (ev.pythonLineBreaks) {
      assert.ok(
        hasFinding(a, 'upstream_incompatible_line', { shard: ev.shard, line: ev.line }),
        `${a.sessionId}: no upstream_incompatible_line finding for the separator line ${at(ev)}`,
      );
      note(ev.turnId, `U+2028-class separator at ${at(ev)}`);
    }
    if (ev.line === 1 && bomShards.has(ev.shard)) {
      assert.ok(
        hasFinding(a, 'upstream_incompatible_line', { shard: ev.shard, line: 1 }),
        `${a.sessionId}: no upstream_incompatible_line finding for the BOM line ${ev.shard}:1`,
      );
      note(ev.turnId, `BOM before ${at(ev)}`);
    }
  }
  return why;
}

/**
 * Our answer against upstream's, for a session where upstream does not raise. Returns how
 * many of our events upstream's weaknesses cost it (so a test can tell the check was exercised).
 */
function compareWithUpstream(a: SessionAnalysis, r: SessionReport, up: UpstreamAnswer, source: string): number {
  const ctx = `${source}, session ${a.sessionId}`;
  const why = upstreamWeaknesses(a);
  // Events: upstream reads every event we read, except the ones its weaknesses cost it.
  const lost = a.events.filter((e) => e.recovered || e.pythonLineBreaks || (e.line === 1 && a.shards.find((s) => s.name === e.shard)?.hasBom)).length;
  assert.strictEqual(up.eventCount, r.event_count - lost, `${ctx}: upstream event count`);
  const turnIds = new Set([...Object.keys(r.states), ...Object.keys(up.states)]);
  for (const t of turnIds) {
    if (r.states[t] === up.states[t]) continue;
    assert.ok(why.has(t), `${ctx}: turn ${t} is "${r.states[t]}" for us but "${up.states[t]}" upstream, and no documented upstream weakness explains it`);
  }
  const ours = new Map(r.collisions.map((c) => [c.turn_id, c.events.join(',')]));
  const theirs = new Map(up.collisions.map((c) => [c.turn_id, c.events.join(',')]));
  for (const t of new Set([...ours.keys(), ...theirs.keys()])) {
    if (ours.get(t) === theirs.get(t)) continue;
    assert.ok(why.has(t), `${ctx}: collision of turn ${t} is [${ours.get(t)}] for us but [${theirs.get(t)}] upstream, unexplained`);
  }
  return lost;
}

/** Upstream raises for the whole session: our findings must name the line that makes it raise. */
function checkUpstreamRaises(a: SessionAnalysis, error: string, source: string): void {
  const ctx = `${source}, session ${a.sessionId}`;
  if (error.startsWith('UnicodeDecodeError')) {
    const bad = a.malformed.filter((m) => m.kind === 'invalid_utf8');
    assert.ok(bad.length > 0, `${ctx}: upstream cannot decode it, but we found no invalid UTF-8`);
    for (const m of bad) assert.ok(hasFinding(a, 'upstream_incompatible_line', { shard: m.shard }), `${ctx}: no upstream_incompatible_line for ${m.shard}`);
  } else if (error.startsWith('ValueError')) {
    const lines = a.findings.filter((f) => f.kind === 'invalid_created_at' && f.severity === 'error');
    assert.ok(lines.length > 0, `${ctx}: upstream raises ValueError, but we report no non-numeric created_at`);
    for (const f of lines)
      assert.ok(hasFinding(a, 'upstream_incompatible_line', { shard: f.shard, line: f.line }), `${ctx}: no upstream_incompatible_line at ${at(f)}`);
  } else {
    assert.fail(`${ctx}: unexpected upstream error ${error}`);
  }
}

/** Our answer against the generator's ground truth. */
function compareWithTruth(a: SessionAnalysis, r: SessionReport, m: SessionManifest): void {
  const ctx = `session ${m.id} (${m.anomalies.join(', ')})`;
  assert.deepStrictEqual(
    r.shards,
    m.shards.map((s) => s.name),
    `${ctx}: shards`,
  );
  // Malformed lines, with their kind, torn and glued marks.
  const expected = m.malformed.map((x) => `${at(x)} ${MALFORMED_KIND[x.kind]}${x.kind === 'torn_tail' ? ' torn' : ''}${x.kind === 'glued' ? ' glued' : ''}`);
  const got = r.malformed.map((x) => `${at(x)} ${x.kind}${x.torn ? ' torn' : ''}${x.glued ? ' glued' : ''}`);
  assert.deepStrictEqual(sorted(got), sorted(expected), `${ctx}: malformed lines`);
  // NaN / Infinity lines are events (as for upstream), flagged.
  for (const t of m.turns.filter((x) => x.fate === 'non_finite')) {
    for (const e of t.events) {
      const ev = a.events.find((x) => x.shard === e.shard && x.line === e.line);
      assert.ok(ev?.nonStandardNumbers, `${ctx}: ${at(e)} should be read as an event with non-standard numbers`);
      assert.ok(hasFinding(a, 'nonstandard_number', e), `${ctx}: no nonstandard_number finding at ${at(e)}`);
    }
  }
  assert.strictEqual(r.event_count, m.validEventCount, `${ctx}: valid events`);
  // Torn tails: each is reported as such.
  for (const t of m.tornTails) assert.ok(hasFinding(a, 'torn_tail', { shard: t.shard, line: t.line }), `${ctx}: no torn_tail finding at ${at(t)}`);
  assert.strictEqual(a.shards.filter((s) => s.tornTail).length, m.shards.filter((s) => s.tornTail).length, `${ctx}: shards with a torn tail`);
  // Glued lines: the event after the cut is recovered, counted and reported.
  for (const g of m.glued) {
    const line = a.malformed.find((x) => x.shard === g.shard && x.line === g.line);
    assert.ok(line?.glued, `${ctx}: no glued event recovered at ${at(g)}`);
    assert.strictEqual(line.glued.name, g.recoveredEvent, `${ctx}: recovered event at ${at(g)}`);
    assert.strictEqual(line.glued.turnId, g.turnId, `${ctx}: recovered event's turn at ${at(g)}`);
    assert.ok(hasFinding(a, 'glued_event', { ...g, turnId: g.turnId }), `${ctx}: no glued_event finding at ${at(g)}`);
    const turn = a.turns.find((t) => t.turnId === g.turnId);
    assert.ok(
      turn?.events.some((e) => e.recovered && e.name === g.recoveredEvent),
      `${ctx}: turn ${g.turnId} does not count its recovered "${g.recoveredEvent}"`,
    );
  }
  // States and collisions: exactly the truth.
  for (const t of m.turns) {
    assert.strictEqual(
      r.states[t.turnId],
      t.latest ?? undefined,
      `${ctx}: state of turn ${t.turnId} (${t.fate}${t.quirks.length ? ' ' + t.quirks.join('+') : ''})`,
    );
  }
  assert.deepStrictEqual({ ...r.states }, m.states, `${ctx}: states`);
  assert.deepStrictEqual(
    normCollisions(r.collisions.map((c) => ({ turn_id: c.turn_id, events: c.events }))),
    normCollisions(m.collisions.map((c) => ({ turn_id: c.turnId, events: c.events }))),
    `${ctx}: collisions`,
  );
  for (const c of m.collisions) assert.ok(hasFinding(a, 'terminal_collision', { turnId: c.turnId }), `${ctx}: no terminal_collision for ${c.turnId}`);
  // Line-level anomalies that upstream cannot read are reported.
  for (const s of m.lineSeparatorLines) assert.ok(hasFinding(a, 'upstream_incompatible_line', s), `${ctx}: separator line ${at(s)} not reported`);
  for (const s of m.eventsWithoutTurnId) assert.ok(hasFinding(a, 'event_without_turn_id', s), `${ctx}: event without turn_id at ${at(s)} not reported`);
  for (const s of m.shards.filter((x) => x.bom)) assert.ok(a.shards.find((x) => x.name === s.name)?.hasBom, `${ctx}: BOM of ${s.name}`);
  for (const s of m.shards.filter((x) => x.lineEnding === 'crlf'))
    assert.ok((a.shards.find((x) => x.name === s.name)?.crlfLines ?? 0) > 0, `${ctx}: CRLF lines of ${s.name}`);
  // Turn-level findings.
  for (const t of m.turns) {
    if (t.latest === null) continue;
    if (t.orphan) assert.ok(hasFinding(a, 'orphan_turn', { turnId: t.turnId }), `${ctx}: orphan turn ${t.turnId} not reported`);
    if (t.interrupted) assert.ok(hasFinding(a, 'interrupted_turn', { turnId: t.turnId }), `${ctx}: interrupted turn ${t.turnId} not reported`);
    if (t.dangling) assert.ok(hasFinding(a, 'dangling_turn', { turnId: t.turnId }), `${ctx}: dangling turn ${t.turnId} (${t.fate}) not reported`);
    if (t.live) assert.ok(!hasFinding(a, 'dangling_turn', { turnId: t.turnId }), `${ctx}: live turn ${t.turnId} reported as dangling`);
  }
  if (m.healthy) {
    const problems = a.findings.filter((f) => f.severity !== 'info');
    assert.deepStrictEqual(
      problems.map((f) => `${f.kind} ${f.message}`),
      [],
      `${ctx}: a healthy session has no warnings or errors`,
    );
  }
}

describe('conformance: generated folders against ground truth and upstream', function () {
  this.timeout(60_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-conformance-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const [i, c] of CASES.entries()) {
    describe(c.label, () => {
      let manifest: FixtureManifest;
      const analyses = new Map<string, SessionAnalysis>();
      const reports = new Map<string, SessionReport>();
      let skipped: string[] = [];

      before(async () => {
        const dir = path.join(tmp, `case-${i}`);
        manifest = generateSessionsFolder(dir, c.opts);
        const discovery = await discoverSessions(dir);
        skipped = discovery.skipped.map((s) => s.name);
        // The way the CLI audits: one session at a time, the clock at the fixture's "now".
        for await (const a of auditSessions(discovery, { now: manifest.now })) {
          analyses.set(a.sessionId, a);
          reports.set(a.sessionId, sessionReport(a));
        }
      });

      it('finds every session and skips exactly the invalid file names', () => {
        assert.deepStrictEqual(
          [...reports.keys()],
          manifest.sessions.map((s) => s.id),
        );
        assert.deepStrictEqual(sorted(skipped), sorted(manifest.invalidNameFiles));
      });

      it('matches the ground truth: malformed lines, torn tails, glued events, event counts, states, collisions', () => {
        for (const m of manifest.sessions) compareWithTruth(analyses.get(m.id)!, reports.get(m.id)!, m);
      });

      it("matches the manifest's upstream view, differing only where a documented weakness applies (and says so)", () => {
        let lost = 0;
        for (const m of manifest.sessions) {
          const a = analyses.get(m.id)!;
          if (m.upstream.error) {
            checkUpstreamRaises(a, m.upstream.error, 'manifest');
            continue;
          }
          const up: UpstreamAnswer = {
            error: null,
            states: m.upstream.states,
            collisions: m.upstream.collisions.map((x) => ({ turn_id: x.turnId, events: x.events })),
            eventCount: m.upstream.validEventCount,
          };
          lost += compareWithUpstream(a, reports.get(m.id)!, up, 'manifest');
        }
        if (c.opts.anomalies !== 'none') assert.ok(lost > 0, 'the folder has lines upstream cannot read (separators, BOM)');
      });

      it('matches upstream_reader.py on the same folder, differing only where a documented weakness applies', function () {
        if (!PYTHON) this.skip(); // python3 is not installed: the differential half needs upstream's reader
        if (READER === '') this.skip(); // test/support/upstream_reader.py not found from this bundle
        const up = runUpstreamReader(manifest.sessionsDir);
        assert.deepStrictEqual(Object.keys(up.sessions).sort(), [...reports.keys()].sort(), 'same sessions as upstream');
        assert.deepStrictEqual(sorted(up.skipped), sorted(skipped), 'same skipped file names as upstream');
        let compared = 0;
        for (const [sid, u] of Object.entries(up.sessions)) {
          const a = analyses.get(sid)!;
          if (u.error !== undefined) {
            checkUpstreamRaises(a, u.error, 'upstream_reader.py');
            continue;
          }
          compareWithUpstream(
            a,
            reports.get(sid)!,
            { error: null, states: u.states, collisions: u.collisions, eventCount: u.event_count },
            'upstream_reader.py',
          );
          compared++;
        }
        assert.ok(compared > 0, 'at least one session upstream can read');
      });
    });
  }
});
