import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { auditFolder, type SessionReport } from '../../src/core/audit';
import { SessionJournal } from '../../src/core/session';
import { discoverSessions } from '../../src/core/discovery';
import { deriveStates, sortEvents, rankByName, pyFloatKey, pyFloatRaises } from '../../src/core/derive';
import { analyzeSession } from '../../src/core/analyze';
import { emptyContents, sortKeyOf, toEvent } from '../../src/core/shardReader';
import { ev, lifecycle, line, sessionsDir, T0 } from './helpers';

const NOW = T0 + 86400;

async function audit(files: Record<string, string | Buffer>, sidecar?: unknown): Promise<SessionReport> {
  const { dir, journal } = sessionsDir();
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(journal, name), content);
  if (sidecar !== undefined)
    fs.writeFileSync(path.join(dir, 'sess.json'), typeof sidecar === 'string' || Buffer.isBuffer(sidecar) ? sidecar : JSON.stringify(sidecar, null, 2));
  const report = await auditFolder(dir, { now: NOW });
  assert.strictEqual(report.sessions.length, 1);
  return report.sessions[0];
}

const kinds = (r: SessionReport): string[] => [...new Set(r.findings.map((f) => f.kind))].sort();

function sidecarFor(turns: string[]): unknown {
  return {
    session_id: 'sess',
    title: 'A title',
    messages: turns.flatMap((t) => [
      { role: 'user', content: `question ${t}`, timestamp: T0 },
      { role: 'assistant', content: `answer ${t}`, timestamp: T0 + 1 },
    ]),
  };
}

describe('derivation (upstream semantics)', () => {
  const mk = (name: string, turn: string, at: unknown, shard: string, lineNo: number) => toEvent(ev(name, turn, at), shard, lineNo, 0, 0);

  it('sorts stably by created_at, then shard name, then line', () => {
    const evs = [mk('completed', 't', T0 + 1, 'b', 1), mk('submitted', 't', T0, 'b', 2), mk('worker_started', 't', T0 + 1, 'a', 5)];
    const sorted = sortEvents(evs, rankByName(['b', 'a']));
    assert.deepStrictEqual(
      sorted.map((e) => e.name),
      ['submitted', 'worker_started', 'completed'],
    );
  });

  it("the analysis' event order is sortEvents' for shards in and out of time order (merged when each is in order)", () => {
    // Shards given out of name order; keys with ties inside and across shards, ±Infinity, -0, non-numbers (0).
    const keys: unknown[] = [T0, T0, T0 + 1, -0, 0, Infinity, -Infinity, 'x', T0 + 0.5, NaN];
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 16) % n;
    for (let round = 0; round < 200; round++) {
      const names = ['s~3.jsonl', 's.jsonl', 's~1.jsonl', 's~2.jsonl'].slice(0, 1 + rand(4));
      const shards = names.map((name) => {
        const c = emptyContents(`/nowhere/${name}`, name);
        const n = rand(12);
        const raw = Array.from({ length: n }, () => keys[rand(keys.length)]);
        // Most rounds: each shard in created_at order (the merge); some: as drawn (the sort).
        if (round % 4 !== 0) raw.sort((a, b) => sortKeyOf(a) - sortKeyOf(b) || 0);
        c.events = raw.map((at, i) => toEvent(ev('submitted', `t${rand(5)}`, at), name, i + 1, i * 10, 9));
        if (rand(3) === 0) c.tailEvent = toEvent(ev('completed', 't0', keys[rand(keys.length)]), name, n + 1, n * 10, 9);
        return c;
      });
      const all = shards.flatMap((c) => (c.tailEvent ? [...c.events, c.tailEvent] : c.events));
      const want = sortEvents([...all], rankByName(names)).map((e) => `${e.shard}:${e.line}`);
      const a = analyzeSession('s', shards, { status: 'missing', path: '/nowhere/s.json' }, { now: T0, staleAfterSeconds: 3600 });
      assert.deepStrictEqual(
        a.events.map((e) => `${e.shard}:${e.line}`),
        want,
        `round ${round}`,
      );
    }
  });

  it('ties go to the event later in sorted order', () => {
    const evs = sortEvents([mk('completed', 't', T0, 'a', 1), mk('interrupted', 't', T0, 'a', 2)], rankByName(['a']));
    const d = deriveStates(evs);
    assert.strictEqual(d.states.get('t')?.name, 'interrupted');
    assert.deepStrictEqual(
      d.collisions.get('t')?.map((e) => e.name),
      ['completed', 'interrupted'],
    );
  });

  it('ignores events without a turn id and lists collisions in created_at order', () => {
    const evs = sortEvents(
      [mk('interrupted', 't', T0 + 5, 'b', 1), mk('completed', 't', T0 + 2, 'a', 1), mk('submitted', '', T0, 'a', 2)],
      rankByName(['a', 'b']),
    );
    const d = deriveStates(evs);
    assert.deepStrictEqual([...d.states.keys()], ['t']);
    assert.deepStrictEqual(
      d.collisions.get('t')?.map((e) => e.shard),
      ['a', 'b'],
    );
  });

  it('compares created_at with Python float() rules', () => {
    assert.strictEqual(pyFloatKey('1.5e3'), 1500);
    assert.strictEqual(pyFloatKey(' 12 '), 12);
    assert.ok(Number.isNaN(pyFloatKey('nan')));
    assert.strictEqual(pyFloatKey(true), 1);
    assert.strictEqual(pyFloatRaises('yesterday'), true);
    assert.strictEqual(pyFloatRaises('0.0'), false);
    assert.strictEqual(pyFloatRaises(''), false);
    assert.strictEqual(pyFloatRaises([1]), true);
    assert.strictEqual(pyFloatRaises(null), false);
  });
});

