/**
 * What hermes-webui itself says about a session (FORMATS.md §1, §2b): its reader
 * (`read_turn_journal`: `read_text(utf-8)`, `splitlines()`, `json.loads`), its derivation
 * (`derive_turn_journal_states`, which raises on a non-numeric `created_at`) and its audit's
 * pending rule (`turn_journal_pending_turn`). Our own reading stays as documented (glued events
 * recovered, lines split at `\n` only); this view sits beside it, in `audit --json` as
 * `upstream`, so a user can match our report line for line with upstream's.
 *
 * Computed from the analysis, re-reading only the lines where upstream reads differently
 * (a character Python's `splitlines()` breaks on, malformed lines): never the whole journal.
 * Known limits: shards are taken in file-name order (upstream uses directory order; only
 * `created_at` ties across shards can tell), and a line over the reader's length limit is
 * taken as malformed (upstream would parse it).
 */

import type { SessionAnalysis } from './analyze';
import { compareFindings } from './analyze';
import { openRead } from './fsSafe';
import { pyFloatKey, pyFloatRaises } from './derive';
import { parseJsonLine } from './jsonLine';
import { toEvent } from './shardReader';
import { compareNames } from './sessionId';
import type { JournalEvent } from './types';

export interface UpstreamView {
  /** False when upstream's read or derivation raises (then its audit crashes for the whole folder). */
  readable: boolean;
  /** The exception upstream raises: `UnicodeDecodeError`, `ValueError`, `RecursionError`. */
  error: string | null;
  /** turn_id → the name of its latest event, as upstream derives it. */
  states: Record<string, string>;
  collisions: { turn_id: string; events: string[] }[];
  /** Upstream's malformed lines: shard and its `splitlines()` line number. */
  malformed: { shard: string; line: number }[];
  /** Upstream's `turn_journal_pending_turn` items. */
  pending: { turn_id: string; event: string }[];
  event_count: number;
}

const MAX_REREAD = 4 * 1024 * 1024;
// Python's str.splitlines() boundaries.
// eslint-disable-next-line no-control-regex
const PY_BREAKS = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;

function pySplitlines(s: string): string[] {
  const parts = s.split(PY_BREAKS);
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Python's `not s.strip()`. */
// eslint-disable-next-line no-control-regex
const PY_BLANK = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
function pyBlank(s: string): boolean {
  return PY_BLANK.test(s);
}

interface Item {
  line: number;
  offset: number;
  length: number;
  event?: JournalEvent;
  /** Needs re-reading: upstream may split it or read it differently. */
  reread: boolean;
}

/** Upstream's view of one analysed session; `shardPath` gives each shard's file. */
export async function upstreamView(a: SessionAnalysis, shardPath: (name: string) => string | undefined): Promise<UpstreamView> {
  const view: UpstreamView = { readable: true, error: null, states: {}, collisions: [], malformed: [], pending: [], event_count: 0 };
  if (a.malformed.some((m) => m.kind === 'invalid_utf8')) return unreadable(view, 'UnicodeDecodeError');
  if (a.events.some((e) => e.pythonHazard !== undefined && e.recovered !== true)) return unreadable(view, 'RecursionError');
  const seen: JournalEvent[] = [];
  for (const shard of [...a.shards].sort((x, y) => compareNames(x.name, y.name))) {
    const items: Item[] = [];
    for (const e of a.events) {
      if (e.shard !== shard.name || e.recovered === true) continue;
      items.push({ line: e.line, offset: e.offset, length: e.length, event: e, reread: e.pythonLineBreaks === true });
    }
    for (const m of a.malformed) if (m.shard === shard.name) items.push({ line: m.line, offset: m.offset, length: m.length, reread: true });
    items.sort((x, y) => x.line - y.line);
    const file = shardPath(shard.name);
    let extra = 0;
    for (const it of items) {
      const first = it.line + extra;
      if (!it.reread) {
        if (shard.hasBom && it.line === 1) view.malformed.push({ shard: shard.name, line: first });
        else if (it.event) seen.push(it.event);
        continue;
      }
      const text = file ? await readLine(file, it.offset, it.length) : null;
      // The bytes re-read include a BOM at the start of the file, as upstream's text does.
      const pieces = text === null ? [''] : pySplitlines(text.replace(/\r$/, ''));
      pieces.forEach((piece, k) => {
        if (text !== null && pyBlank(piece)) return;
        const parsed = text === null ? null : parseJsonLine(piece);
        if (parsed && parsed.ok && typeof parsed.value === 'object' && parsed.value !== null && !Array.isArray(parsed.value)) {
          seen.push(toEvent(parsed.value as Record<string, unknown>, shard.name, first + k, it.offset, it.length));
        } else {
          view.malformed.push({ shard: shard.name, line: first + k });
        }
      });
      extra += Math.max(0, pieces.length - 1);
    }
  }
  view.event_count = seen.length;
  // `_safe_ts`: float(created_at or 0), 0 when that raises; a stable sort.
  const key = (e: JournalEvent): number => (pyFloatRaises(e.createdAtRaw) ? 0 : pyFloatKey(e.createdAtRaw));
  const sorted = seen
    .map((e, i) => ({ e, i, k: key(e) }))
    .sort((x, y) => (Number.isNaN(x.k) ? 0 : x.k) - (Number.isNaN(y.k) ? 0 : y.k) || x.i - y.i)
    .map((x) => x.e);
  const states = new Map<string, JournalEvent>();
  const terminals = new Map<string, JournalEvent[]>();
  for (const e of sorted) {
    if (e.turnId === '') continue;
    if (e.terminal) terminals.set(e.turnId, [...(terminals.get(e.turnId) ?? []), e]);
    const prev = states.get(e.turnId);
    // `float(event.get('created_at') or 0) >= float(previous...)`: raises for a non-numeric value.
    if (prev !== undefined && (pyFloatRaises(e.createdAtRaw) || pyFloatRaises(prev.createdAtRaw))) return unreadable(view, 'ValueError');
    if (prev === undefined || pyFloatKey(e.createdAtRaw) >= pyFloatKey(prev.createdAtRaw)) states.set(e.turnId, e);
  }
  for (const [tid, e] of states) view.states[tid] = e.name;
  for (const [tid, list] of terminals) {
    if (list.length < 2) continue;
    const ordered = list.map((e, i) => ({ e, i })).sort((x, y) => pyFloatKey(x.e.createdAtRaw) - pyFloatKey(y.e.createdAtRaw) || x.i - y.i);
    view.collisions.push({ turn_id: tid, events: ordered.map((x) => x.e.name) });
  }
  view.pending = pendingTurns(states, a);
  return view;
}

function unreadable(view: UpstreamView, error: string): UpstreamView {
  return { ...view, readable: false, error, states: {}, collisions: [], malformed: [], pending: [], event_count: 0 };
}

/**
 * Upstream's pending rule: a turn whose latest event is not terminal, whose latest event has a
 * non-empty stripped `content` missing from the stripped contents of the sidecar's user messages.
 */
function pendingTurns(states: Map<string, JournalEvent>, a: SessionAnalysis): { turn_id: string; event: string }[] {
  const existing = new Set<string>();
  for (const m of a.sidecar?.messages ?? []) if (m.raw.role === 'user') existing.add(pyStrOrEmpty(m.raw.content).trim());
  const out: { turn_id: string; event: string }[] = [];
  for (const tid of [...states.keys()].sort(compareNames)) {
    const e = states.get(tid)!;
    if (e.terminal) continue;
    const content = pyStrOrEmpty(e.data.content).trim();
    if (!content || existing.has(content)) continue;
    out.push({ turn_id: tid, event: e.name });
  }
  return out;
}

/** `str(x or '')` for JSON values (lists and objects are rare here; shown as JSON). */
function pyStrOrEmpty(v: unknown): string {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return '';
  if (typeof v === 'string') return v;
  if (v === true) return 'True';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v) && v.length === 0) return '';
  if (typeof v === 'object' && Object.keys(v as object).length === 0) return '';
  return JSON.stringify(v);
}

async function readLine(file: string, offset: number, length: number): Promise<string | null> {
  if (length > MAX_REREAD) return null;
  let fh: Awaited<ReturnType<typeof openRead>>['fh'] | undefined;
  try {
    fh = (await openRead(file)).fh;
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.toString('utf8', 0, bytesRead);
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

/**
 * Adds upstream's pending turns to the analysis as findings (`upstream_pending_turn`, upstream
 * kind `turn_journal_pending_turn`), beside our own `pending_turn` where the rules differ.
 */
export function attachUpstreamView(a: SessionAnalysis, view: UpstreamView): void {
  a.upstream = view;
  for (const p of view.pending) {
    const t = a.turns.find((x) => x.turnId === p.turn_id || x.aliasTurnIds.includes(p.turn_id));
    const e = t?.events.find((x) => x.turnId === p.turn_id && x.name === p.event);
    a.findings.push({
      kind: 'upstream_pending_turn',
      severity: 'warning',
      sessionId: a.sessionId,
      message: `hermes-webui's audit reports turn ${p.turn_id} as pending: its latest event "${p.event}" is not terminal and its message is not among the sidecar's user messages`,
      turnId: p.turn_id,
      ...(e ? { shard: e.shard, line: e.line, offset: e.offset } : {}),
      upstreamKind: 'turn_journal_pending_turn',
      category: 'repairable',
    });
    a.counts.findings.warning++;
  }
  if (view.pending.length) {
    a.findings.sort(compareFindings);
    if (a.worstSeverity === null || a.worstSeverity === 'info') a.worstSeverity = 'warning';
  }
}