describe('session analysis and findings', () => {
  it('merges shards into turns with steps, durations and the sidecar reply', async () => {
    const { dir, journal } = sessionsDir();
    const all = lifecycle('t1', T0).split('\n').filter(Boolean);
    fs.writeFileSync(path.join(journal, 'sess~100.jsonl'), all[0] + '\n' + all[2] + '\n');
    fs.writeFileSync(path.join(journal, 'sess~200.jsonl'), all[1] + '\n' + all[3] + '\n');
    fs.writeFileSync(
      path.join(dir, 'sess.json'),
      JSON.stringify({
        title: 'T',
        messages: [
          { role: 'user', content: 'question t1', timestamp: 1 },
          { role: 'assistant', content: 'the answer', timestamp: 2 },
        ],
      }),
    );
    const d = await discoverSessions(dir);
    const j = new SessionJournal(dir, 'sess');
    j.setShards(d.sessions[0].shards);
    await j.refresh();
    const a = j.analyze({ now: NOW, staleAfterSeconds: 3600 });
    assert.strictEqual(a.turns.length, 1);
    const t = a.turns[0];
    assert.deepStrictEqual(
      t.steps.map((s) => `${s.name}@${s.shard}:${s.line}`),
      ['submitted@sess~100.jsonl:1', 'worker_started@sess~200.jsonl:1', 'assistant_started@sess~100.jsonl:2', 'completed@sess~200.jsonl:2'],
    );
    assert.strictEqual(t.state, 'completed');
    assert.strictEqual(t.assistantReply, 'the answer');
    assert.strictEqual(t.userMessage, 'question t1');
    assert.strictEqual(t.model, 'gpt-x');
    assert.ok(Math.abs((t.durations.toWorker ?? 0) - 0.2) < 1e-6);
    assert.ok(Math.abs((t.durations.total ?? 0) - 14.3) < 1e-6);
    assert.strictEqual(a.findings.length, 0);
    assert.strictEqual(a.title, 'T');
  });

  it('a healthy session has no findings', async () => {
    const r = await audit({ 'sess~1.jsonl': lifecycle('t1', T0) + lifecycle('t2', T0 + 100) }, sidecarFor(['t1', 't2']));
    assert.deepStrictEqual(r.findings, []);
    assert.deepStrictEqual({ ...r.states }, { t1: 'completed', t2: 'completed' });
  });

  it('terminal_collision on each terminal event, collisions in created_at order', async () => {
    const r = await audit(
      { 'sess~1.jsonl': lifecycle('t1', T0), 'sess~2.jsonl': line(ev('interrupted', 't1', T0 + 20, { reason: 'cancelled' })) },
      sidecarFor(['t1']),
    );
    assert.deepStrictEqual(
      r.collisions.map((c) => [c.turn_id, c.events]),
      [['t1', ['completed', 'interrupted']]],
    );
    assert.strictEqual(r.findings.filter((f) => f.kind === 'terminal_collision').length, 2);
    assert.strictEqual(r.states.t1, 'interrupted');
  });

  it('dangling_turn and pending_turn for an old unfinished turn; no dangling for a recent live one', async () => {
    const r = await audit({ 'sess~1.jsonl': lifecycle('t1', T0, null) + lifecycle('t2', NOW - 10, null) }, { messages: [], active_stream_id: 'stream-t2' });
    const dangling = r.findings.filter((f) => f.kind === 'dangling_turn');
    assert.deepStrictEqual(
      dangling.map((f) => f.turn_id),
      ['t1'],
    );
    assert.match(dangling[0].message, /assistant_started.*ago/);
    assert.deepStrictEqual(
      r.findings
        .filter((f) => f.kind === 'pending_turn')
        .map((f) => f.turn_id)
        .sort(),
      ['t1', 't2'],
    );
    assert.strictEqual(r.open_turn_count, 2);
  });

  it('an old turn whose stream the sidecar still names as active is dangling, and says so', async () => {
    const r = await audit(
      { 'sess~1.jsonl': lifecycle('t1', T0, null) },
      { messages: [{ role: 'user', content: 'question t1' }], active_stream_id: 'stream-t1' },
    );
    const d = r.findings.filter((f) => f.kind === 'dangling_turn');
    assert.strictEqual(d.length, 1);
    assert.match(d[0].message, /still names its stream as active/);
  });

  it('an unfinished turn with no finite created_at is dangling at an unknown time, unless the sidecar marks it active', async () => {
    const r = await audit(
      { 'sess~1.jsonl': line(ev('submitted', 't1', NaN)).replace('null', 'NaN') + line(ev('submitted', 't2', 'soon')) },
      { messages: [], active_stream_id: 'stream-t2' },
    );
    assert.deepStrictEqual({ ...r.states }, { t1: 'submitted', t2: 'submitted' });
    const d = r.findings.filter((f) => f.kind === 'dangling_turn');
    assert.deepStrictEqual(
      d.map((f) => f.turn_id),
      ['t1'],
    );
    assert.match(d[0].message, /unknown time/);
  });

  it('a recent unfinished turn is not dangling yet', async () => {
    const r = await audit({ 'sess~1.jsonl': lifecycle('t1', NOW - 60, null) }, sidecarFor(['t1']));
    assert.ok(!kinds(r).includes('dangling_turn'));
    assert.ok(!kinds(r).includes('pending_turn'));
  });

  it('interrupted_turn with its reason', async () => {
    const r = await audit({ 'sess~1.jsonl': lifecycle('t1', T0, 'interrupted') }, sidecarFor(['t1']));
    assert.deepStrictEqual(kinds(r), ['interrupted_turn']);
    assert.match(r.findings[0].message, /cancelled/);
  });

  it('malformed_line, torn_tail and glued_event with shard and line', async () => {
    const r = await audit(
      { 'sess~1.jsonl': lifecycle('t1', T0) + 'oops\n' + '{"event":"subm' + line(ev('submitted', 't2', T0 + 50)) + '{"ev' },
      sidecarFor(['t1']),
    );
    const byKind = (k: string) => r.findings.filter((f) => f.kind === k).map((f) => `${f.shard}:${f.line}`);
    assert.deepStrictEqual(byKind('malformed_line'), ['sess~1.jsonl:5', 'sess~1.jsonl:6']);
    assert.deepStrictEqual(byKind('glued_event'), ['sess~1.jsonl:6']);
    assert.deepStrictEqual(byKind('torn_tail'), ['sess~1.jsonl:7']);
    assert.deepStrictEqual(
      r.malformed.map((m) => [m.line, m.torn, m.glued]),
      [
        [5, false, false],
        [6, false, true],
        [7, true, false],
      ],
    );
    // Upstream loses the glued event; we must not (FORMATS.md §1).
    assert.strictEqual(r.states.t2, 'submitted');
    assert.strictEqual(r.event_count, 5);
  });

  it('event_without_turn_id, invalid_created_at, nonstandard_number, unknown_event', async () => {
    const r = await audit(
      {
        'sess~1.jsonl':
          lifecycle('t1', T0) +
          line({ event: 'submitted', created_at: T0 }) +
          '{"event":"worker_started","turn_id":"t1","created_at":NaN}\n' +
          line(ev('heartbeat', 't1', T0 + 2)) +
          line(ev('assistant_started', 't1', 'yesterday')),
      },
      sidecarFor(['t1']),
    );
    const k = kinds(r);
    for (const want of ['event_without_turn_id', 'invalid_created_at', 'nonstandard_number', 'unknown_event', 'upstream_incompatible_line'])
      assert.ok(k.includes(want), want);
    const bad = r.findings.filter((f) => f.kind === 'invalid_created_at');
    assert.deepStrictEqual(bad.map((f) => f.severity).sort(), ['error', 'warning']);
  });

  it('out_of_order when timestamps contradict the lifecycle; orphan_turn without submitted', async () => {
    const r = await audit(
      {
        'sess~1.jsonl':
          line(ev('submitted', 't1', T0 + 5)) +
          line(ev('worker_started', 't1', T0 + 1)) +
          line(ev('completed', 't1', T0 + 9)) +
          line(ev('worker_started', 't2', T0)) +
          line(ev('completed', 't2', T0 + 1)),
      },
      sidecarFor(['t1']),
    );
    assert.deepStrictEqual(
      r.findings.filter((f) => f.kind === 'out_of_order').map((f) => f.turn_id),
      ['t1'],
    );
    assert.deepStrictEqual(
      r.findings.filter((f) => f.kind === 'orphan_turn').map((f) => f.turn_id),
      ['t2'],
    );
  });

  it('upstream_incompatible_line for U+2028 in a message and for invalid UTF-8', async () => {
    const r = await audit(
      {
        'sess~1.jsonl': lifecycle('t1', T0, 'completed', { content: 'line\u2028break' }),
        'sess~2.jsonl': Buffer.concat([Buffer.from(lifecycle('t2', T0 + 100)), Buffer.from([0xc0, 0xaf, 0x0a])]),
      },
      {
        messages: [
          { role: 'user', content: 'line\u2028break' },
          { role: 'assistant', content: 'x' },
          { role: 'user', content: 'question t2' },
        ],
      },
    );
    const inc = r.findings.filter((f) => f.kind === 'upstream_incompatible_line');
    assert.deepStrictEqual(inc.map((f) => `${f.shard}:${f.line ?? ''}`).sort(), ['sess~1.jsonl:1', 'sess~2.jsonl:']);
    assert.strictEqual(r.states.t1, 'completed');
  });

  it('a sidecar with a UTF-8 BOM is read; one with invalid UTF-8 is invalid_sidecar', async () => {
    const bom = await audit(
      { 'sess~1.jsonl': lifecycle('t1', T0) },
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(sidecarFor(['t1'])))]),
    );
    assert.deepStrictEqual(bom.findings, []);
    assert.strictEqual(bom.title, 'A title');
    const bad = await audit({ 'sess~1.jsonl': lifecycle('t1', T0) }, Buffer.from([0x7b, 0xff, 0x7d]));
    assert.match(bad.findings.find((f) => f.kind === 'invalid_sidecar')!.message, /invalid UTF-8/);
  });

  it('invalid_sidecar for broken JSON, wrong types, and a bad assistant index', async () => {
    assert.ok(kinds(await audit({ 'sess~1.jsonl': lifecycle('t1', T0) }, '{"messages": [')).includes('invalid_sidecar'));
    const wrong = await audit({ 'sess~1.jsonl': lifecycle('t1', T0) }, { title: 5, messages: 'nope' });
    const msg = wrong.findings.find((f) => f.kind === 'invalid_sidecar')!.message;
    assert.match(msg, /"title" should be a string/);
    assert.match(msg, /"messages" should be a list/);
    const idx = await audit({ 'sess~1.jsonl': lifecycle('t1', T0) }, { messages: [{ role: 'user', content: 'question t1' }] });
    assert.match(idx.findings.find((f) => f.kind === 'invalid_sidecar')!.message, /assistant message 1/);
  });

  it('reports every finding kind with a severity and a message', async () => {
    const r = await audit({ 'sess~1.jsonl': lifecycle('t1', T0) + 'x\n' }, sidecarFor(['t1']));
    for (const f of r.findings) {
      assert.ok(['error', 'warning', 'info'].includes(f.severity));
      assert.ok(f.message.length > 5);
    }
  });
});

describe('upstream incompatibilities beyond line breaks', () => {
  it('flags a BOM, deep nesting and huge integers that make upstream fail', async () => {
    const { dir, journal } = sessionsDir();
    const deep = { ...ev('worker_started', 't1', T0 + 1), extra: JSON.parse('['.repeat(1200) + ']'.repeat(1200)) };
    const huge = `{"event":"assistant_started","turn_id":"t1","created_at":${T0 + 2},"n":${'9'.repeat(5000)}}\n`;
    fs.writeFileSync(path.join(journal, 'sess~1.jsonl'), '\ufeff' + line(ev('submitted', 't1', T0)) + line(deep) + huge + line(ev('completed', 't1', T0 + 3)));
    const r = (await auditFolder(dir, { now: NOW })).sessions[0];
    const inc = r.findings.filter((f) => f.kind === 'upstream_incompatible_line').map((f) => `${f.line}:${f.message.slice(0, 40)}`);
    assert.strictEqual(inc.length, 3, inc.join('\n'));
    assert.ok(inc.some((x) => x.startsWith('1:the shard starts with a UTF-8 byte-order')));
    assert.ok(inc.some((x) => x.startsWith('2:nesting 1201 levels deep')));
    assert.ok(inc.some((x) => x.startsWith('3:an integer of 5000 digits')));
    assert.strictEqual(r.states.t1, 'completed');
  });

  it('does not mistake long strings of digits or brackets inside text for hazards', async () => {
    const r = await audit(
      { 'sess~1.jsonl': lifecycle('t1', T0, 'completed', { content: '9'.repeat(6000) + '['.repeat(3000) }) },
      {
        messages: [
          { role: 'user', content: '9'.repeat(6000) + '['.repeat(3000) },
          { role: 'assistant', content: 'x' },
        ],
      },
    );
    assert.deepStrictEqual(r.findings, []);
  });
});

describe('glued events', () => {
  it('count once even when an identical copy was appended elsewhere (as repair does)', async () => {
    const done = ev('completed', 't1', T0 + 5, { assistant_message_index: 1 });
    const files = {
      'sess~1.jsonl': line(ev('submitted', 't1', T0)) + '{"event":"assistant_started","tur' + line(done),
      'sess~audit.jsonl': JSON.stringify(Object.fromEntries(Object.entries(done).reverse())) + '\n',
    };
    const r = await audit(files, sidecarFor(['t1']));
    assert.strictEqual(r.states.t1, 'completed');
    assert.strictEqual(r.event_count, 2);
    assert.deepStrictEqual(r.collisions, []);
  });
});
