/**
 * Deterministic fixtures: hermes-webui sessions folders written byte-for-byte the way
 * upstream writes them (see /work/shared/FORMATS.md sections 1 and 2), with planted
 * anomalies and a GROUND-TRUTH manifest produced while generating (never by reading
 * the files back).
 *
 * Entry points
 * - {@link generateSessionsFolder}(dir, opts)   seeded random sessions + every anomaly kind.
 * - {@link writeSessionsFolder}(dir, specs, opts) the same writer driven by hand-written specs
 *   (used by scripts/make-demo.mjs).
 * - {@link generateLargeFolder}(dir, opts) / {@link generateLargeSession}(dir, opts)
 *   fast streaming writers for benchmarks.
 * - {@link appendEventLine}(shardPath, event) appends one line like upstream (O_APPEND,
 *   one write, fsync), to simulate another process appending.
 * - {@link buildJournalEvent}, {@link pyJsonDumps}, {@link pySplitlines}: helpers.
 *
 * Bytes on disk (what upstream does)
 * - `SESSION_DIR/_turn_journal/<sid>~<pid>.jsonl` shards (one per writing process) and the
 *   legacy `<sid>.jsonl`; one event per line: Python
 *   `json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"`: non-ASCII raw,
 *   only `"` `\` and control characters < 0x20 escaped (`\n`, `\t`, `\u0000`, lowercase hex),
 *   U+2028 / U+2029 / U+0085 / U+007F left RAW, floats in Python `repr` form
 *   (`1763725931.8244069`, `1763725931.0`, `1e+16`, `NaN`, `Infinity`).
 * - Field order: payload fields (`event`, `stream_id`, then the event's extra fields), then
 *   `version`, `session_id`, `turn_id`, `created_at` (upstream's `dict(event)` +
 *   `setdefault`s), then `terminal` for terminal events (newer upstream adds it with
 *   `setdefault("terminal", True)` after `created_at`).
 * - Sidecars `SESSION_DIR/<sid>.json`: `json.dumps(obj, indent=2, ensure_ascii=False)`, no
 *   trailing newline; `SESSION_DIR/_index.json` is a list of compact entries, same style.
 *
 * CANONICAL EVENT ORDER (cross-shard), used for every "latest"/tie statement in manifests:
 *   1. shards of a session sorted by FILE NAME (code-unit order: the legacy `<sid>.jsonl`
 *      sorts before `<sid>~<pid>.jsonl` since "." < "~"; pids compare as text, `~10` < `~9`),
 *   2. lines of a shard in file order,
 *   3. then a STABLE sort by `created_at` (missing or non-numeric -> 0).
 *   The latest event of a turn is the one with the greatest `created_at`; ties go to the one
 *   later in that order. Collisions list a turn's terminal events in that order too.
 *   (Upstream iterates `glob()` order, i.e. unsorted directory order with the legacy file
 *   last, so upstream's own answer for a cross-shard tie is filesystem dependent.)
 *
 * Two views in every {@link SessionManifest}
 * - truth (top-level fields): what a CORRECT reader should recover: lines are split on "\n"
 *   only (physical lines, 1-based), a trailing "\r" is dropped, one UTF-8 BOM at the start
 *   of a shard is ignored, U+2028/U+2029/U+0085 inside strings are content, the valid event
 *   glued after a torn fragment is recovered, and lines that are not strict JSON objects
 *   (incl. `NaN`/`Infinity`, invalid UTF-8) are malformed.
 * - `upstream`: exactly what hermes-webui (and test/support/upstream_reader.py) reports:
 *   `splitlines()` numbering, BOM line malformed, NaN accepted, `UnicodeDecodeError` /
 *   `ValueError` for the whole session, glued event lost, split lines malformed.
 *
 * Determinism: all randomness comes from {@link Rng} (seeded sfc32); nothing reads the clock.
 * Timestamps are relative to `opts.now` (default {@link FIXED_NOW}); pass
 * `now: Date.now() / 1000` if a test needs the "live" turn to be really fresh.
 */
import * as fs from 'fs';
import * as path from 'path';

// ───────────────────────────── PRNG ─────────────────────────────

/** Small seeded PRNG (sfc32, seeded through splitmix32). Never uses Math.random. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t0 = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    const t = (t0 + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform float in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick on empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** n lowercase hex digits. */
  hex(n: number): string {
    let out = '';
    while (out.length < n) out += this.u32().toString(16).padStart(8, '0');
    return out.slice(0, n);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** An independent generator derived from this one and a label (stable across code edits elsewhere). */
  fork(label: string): Rng {
    let h = 0x811c9dc5;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Rng((this.u32() ^ h) >>> 0);
  }
}

// ───────────────────── Python-compatible JSON ─────────────────────

/** A number that Python holds as a float: always printed with a fraction or exponent (`12.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Mark a number as a Python float (so 1763725931 prints as `1763725931.0`). */
export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

/** Python's `repr(float)` (shortest round-trip digits; scientific when exp < -4 or >= 16). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  let s = String(x);
  let sign = '';
  if (s[0] === '-') {
    sign = '-';
    s = s.slice(1);
  }
  let e10 = 0;
  const ei = s.indexOf('e');
  if (ei >= 0) {
    e10 = parseInt(s.slice(ei + 1), 10);
    s = s.slice(0, ei);
  }
  const dot = s.indexOf('.');
  const intPart = dot >= 0 ? s.slice(0, dot) : s;
  const frac = dot >= 0 ? s.slice(dot + 1) : '';
  let digits = intPart + frac;
  let point = intPart.length + e10;
  const lead = /^0*/.exec(digits)![0].length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  const exp = point - 1;
  if (exp < -4 || exp >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const PY_ESCAPE_RE = /[\x00-\x1f"\\]/g;
function pyEscapeChar(c: string): string {
  switch (c) {
    case '"':
      return '\\"';
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    default:
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

/** A JSON string literal exactly as Python's `json.dumps(s, ensure_ascii=False)` writes it. */
export function pyJsonString(s: string): string {
  if (LONE_SURROGATE_RE.test(s)) throw new Error('lone surrogate: Python could not write this string as UTF-8');
  return `"${s.replace(PY_ESCAPE_RE, pyEscapeChar)}"`;
}

export type PyJsonValue =
  | null
  | boolean
  | number
  | string
  | PyFloat
  | PyJsonValue[]
  | Map<string, PyJsonValue>
  | { [key: string]: PyJsonValue | undefined };

/**
 * Python `json.dumps(value, ensure_ascii=False, ...)`: compact `(",", ":")` separators when
 * `indent` is undefined, else `indent=N` layout (`",\n"` + `": "`). JS integers print as Python
 * ints, other numbers (and {@link PyFloat}) as Python floats, NaN/±Infinity bare like Python.
 * Object keys keep insertion order (use a Map for integer-like keys); `undefined` values are omitted.
 */
export function pyJsonDumps(value: PyJsonValue, opts: { indent?: number } = {}): string {
  return dumpValue(value, opts.indent, 0);
}

function dumpValue(v: PyJsonValue, indent: number | undefined, level: number): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return pyJsonString(v);
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return Math.abs(v) < 1e21 ? String(v === 0 ? 0 : v) : BigInt(v).toString();
    return pyFloatRepr(v);
  }
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  let entries: [string | null, PyJsonValue][];
  let open: string;
  let close: string;
  if (Array.isArray(v)) {
    entries = v.map((x) => [null, x]);
    open = '[';
    close = ']';
  } else {
    const src: [string, PyJsonValue | undefined][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
    entries = src.filter((e): e is [string, PyJsonValue] => e[1] !== undefined);
    open = '{';
    close = '}';
  }
  if (entries.length === 0) return open + close;
  const item = ([k, x]: [string | null, PyJsonValue]): string =>
    (k === null ? '' : pyJsonString(k) + (indent === undefined ? ':' : ': ')) + dumpValue(x, indent, level + 1);
  if (indent === undefined) return open + entries.map(item).join(',') + close;
  const pad = '\n' + ' '.repeat(indent * (level + 1));
  return open + pad + entries.map(item).join(',' + pad) + '\n' + ' '.repeat(indent * level) + close;
}

// Python str.splitlines() boundaries and str.isspace() characters.
// eslint-disable-next-line no-control-regex
const PY_LINE_BREAK_RE = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const PY_BLANK_RE = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** Python `str.splitlines()` (no keepends). */
export function pySplitlines(s: string): string[] {
  const parts = s.split(PY_LINE_BREAK_RE);
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Python `not s.strip()`. */
export function pyIsBlank(s: string): boolean {
  return PY_BLANK_RE.test(s);
}

// ───────────────────────────── constants ─────────────────────────────

/** Default "now" for generated timelines: 2025-11-20T18:00:00Z. */
export const FIXED_NOW = 1763661600;
export const JOURNAL_DIR_NAME = '_turn_journal';
export const TERMINAL_EVENTS: readonly string[] = ['completed', 'interrupted'];
/** `reason` values seen upstream (FORMATS.md). */
export const KNOWN_REASONS: readonly string[] = [
  'cancelled',
  'interrupted',
  'credential_pool_empty',
  'quota_exhausted',
  'rate_limit',
  'auth_mismatch',
  'model_not_found',
  'compression_exhausted',
  'no_response',
  'error',
  'compression_snapshot_stale',
  'start_compensated',
  'post_acceptance_workspace_failure',
];
/** Plausible reasons upstream has never documented: readers must show them, not reject them. */
export const UNKNOWN_REASONS: readonly string[] = ['provider_overloaded', 'tool_loop_detected', 'context_window_exceeded'];
/** Journal file names that are not sessions (name fails `^[A-Za-z0-9_.-]+$` before the first `~`). */
export const INVALID_NAME_FILES: readonly string[] = ['bad name!.jsonl', '~4242.jsonl', 'sess ion~77.jsonl'];
export const SESSION_ID_RE = /^[A-Za-z0-9_.-]+$/;

const MODELS: readonly [string, string][] = [
  ['claude-sonnet-4-5', 'anthropic'],
  ['gpt-4.1-mini', 'openai'],
  ['gemini-2.5-pro', 'google'],
  ['qwen/qwen3-coder', 'openrouter'],
  ['llama3.1:8b', 'ollama'],
];

// ───────────────────────────── spec types ─────────────────────────────

export type LifecycleStep = 'submitted' | 'worker_started' | 'assistant_started';

/** How a turn ends. Default: completed. */
export type TurnFate =
  | { kind: 'completed'; /** `completed.assistant_message_index: null`, no reply saved. */ nullAssistantIndex?: boolean }
  | { kind: 'interrupted'; reason: string; /** last event before `interrupted` (default worker_started). */ after?: LifecycleStep }
  | {
      kind: 'dangling';
      /** last event written (default worker_started); no terminal, old. */
      after?: LifecycleStep;
      /** sidecar still claims the dead stream (active_stream_id/pending set). Last turn only. */
      stalePending?: boolean;
    }
  | { kind: 'live'; /** last event written (default worker_started). Last turn only; events ~seconds before `now`. */ after?: LifecycleStep }
  | {
      kind: 'collision';
      /** reason of the extra `interrupted` (default start_compensated). */
      reason?: string;
      /** which terminal event has the smaller created_at (default completed). */
      first?: 'completed' | 'interrupted';
      /** the `interrupted` is written by another process (other shard). Default true. Ignored in the legacy file. */
      crossShard?: boolean;
      /** both terminal events carry the SAME created_at: the later one in canonical order wins. */
      tie?: boolean;
    }
  | { kind: 'orphan' /** worker_started, assistant_started, completed; no submitted anywhere. */ }
  | { kind: 'non_finite'; /** the turn is a lone `submitted` whose created_at is written bare. */ value?: 'NaN' | 'Infinity' | '-Infinity' };

export type TurnFateKind = TurnFate['kind'];

/**
 * Line-level damage applied to one turn's events.
 * - out_of_order: all events in one shard, written in REVERSE chronological order.
 * - torn_tail: the turn's last event is cut mid-JSON with no "\n" as the last line of its shard;
 *   that process (pid) is considered dead and never writes again.
 * - glued: the turn's second-to-last event is cut mid-JSON and its last event is appended right
 *   after it on the same physical line.
 * - invalid_utf8: the turn's worker_started line gets invalid UTF-8 bytes inside `stream_id`.
 * - string_created_at: the turn's worker_started has an ISO-8601 string created_at.
 * - no_turn_id / empty_turn_id: the turn's worker_started has no `turn_id` key / `"turn_id":""`.
 */
export type TurnQuirk = 'out_of_order' | 'torn_tail' | 'glued' | 'invalid_utf8' | 'string_created_at' | 'no_turn_id' | 'empty_turn_id';

/** Extra lines that are not events. `json_*` parse as JSON but are not objects. */
export type GarbageKind = 'not_json' | 'nul_bytes' | 'json_array' | 'json_number' | 'json_string' | 'json_null';

export interface TurnSpec {
  user: string;
  /** Assistant reply saved in the sidecar (default: a short generic reply). */
  assistant?: string;
  /** `submitted.attachments` (file names); copied to the user message when it is saved. */
  attachments?: string[];
  fate?: TurnFate;
  quirks?: TurnQuirk[];
  /** Seconds between the previous turn's last event and this submit (default random). */
  gapBefore?: number;
  /** Seconds the model "thinks" before assistant_started (default random 2..40). */
  duration?: number;
}

export interface SessionQuirks {
  /** The first N turns are in the legacy `<sid>.jsonl` (written before sharding existed). */
  legacyTurns?: number;
  /** One pid shard uses "\r\n" line endings. */
  crlf?: boolean;
  /** One pid shard starts with a UTF-8 BOM (its first line is an event). */
  bom?: boolean;
  /** An extra pid shard of 0 bytes. */
  emptyShard?: boolean;
  /** Number of blank / whitespace-only lines sprinkled into shards. */
  blankLines?: number;
  /** Garbage lines inserted at random positions. */
  garbage?: GarbageKind[];
}

export interface SessionSpec {
  /** Session id; must match `^[A-Za-z0-9_.-]+$`. */
  id: string;
  title?: string;
  model?: string;
  modelProvider?: string;
  workspace?: string;
  /** Writer pids (one shard each). Default: 2 random pids. */
  pids?: number[];
  /** Epoch seconds of the first submit. Default: a few days before `now`. */
  startAt?: number;
  turns: TurnSpec[];
  quirks?: SessionQuirks;
  /** Write `<sid>.json` (default true). */
  sidecar?: boolean;
}

export interface WriteOptions {
  /** Seed for the writer's own choices (pids, cut points, positions...). Default 1. */
  seed?: number;
  /** Epoch seconds considered "now" (live turns sit just before it). Default FIXED_NOW. */
  now?: number;
  /** Journal file names in `_turn_journal/` that are not valid sessions (written with a few events). */
  invalidNameFiles?: string[];
  /** Write `SESSION_DIR/_index.json` (default true). */
  writeIndex?: boolean;
}

// ───────────────────────────── manifest types ─────────────────────────────

/** Why a line is not a (recoverable) event in the truth view. */
export type MalformedKind = GarbageKind | 'torn_tail' | 'glued' | 'invalid_utf8';

/** Everything that can be planted; `generateSessionsFolder({anomalies})` counts these. */
export type AnomalyKind =
  | 'interrupted'
  | 'unknown_reason'
  | 'dangling'
  | 'stale_pending'
  | 'live'
  | 'collision'
  | 'collision_tie'
  | 'orphan'
  | 'null_assistant_index'
  | 'non_finite_created_at'
  | TurnQuirk
  | GarbageKind
  | 'legacy'
  | 'crlf'
  | 'bom'
  | 'empty_shard'
  | 'blank_lines'
  | 'line_separators'
  | 'unicode_content'
  | 'hostile_content'
  | 'invalid_name_file';

export const ALL_ANOMALIES: readonly AnomalyKind[] = [
  'interrupted',
  'unknown_reason',
  'dangling',
  'stale_pending',
  'live',
  'collision',
  'collision_tie',
  'orphan',
  'null_assistant_index',
  'non_finite_created_at',
  'out_of_order',
  'torn_tail',
  'glued',
  'invalid_utf8',
  'string_created_at',
  'no_turn_id',
  'empty_turn_id',
  'not_json',
  'nul_bytes',
  'json_array',
  'json_number',
  'json_string',
  'json_null',
  'legacy',
  'crlf',
  'bom',
  'empty_shard',
  'blank_lines',
  'line_separators',
  'unicode_content',
  'hostile_content',
  'invalid_name_file',
];

export interface ShardManifest {
  /** File name inside `_turn_journal/`. */
  name: string;
  /** Writer pid, null for the legacy `<sid>.jsonl`. */
  pid: number | null;
  legacy: boolean;
  bytes: number;
  /** Physical lines ("\n"-separated; a final unterminated fragment counts). */
  lines: number;
  lineEnding: 'lf' | 'crlf';
  bom: boolean;
  empty: boolean;
  /** Last line is cut (no terminator). */
  tornTail: boolean;
}

export interface LineRef {
  shard: string;
  /** 1-based physical line number (truth view). */
  line: number;
}

export interface MalformedLine extends LineRef {
  kind: MalformedKind;
}

export interface TurnEventManifest extends LineRef {
  event: string;
  /** Numeric created_at as generated (NaN for non-finite, null for string created_at). */
  createdAt: number | null;
  /** The created_at token exactly as written (`1763725931.8244069`, `NaN`, `"2025-…"`). */
  createdAtRaw: string;
  /** Recoverable by a correct reader (false: torn, glued fragment, invalid UTF-8, NaN line). */
  valid: boolean;
  /** Written with a turn_id ("" or missing turn_id make this false). */
  hasTurnId: boolean;
}

export interface TurnManifest {
  index: number;
  turnId: string;
  streamId: string;
  fate: TurnFateKind;
  quirks: TurnQuirk[];
  /** `reason` of the turn's interrupted event (interrupted and collision turns). */
  reason: string | null;
  /** Truth: name of the latest event (null when no valid event of the turn has its turn_id). */
  latest: string | null;
  /** What upstream reports as latest (null when upstream raises for the session or never sees the turn). */
  upstreamLatest: string | null;
  terminal: boolean;
  interrupted: boolean;
  /** Truth: not terminal, not live (and at least one valid event). */
  dangling: boolean;
  /** Sidecar active_stream_id is this turn's stream and the turn is recent. */
  live: boolean;
  collision: boolean;
  /** Truth: no valid `submitted` event with this turn_id. */
  orphan: boolean;
  userContent: string;
  /** Epoch seconds of the submit (even when the submitted event itself is missing or damaged). */
  submittedAt: number;
  lastEventAt: number;
  /** Indexes in the sidecar `messages` (null = not saved). */
  userMessageIndex: number | null;
  assistantMessageIndex: number | null;
  /** Every line written for this turn, in write order. */
  events: TurnEventManifest[];
}

export interface CollisionManifest {
  turnId: string;
  /** Terminal event names in ascending created_at (canonical order for ties). */
  events: string[];
}

export interface UpstreamView {
  /** `"UnicodeDecodeError"` / `"ValueError"` when upstream raises for the whole session, else null. */
  error: string | null;
  validEventCount: number;
  states: Record<string, string>;
  collisions: CollisionManifest[];
  /** splitlines() numbering. `kind` says why (our label, upstream only gives shard+line). */
  malformed: { shard: string; line: number; kind: MalformedKind | 'bom' | 'split_line' }[];
}

export interface SessionManifest {
  id: string;
  title: string;
  /** Sidecar file name in SESSION_DIR, or null. */
  sidecar: string | null;
  /** Sorted by name = canonical order. */
  shards: ShardManifest[];
  /** Anomaly kinds present in this session (sorted). */
  anomalies: AnomalyKind[];
  /** Only benign kinds (hostile_content, unicode_content, legacy): every line is a clean event. */
  healthy: boolean;
  /** Sidecar active_stream_id (null unless a live or stale-pending turn). */
  activeStreamId: string | null;
  turns: TurnManifest[];
  // ── truth view ──
  validEventCount: number;
  /** turn_id -> latest event name (key order is not meaningful). */
  states: Record<string, string>;
  collisions: CollisionManifest[];
  malformed: MalformedLine[];
  tornTails: (LineRef & { turnId: string; lostEvent: string })[];
  glued: (LineRef & { turnId: string; lostEvent: string; recoveredEvent: string })[];
  eventsWithoutTurnId: LineRef[];
  blankLines: LineRef[];
  /** Lines whose strings contain raw U+2028 / U+2029 / U+0085. */
  lineSeparatorLines: LineRef[];
  // ── upstream view ──
  upstream: UpstreamView;
}

export interface FixtureManifest {
  version: 1;
  seed: number;
  now: number;
  sessionsDir: string;
  journalDir: string;
  /** Sorted by id. */
  sessions: SessionManifest[];
  invalidNameFiles: string[];
  totals: { sessions: number; shards: number; turns: number; validEvents: number; malformedLines: number; bytes: number };
}

// ───────────────────────────── helpers ─────────────────────────────

/** `%Y%m%dT%H%M%SZ` of an epoch-seconds value (UTC). */
export function utcStamp(epochSeconds: number): string {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** Upstream turn id: `%Y%m%dT%H%M%SZ-<12 hex>`. */
export function makeTurnId(epochSeconds: number, rng: Rng): string {
  return `${utcStamp(epochSeconds)}-${rng.hex(12)}`;
}

/** Python `datetime.fromtimestamp(t, timezone.utc).isoformat()`. */
function pyIsoformat(epochSeconds: number): string {
  const micros = Math.round((epochSeconds % 1) * 1e6);
  const iso = new Date(Math.floor(epochSeconds) * 1000).toISOString().slice(0, 19);
  return micros ? `${iso}.${String(micros).padStart(6, '0')}+00:00` : `${iso}+00:00`;
}

export function shardFileName(sessionId: string, pid: number | null): string {
  return pid === null ? `${sessionId}.jsonl` : `${sessionId}~${pid}.jsonl`;
}

/** Code-unit string comparison (same as Python's for the ASCII names used here). */
function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * An event object in upstream's field order: `fields` (must start with `event`), then
 * `version`, `session_id`, `turn_id`, `created_at`, then `terminal: true` for terminal events.
 * `turnId: null` omits the key; `createdAt` numbers are written as Python floats.
 */
export function buildJournalEvent(
  sessionId: string,
  fields: { event: string; [key: string]: PyJsonValue | undefined },
  opts: { turnId: string | null; createdAt: number | string | PyFloat | null },
): Map<string, PyJsonValue> {
  const m = new Map<string, PyJsonValue>();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) m.set(k, v);
  if (!m.has('version')) m.set('version', 1);
  m.set('session_id', sessionId);
  if (opts.turnId !== null && !m.has('turn_id')) m.set('turn_id', opts.turnId);
  if (!m.has('created_at')) {
    const c = opts.createdAt;
    m.set('created_at', typeof c === 'number' ? new PyFloat(c) : c);
  }
  if (TERMINAL_EVENTS.includes(fields.event) && !m.has('terminal')) m.set('terminal', true);
  return m;
}

/**
 * Append one line like upstream's `append_turn_journal_event`: open with
 * O_CREAT|O_APPEND|O_WRONLY (0600), write the whole line, fsync the file, then fsync the
 * directory (best effort). There is no flock in Node; the O_APPEND single write is what
 * keeps concurrent appends whole for lines of normal size.
 * `event` may be an object (serialised like Python) or a raw string (for crafting damage);
 * `newline: false` leaves the line unterminated (a torn tail). Returns the text written.
 */
export function appendEventLine(
  shardPath: string,
  event: PyJsonValue | string,
  opts: { newline?: boolean; fsyncDir?: boolean } = {},
): string {
  const text = typeof event === 'string' ? event : pyJsonDumps(event);
  const line = opts.newline === false ? text : text + '\n';
  fs.mkdirSync(path.dirname(shardPath), { recursive: true });
  const fd = fs.openSync(shardPath, fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_WRONLY, 0o600);
  try {
    const buf = Buffer.from(line, 'utf8');
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (opts.fsyncDir !== false) {
    try {
      const dfd = fs.openSync(path.dirname(shardPath), 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      // upstream ignores OSError here too
    }
  }
  return line;
}

// ───────────────────────────── the writer ─────────────────────────────

type ShardKey = number | 'legacy';
type EventForm = 'full' | 'torn' | 'glued_partial' | 'invalid_utf8';

interface PlannedEvent {
  turn: number;
  name: string;
  /** Payload fields after `event` and `stream_id`. */
  extra: [string, PyJsonValue][];
  /** True time (ordering of writes); NaN never. */
  time: number;
  /** Value written as created_at. */
  createdAt: PyFloat | string;
  turnIdMode: 'normal' | 'empty' | 'missing';
  shard: ShardKey;
  writeKey: number;
  form: EventForm;
  terminal: boolean;
  text: string; // serialised (set later)
  line: number; // physical line (set later)
  shardName: string; // set later
}

type LineKind = 'event' | 'blank' | MalformedKind;

interface PhysLine {
  kind: LineKind;
  /** Decoded text without terminator (for invalid_utf8: the text before corruption). */
  text: string;
  /** Raw bytes when they differ from UTF-8 of `text` (invalid UTF-8). */
  bytes?: Buffer;
  event?: PlannedEvent; // the valid or recovered event
  lost?: PlannedEvent; // the cut / corrupted event
}

interface ShardBuild {
  key: ShardKey;
  name: string;
  lines: PhysLine[];
  crlf: boolean;
  bom: boolean;
  empty: boolean;
}

interface TurnBuild {
  spec: TurnSpec;
  fate: TurnFate;
  quirks: TurnQuirk[];
  turnId: string;
  streamId: string;
  events: PlannedEvent[];
  submittedAt: number;
  lastAt: number;
  reason: string | null;
  userMessageIndex: number | null;
  assistantMessageIndex: number | null;
  /** would-be assistant index written in assistant_started / completed. */
  eventAssistantIndex: number | null;
}

const DEFAULT_REPLY = 'Done — let me know if you want me to go deeper on any part of this.';

class PyError extends Error {
  constructor(readonly pyType: 'ValueError' | 'TypeError') {
    super(pyType);
  }
}

/** Python `float(x or 0)` for the values this generator writes. */
function pyFloatOrRaise(v: PyFloat | string | number | null | undefined | boolean): number {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return 0;
  if (v === true) return 1;
  if (typeof v === 'number') return v;
  if (v instanceof PyFloat) return v.value;
  const s = v.replace(/^[\s]+|[\s]+$/g, '');
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?(\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)([eE][+-]?\d(_?\d)*)?$/.test(s)) return Number(s.replace(/_/g, ''));
  throw new PyError('ValueError');
}

/** Upstream `_safe_ts`. */
function pySafeTs(v: PyFloat | string): number {
  try {
    return pyFloatOrRaise(v);
  } catch {
    return 0;
  }
}

/** Truth sort/compare key: finite numbers as is, anything else 0. */
function truthTs(v: PyFloat | string): number {
  return v instanceof PyFloat && Number.isFinite(v.value) ? v.value : 0;
}

interface Derived {
  states: Map<string, PlannedEvent>;
  collisions: { turnId: string; events: PlannedEvent[] }[];
}

/** `derive_turn_journal_states` over events already in canonical order. */
function deriveStates(ordered: PlannedEvent[], turnIdOf: (e: PlannedEvent) => string, key: (e: PlannedEvent) => number): Derived {
  const states = new Map<string, PlannedEvent>();
  const terminals = new Map<string, PlannedEvent[]>();
  for (const e of ordered) {
    const tid = turnIdOf(e);
    if (!tid) continue;
    if (e.terminal) {
      const list = terminals.get(tid) ?? [];
      list.push(e);
      terminals.set(tid, list);
    }
    const prev = states.get(tid);
    if (prev === undefined || key(e) >= key(prev)) states.set(tid, e);
  }
  const collisions: Derived['collisions'] = [];
  for (const [tid, list] of terminals) {
    if (list.length < 2) continue;
    const keyed = list.map((e) => ({ e, k: key(e) }));
    keyed.sort((a, b) => a.k - b.k);
    collisions.push({ turnId: tid, events: keyed.map((x) => x.e) });
  }
  return { states, collisions };
}

function stableSortByKey<T>(items: T[], key: (x: T) => number): T[] {
  const keyed = items.map((x, i) => ({ x, i, k: key(x) }));
  keyed.sort((a, b) => {
    const ka = Number.isNaN(a.k) ? 0 : a.k;
    const kb = Number.isNaN(b.k) ? 0 : b.k;
    return ka - kb || a.i - b.i;
  });
  return keyed.map((o) => o.x);
}

function garbageText(kind: GarbageKind, rng: Rng): string {
  switch (kind) {
    case 'not_json':
      return rng.pick([
        'Traceback (most recent call last):',
        "{'event': 'completed', 'terminal': True}",
        '<<<<<<< HEAD',
        '{"event":"completed","stream_id":',
        'event=completed turn_id=? (debug)',
        '{"event":"worker_started",}',
      ]);
    case 'nul_bytes':
      return '\u0000'.repeat(rng.int(8, 64));
    case 'json_array':
      return rng.pick(['[1,2,3]', '[]', '[{"event":"completed"}]']);
    case 'json_number':
      return rng.pick(['42', '1763725931.5', '-0']);
    case 'json_string':
      return rng.pick(['"completed"', '"hello"']);
    case 'json_null':
      return rng.pick(['null', 'true', 'false']);
  }
}

const LINE_SEPARATOR_RE = /[\u2028\u2029\u0085]/;

/**
 * Write a sessions folder from explicit specs and return its ground-truth manifest.
 * `dir` is SESSION_DIR (created if needed; existing files with the same names are replaced).
 */
export function writeSessionsFolder(dir: string, specs: SessionSpec[], opts: WriteOptions = {}): FixtureManifest {
  const seed = opts.seed ?? 1;
  const now = opts.now ?? FIXED_NOW;
  const root = new Rng(seed);
  const sessionsDir = path.resolve(dir);
  const journalDir = path.join(sessionsDir, JOURNAL_DIR_NAME);
  fs.mkdirSync(journalDir, { recursive: true });

  const seen = new Set<string>();
  const manifests: SessionManifest[] = [];
  const indexEntries: { updated: number; entry: Map<string, PyJsonValue> }[] = [];
  let totalBytes = 0;

  for (const spec of specs) {
    if (!SESSION_ID_RE.test(spec.id) || spec.id === '.' || spec.id === '..') throw new Error(`invalid session id ${spec.id}`);
    if (seen.has(spec.id)) throw new Error(`duplicate session id ${spec.id}`);
    seen.add(spec.id);
    const rng = root.fork(`session:${spec.id}`);
    const built = buildSession(spec, rng, now);
    for (const shard of built.shards) {
      const buf = shardBytes(shard);
      fs.writeFileSync(path.join(journalDir, shard.name), buf);
      totalBytes += buf.length;
    }
    if (built.sidecar) {
      fs.writeFileSync(path.join(sessionsDir, `${spec.id}.json`), pyJsonDumps(built.sidecar, { indent: 2 }));
      indexEntries.push({ updated: built.updatedAt, entry: built.indexEntry });
    }
    manifests.push(built.manifest);
  }

  const invalidNameFiles = [...(opts.invalidNameFiles ?? [])];
  for (const name of invalidNameFiles) {
    const rng = root.fork(`invalid:${name}`);
    const sid = name.replace(/\.jsonl$/, '').split('~')[0];
    const t = now - 86400 * 3 + rng.float(0, 3600);
    const turnId = makeTurnId(t, rng);
    const stream = rng.hex(32);
    const lines = [
      buildJournalEvent(sid, { event: 'submitted', stream_id: stream, role: 'user', content: 'this file name is not a valid session id', attachments: [], workspace: '/tmp', model: MODELS[0][0], model_provider: MODELS[0][1] }, { turnId, createdAt: t }),
      buildJournalEvent(sid, { event: 'worker_started', stream_id: stream }, { turnId, createdAt: t + 0.12 }),
    ].map((e) => pyJsonDumps(e) + '\n');
    fs.writeFileSync(path.join(journalDir, name), lines.join(''));
  }

  if (opts.writeIndex !== false) {
    indexEntries.sort((a, b) => b.updated - a.updated);
    fs.writeFileSync(path.join(sessionsDir, '_index.json'), pyJsonDumps(indexEntries.map((x) => x.entry), { indent: 2 }));
  }

  manifests.sort((a, b) => cmpStr(a.id, b.id));
  return {
    version: 1,
    seed,
    now,
    sessionsDir,
    journalDir,
    sessions: manifests,
    invalidNameFiles,
    totals: {
      sessions: manifests.length,
      shards: manifests.reduce((n, s) => n + s.shards.length, 0),
      turns: manifests.reduce((n, s) => n + s.turns.length, 0),
      validEvents: manifests.reduce((n, s) => n + s.validEventCount, 0),
      malformedLines: manifests.reduce((n, s) => n + s.malformed.length, 0),
      bytes: totalBytes,
    },
  };
}

function shardBytes(shard: ShardBuild): Buffer {
  const parts: Buffer[] = [];
  if (shard.bom) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  const term = shard.crlf ? '\r\n' : '\n';
  shard.lines.forEach((l, i) => {
    parts.push(l.bytes ?? Buffer.from(l.text, 'utf8'));
    const last = i === shard.lines.length - 1;
    if (!(last && l.kind === 'torn_tail')) parts.push(Buffer.from(term));
  });
  return Buffer.concat(parts);
}

interface BuiltSession {
  shards: ShardBuild[];
  sidecar: Map<string, PyJsonValue> | null;
  indexEntry: Map<string, PyJsonValue>;
  updatedAt: number;
  manifest: SessionManifest;
}

function buildSession(spec: SessionSpec, rng: Rng, now: number): BuiltSession {
  const sid = spec.id;
  const q = spec.quirks ?? {};
  const [defModel, defProvider] = rng.pick(MODELS);
  const model = spec.model ?? defModel;
  const provider = spec.modelProvider ?? defProvider;
  const workspace = spec.workspace ?? `/home/dev/projects/${rng.pick(['webapp', 'notes', 'infra', 'scratch', 'api'])}`;
  const usedPids = new Set<number>();
  const newPid = (): number => {
    for (;;) {
      const p = rng.int(1200, 98000);
      if (!usedPids.has(p)) {
        usedPids.add(p);
        return p;
      }
    }
  };
  const pids = spec.pids && spec.pids.length ? [...spec.pids] : [newPid(), newPid()];
  pids.forEach((p) => usedPids.add(p));
  const alive: ShardKey[] = [...pids];
  const legacyTurns = Math.max(0, Math.min(q.legacyTurns ?? 0, spec.turns.length));
  let legacyAlive = legacyTurns > 0;

  // ── timeline ──
  const n = spec.turns.length;
  if (n === 0) throw new Error(`session ${sid} has no turns`);
  const liveIdx = spec.turns.findIndex((t) => t.fate?.kind === 'live' || (t.fate?.kind === 'dangling' && t.fate.stalePending));
  if (liveIdx >= 0 && liveIdx !== n - 1) throw new Error(`session ${sid}: live / stale-pending turn must be the last turn`);
  const gaps = spec.turns.map((t, i) => (i === 0 ? 0 : t.gapBefore ?? rng.float(40, 5400)));
  const durations = spec.turns.map((t) => t.duration ?? rng.float(2, 40));
  let start = spec.startAt ?? now - 86400 * rng.float(2, 20);
  const span = gaps.reduce((a, b) => a + b, 0) + durations.reduce((a, b) => a + b + 2, 0);
  if (spec.startAt === undefined && start + span > now - 7200) start = now - 7200 - span;

  const turns: TurnBuild[] = [];
  let cursor = start;
  let lastPid: ShardKey = alive[0];
  for (let i = 0; i < n; i++) {
    const ts = spec.turns[i];
    const fate: TurnFate = ts.fate ?? { kind: 'completed' };
    const quirks = [...(ts.quirks ?? [])];
    const wsQuirks = quirks.filter((x) => x === 'invalid_utf8' || x === 'string_created_at' || x === 'no_turn_id' || x === 'empty_turn_id');
    if (wsQuirks.length > 1) throw new Error(`session ${sid} turn ${i}: quirks ${wsQuirks.join('+')} all touch worker_started`);
    if (quirks.includes('out_of_order') && quirks.includes('glued')) throw new Error(`session ${sid} turn ${i}: out_of_order + glued`);
    if (fate.kind === 'live' && quirks.includes('torn_tail')) throw new Error(`session ${sid} turn ${i}: a live turn cannot be torn`);

    let t0 = cursor + gaps[i];
    if (fate.kind === 'live') {
      // recent: submitted 50..60 s before `now`, every event before `now`
      t0 = Math.max(t0, now - rng.float(50, 60));
      durations[i] = Math.min(durations[i], 30);
    }
    const turnId = makeTurnId(t0, rng);
    const streamId = rng.hex(32);
    const tb: TurnBuild = {
      spec: ts,
      fate,
      quirks,
      turnId,
      streamId,
      events: [],
      submittedAt: t0,
      lastAt: t0,
      reason: null,
      userMessageIndex: null,
      assistantMessageIndex: null,
      eventAssistantIndex: null,
    };
    const ev = (name: string, time: number, extra: [string, PyJsonValue][] = []): PlannedEvent => {
      const e: PlannedEvent = {
        turn: i,
        name,
        extra,
        time,
        createdAt: new PyFloat(time),
        turnIdMode: 'normal',
        shard: 'legacy',
        writeKey: time,
        form: 'full',
        terminal: TERMINAL_EVENTS.includes(name),
        text: '',
        line: 0,
        shardName: '',
      };
      tb.events.push(e);
      return e;
    };
    const submittedExtra: [string, PyJsonValue][] = [
      ['role', 'user'],
      ['content', ts.user],
      ['attachments', [...(ts.attachments ?? [])]],
      ['workspace', workspace],
      ['model', model],
      ['model_provider', provider],
    ];
    const tW = t0 + rng.float(0.05, 0.4);
    const tA = tW + durations[i];
    const tC = tA + rng.float(0.02, 0.3);
    const upTo = (after: LifecycleStep): void => {
      ev('submitted', t0, submittedExtra);
      if (after === 'submitted') return;
      ev('worker_started', tW);
      if (after === 'worker_started') return;
      ev('assistant_started', tA, [['assistant_message_index', null]]);
    };
    switch (fate.kind) {
      case 'completed':
        upTo('assistant_started');
        ev('completed', tC, [['assistant_message_index', null]]);
        break;
      case 'interrupted': {
        const after = fate.after ?? 'worker_started';
        upTo(after);
        const tI = (after === 'submitted' ? t0 : after === 'worker_started' ? tW : tA) + rng.float(0.5, durations[i]);
        ev('interrupted', tI, [['reason', fate.reason]]);
        tb.reason = fate.reason;
        break;
      }
      case 'dangling':
      case 'live':
        upTo(fate.after ?? 'worker_started');
        break;
      case 'collision': {
        upTo('assistant_started');
        const reason = fate.reason ?? 'start_compensated';
        tb.reason = reason;
        const c = ev('completed', tC, [['assistant_message_index', null]]);
        let tI: number;
        if (fate.tie) tI = tC;
        else if ((fate.first ?? 'completed') === 'completed') tI = tC + rng.float(0.5, 6);
        else tI = tC - rng.float(0.005, 0.015);
        const it = ev('interrupted', tI, [['reason', reason]]);
        if ((fate.first ?? 'completed') === 'interrupted' && !fate.tie) {
          // keep write order chronological
          tb.events.splice(tb.events.indexOf(it), 1);
          tb.events.splice(tb.events.indexOf(c), 0, it);
        }
        break;
      }
      case 'orphan':
        ev('worker_started', tW);
        ev('assistant_started', tA, [['assistant_message_index', null]]);
        ev('completed', tC, [['assistant_message_index', null]]);
        break;
      case 'non_finite': {
        const e = ev('submitted', t0, submittedExtra);
        const v = fate.value ?? 'NaN';
        e.createdAt = new PyFloat(v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
        break;
      }
    }
    // quirks touching worker_started
    const ws = tb.events.find((e) => e.name === 'worker_started');
    for (const qk of wsQuirks) {
      if (!ws) throw new Error(`session ${sid} turn ${i}: quirk ${qk} needs a worker_started event`);
      if (qk === 'invalid_utf8') ws.form = 'invalid_utf8';
      if (qk === 'string_created_at') ws.createdAt = pyIsoformat(ws.time);
      if (qk === 'no_turn_id') ws.turnIdMode = 'missing';
      if (qk === 'empty_turn_id') ws.turnIdMode = 'empty';
    }
    const byTime = [...tb.events].sort((a, b) => a.time - b.time);
    if (quirks.includes('torn_tail')) byTime[byTime.length - 1].form = 'torn';
    if (quirks.includes('glued')) {
      if (byTime.length < 2) throw new Error(`session ${sid} turn ${i}: glued needs two events`);
      const partial = byTime[byTime.length - 2];
      if (partial.form !== 'full' || byTime[byTime.length - 1].form !== 'full') throw new Error(`session ${sid} turn ${i}: glued conflicts with another quirk`);
      partial.form = 'glued_partial';
    }

    // ── shard assignment ──
    const inLegacy = i < legacyTurns && legacyAlive;
    let base: ShardKey;
    if (inLegacy) base = 'legacy';
    else {
      if (alive.length === 0) alive.push(newPid());
      base = alive.includes(lastPid) && rng.chance(0.6) ? lastPid : rng.pick(alive);
    }
    lastPid = base;
    const single = quirks.includes('out_of_order') || inLegacy;
    for (const e of tb.events) {
      e.shard = base;
      if (!single && alive.length > 1 && e !== tb.events[0] && rng.chance(0.25)) e.shard = rng.pick(alive);
    }
    if (quirks.includes('glued')) byTime[byTime.length - 1].shard = byTime[byTime.length - 2].shard;
    if (fate.kind === 'collision' && (fate.crossShard ?? true) && !inLegacy && !quirks.includes('glued') && !quirks.includes('out_of_order')) {
      const comp = tb.events.find((e) => e.name === 'completed')!;
      const intr = tb.events.find((e) => e.name === 'interrupted')!;
      let others = alive.filter((p) => p !== comp.shard);
      if (others.length === 0) {
        alive.push(newPid());
        others = alive.filter((p) => p !== comp.shard);
      }
      // for a tie, the winner is whichever shard sorts later by name (computed generically below)
      intr.shard = rng.pick(others);
    }
    if (quirks.includes('out_of_order')) {
      const times = tb.events.map((e) => e.time).sort((a, b) => a - b);
      const rev = [...tb.events].sort((a, b) => b.time - a.time);
      rev.forEach((e, k) => (e.writeKey = times[k]));
    }
    if (quirks.includes('torn_tail')) {
      const dead = byTime[byTime.length - 1].shard;
      if (dead === 'legacy') legacyAlive = false;
      else alive.splice(alive.indexOf(dead), 1);
    }
    tb.lastAt = Math.max(...tb.events.map((e) => e.time));
    if (fate.kind !== 'live' && tb.lastAt > now - 3600) throw new Error(`session ${sid} turn ${i}: not old enough (ends ${tb.lastAt}, now ${now})`);
    cursor = tb.lastAt;
    turns.push(tb);
  }

  // ── sidecar messages (and assistant indexes written in events) ──
  const messages: Map<string, PyJsonValue>[] = [];
  const msg = (role: string, content: string, at: number, attachments?: string[]): number => {
    const m = new Map<string, PyJsonValue>([
      ['role', role],
      ['content', content],
      ['timestamp', Math.floor(at)],
    ]);
    if (attachments && attachments.length) m.set('attachments', [...attachments]);
    messages.push(m);
    return messages.length - 1;
  };
  let activeStreamId: string | null = null;
  let pendingUser: string | null = null;
  let pendingStartedAt: number | null = null;
  for (const tb of turns) {
    const f = tb.fate;
    const reply = tb.spec.assistant ?? DEFAULT_REPLY;
    const tA = tb.events.find((e) => e.name === 'assistant_started')?.time ?? tb.lastAt;
    const hasA = tb.events.some((e) => e.name === 'assistant_started');
    switch (f.kind) {
      case 'completed':
        tb.userMessageIndex = msg('user', tb.spec.user, tb.submittedAt, tb.spec.attachments);
        if (f.nullAssistantIndex) tb.eventAssistantIndex = null;
        else tb.eventAssistantIndex = tb.assistantMessageIndex = msg('assistant', reply, tA);
        break;
      case 'collision':
      case 'orphan':
        tb.userMessageIndex = msg('user', tb.spec.user, tb.submittedAt, tb.spec.attachments);
        tb.eventAssistantIndex = tb.assistantMessageIndex = msg('assistant', reply, tA);
        break;
      case 'interrupted':
        tb.userMessageIndex = msg('user', tb.spec.user, tb.submittedAt, tb.spec.attachments);
        if (hasA) tb.eventAssistantIndex = tb.assistantMessageIndex = msg('assistant', `${reply.slice(0, Math.max(12, Math.floor(reply.length / 2)))}…`, tA);
        break;
      case 'dangling':
      case 'live':
        // the final save never happened: nothing of this turn is in `messages`
        tb.eventAssistantIndex = hasA ? messages.length + 1 : null;
        if (f.kind === 'live' || f.stalePending) {
          activeStreamId = tb.streamId;
          pendingUser = tb.spec.user;
          pendingStartedAt = tb.submittedAt;
        }
        break;
      case 'non_finite':
        break;
    }
    for (const e of tb.events) {
      if (e.name === 'assistant_started' || e.name === 'completed') e.extra = [['assistant_message_index', tb.eventAssistantIndex]];
    }
  }

  // ── serialise events ──
  for (const tb of turns) {
    for (const e of tb.events) {
      const fields: { event: string; [k: string]: PyJsonValue } = { event: e.name, stream_id: tb.streamId };
      for (const [k, v] of e.extra) fields[k] = v;
      const tid = e.turnIdMode === 'missing' ? null : e.turnIdMode === 'empty' ? '' : tb.turnId;
      e.text = pyJsonDumps(buildJournalEvent(sid, fields, { turnId: tid, createdAt: e.createdAt }));
    }
  }

  // ── shards ──
  const shardMap = new Map<ShardKey, ShardBuild>();
  const shardFor = (key: ShardKey): ShardBuild => {
    let s = shardMap.get(key);
    if (!s) {
      s = { key, name: shardFileName(sid, key === 'legacy' ? null : key), lines: [], crlf: false, bom: false, empty: false };
      shardMap.set(key, s);
    }
    return s;
  };
  const all = turns.flatMap((t) => t.events);
  // only shards that received events exist (plus the explicit empty one below)
  for (const e of all) shardFor(e.shard);
  for (const s of shardMap.values()) {
    const evs = all.filter((e) => e.shard === s.key).sort((a, b) => a.writeKey - b.writeKey);
    for (let k = 0; k < evs.length; k++) {
      const e = evs[k];
      e.shardName = s.name;
      if (e.form === 'full') {
        // NaN / Infinity: Python's JSON reads them, and so must a correct reader (issue 2:
        // "accept NaN / Infinity as upstream does, and flag them"), so the line is an event.
        s.lines.push({ kind: 'event', text: e.text, event: e });
      } else if (e.form === 'torn') {
        if (k !== evs.length - 1) throw new Error(`session ${sid}: torn event is not the last line of ${s.name}`);
        s.lines.push({ kind: 'torn_tail', text: cutLine(e.text, rng), lost: e });
      } else if (e.form === 'glued_partial') {
        const next = evs[k + 1];
        if (!next || next.turn !== e.turn || next.form !== 'full') throw new Error(`session ${sid}: glued partner missing in ${s.name}`);
        next.shardName = s.name;
        s.lines.push({ kind: 'glued', text: cutLine(e.text, rng) + next.text, event: next, lost: e });
        k++;
      } else {
        s.lines.push({ kind: 'invalid_utf8', text: e.text, bytes: corruptUtf8(e.text, rng), lost: e });
      }
    }
  }
  const pidShards = () => [...shardMap.values()].filter((s) => s.key !== 'legacy' && s.lines.length > 0);
  if (q.emptyShard) {
    const s = shardFor(newPid());
    s.empty = true;
  }
  if (q.bom) {
    // prefer a shard whose first line is an event (so the BOM really costs upstream an event)
    let cands = pidShards().filter((s) => s.lines[0].kind === 'event');
    if (!cands.length) cands = [...shardMap.values()].filter((s) => s.lines.length > 0);
    if (!cands.length) throw new Error(`session ${sid}: no shard can take a BOM`);
    rng.pick(cands).bom = true;
  }
  if (q.crlf) {
    const cands = pidShards();
    if (!cands.length) throw new Error(`session ${sid}: no shard for CRLF`);
    rng.pick(cands).crlf = true;
  }
  const insertable = () => [...shardMap.values()].filter((s) => !s.empty);
  const insertLine = (line: PhysLine): void => {
    const s = rng.pick(insertable());
    const torn = s.lines.length > 0 && s.lines[s.lines.length - 1].kind === 'torn_tail';
    const lo = s.bom ? 1 : 0;
    const hi = s.lines.length - (torn ? 1 : 0);
    s.lines.splice(rng.int(Math.min(lo, hi), hi), 0, line);
  };
  for (const g of q.garbage ?? []) {
    const text = garbageText(g, rng);
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if ((g === 'not_json' || g === 'nul_bytes') !== (parsed === undefined)) throw new Error(`garbage ${g} misclassified`);
    insertLine({ kind: g, text });
  }
  for (let b = 0; b < (q.blankLines ?? 0); b++) insertLine({ kind: 'blank', text: rng.pick(['', '   ', '\t', ' \t  ']) });

  const shards = [...shardMap.values()].sort((a, b) => cmpStr(a.name, b.name));

  // ── line numbers ──
  for (const s of shards) {
    s.lines.forEach((l, idx) => {
      if (l.event) {
        l.event.line = idx + 1;
        l.event.shardName = s.name;
      }
      if (l.lost) {
        l.lost.line = idx + 1;
        l.lost.shardName = s.name;
      }
    });
  }

  // ── truth view ──
  const truthOrdered: PlannedEvent[] = [];
  const malformed: MalformedLine[] = [];
  const tornTails: SessionManifest['tornTails'] = [];
  const glued: SessionManifest['glued'] = [];
  const noTurnId: LineRef[] = [];
  const blankLines: LineRef[] = [];
  const sepLines: LineRef[] = [];
  for (const s of shards) {
    s.lines.forEach((l, idx) => {
      const ref = { shard: s.name, line: idx + 1 };
      if (LINE_SEPARATOR_RE.test(l.text)) sepLines.push(ref);
      if (l.kind === 'blank') blankLines.push(ref);
      else if (l.kind !== 'event') malformed.push({ ...ref, kind: l.kind });
      if (l.kind === 'torn_tail') tornTails.push({ ...ref, turnId: turns[l.lost!.turn].turnId, lostEvent: l.lost!.name });
      if (l.kind === 'glued') glued.push({ ...ref, turnId: turns[l.lost!.turn].turnId, lostEvent: l.lost!.name, recoveredEvent: l.event!.name });
      if (l.event) {
        truthOrdered.push(l.event);
        if (l.event.turnIdMode !== 'normal') noTurnId.push(ref);
      }
    });
  }
  const turnIdOf = (e: PlannedEvent): string => (e.turnIdMode === 'normal' ? turns[e.turn].turnId : '');
  const truthSorted = stableSortByKey(truthOrdered, (e) => truthTs(e.createdAt));
  const truth = deriveStates(truthSorted, turnIdOf, (e) => truthTs(e.createdAt));

  // ── upstream view ──
  const upstream: UpstreamView = { error: null, validEventCount: 0, states: {}, collisions: [], malformed: [] };
  const upOrdered: PlannedEvent[] = [];
  let upLatest: Derived | null = null;
  if (shards.some((s) => s.lines.some((l) => l.kind === 'invalid_utf8'))) {
    upstream.error = 'UnicodeDecodeError';
  } else {
    for (const s of shards) {
      let no = 0;
      s.lines.forEach((l, idx) => {
        const isLast = idx === s.lines.length - 1;
        const text = (s.bom && idx === 0 ? '\ufeff' : '') + l.text + (isLast && l.kind === 'torn_tail' ? '' : s.crlf ? '\r\n' : '\n');
        const pieces = pySplitlines(text);
        const pyValid = l.kind === 'event' && pieces.length === 1 && !(s.bom && idx === 0);
        for (const piece of pieces) {
          no++;
          if (pyIsBlank(piece)) continue;
          if (pyValid) {
            upOrdered.push(l.event ?? l.lost!);
            continue;
          }
          if (pieces.length > 1) {
            let obj = false;
            try {
              const v = JSON.parse(piece) as unknown;
              obj = typeof v === 'object' && v !== null && !Array.isArray(v);
            } catch {
              obj = false;
            }
            if (obj) throw new Error(`session ${sid}: a split piece of ${s.name}:${idx + 1} parses as an object; change the content`);
          }
          const kind: UpstreamView['malformed'][number]['kind'] =
            pieces.length > 1 ? 'split_line' : s.bom && idx === 0 ? 'bom' : l.kind === 'event' || l.kind === 'blank' ? 'split_line' : l.kind;
          upstream.malformed.push({ shard: s.name, line: no, kind });
        }
      });
    }
    upstream.validEventCount = upOrdered.length;
    const upSorted = stableSortByKey(upOrdered, (e) => pySafeTs(e.createdAt));
    try {
      upLatest = deriveStates(upSorted, turnIdOf, (e) => pyFloatOrRaise(e.createdAt));
      const nanInvolved = upSorted.some((e) => e.createdAt instanceof PyFloat && Number.isNaN(e.createdAt.value));
      if (nanInvolved) assertNoTies(sid, upSorted);
      for (const [tid, e] of upLatest.states) upstream.states[tid] = e.name;
      upstream.collisions = upLatest.collisions.map((c) => ({ turnId: c.turnId, events: c.events.map((e) => e.name) }));
    } catch (err) {
      if (!(err instanceof PyError)) throw err;
      upstream.error = err.pyType;
      upLatest = null;
    }
  }

  // ── sidecar ──
  const createdAt = turns[0].submittedAt - rng.float(1, 5);
  const lastEventAt = Math.max(...turns.map((t) => t.lastAt));
  const updatedAt = lastEventAt + rng.float(0.01, 0.2);
  const title = spec.title ?? truncateTitle(spec.turns[0].user);
  const sidecar =
    spec.sidecar === false
      ? null
      : new Map<string, PyJsonValue>([
          ['session_id', sid],
          ['title', title],
          ['workspace', workspace],
          ['model', model],
          ['model_provider', provider],
          ['created_at', new PyFloat(createdAt)],
          ['updated_at', new PyFloat(updatedAt)],
          ['pinned', false],
          ['archived', false],
          ['project_id', null],
          ['profile', 'default'],
          ['input_tokens', 0],
          ['output_tokens', 0],
          ['active_stream_id', activeStreamId],
          ['pending_user_message', pendingUser],
          ['pending_attachments', null],
          ['pending_started_at', pendingStartedAt === null ? null : new PyFloat(pendingStartedAt)],
          ['message_count', messages.length],
          ['messages', messages],
          ['tool_calls', []],
        ]);
  const lastMsg = messages.length ? (messages[messages.length - 1].get('timestamp') as number) : updatedAt;
  const indexEntry = new Map<string, PyJsonValue>([
    ['session_id', sid],
    ['title', title],
    ['workspace', workspace],
    ['model', model],
    ['model_provider', provider],
    ['message_count', pendingUser ? Math.max(messages.length, 1) : messages.length],
    ['created_at', new PyFloat(createdAt)],
    ['updated_at', new PyFloat(updatedAt)],
    ['last_message_at', pendingUser && pendingStartedAt !== null ? new PyFloat(pendingStartedAt) : lastMsg],
    ['pinned', false],
    ['archived', false],
    ['project_id', null],
    ['profile', 'default'],
    ['user_message_count', messages.filter((m) => m.get('role') === 'user').length],
    ['active_stream_id', activeStreamId],
    ['pending_user_message', pendingUser],
    ['has_pending_user_message', pendingUser !== null],
    ['is_cli_session', false],
    ['is_streaming', false],
  ]);

  // ── manifest ──
  const turnManifests: TurnManifest[] = turns.map((tb, i) => {
    const latestE = truth.states.get(tb.turnId) ?? null;
    const latest = latestE ? latestE.name : null;
    const terminal = latest !== null && TERMINAL_EVENTS.includes(latest);
    const live = tb.fate.kind === 'live';
    return {
      index: i,
      turnId: tb.turnId,
      streamId: tb.streamId,
      fate: tb.fate.kind,
      quirks: [...tb.quirks],
      reason: tb.reason,
      latest,
      upstreamLatest: upLatest?.states.get(tb.turnId)?.name ?? null,
      terminal,
      interrupted: latest === 'interrupted',
      dangling: latest !== null && !terminal && !live,
      live,
      collision: truth.collisions.some((c) => c.turnId === tb.turnId),
      orphan: !truthOrdered.some((e) => e.turn === i && e.name === 'submitted' && e.turnIdMode === 'normal'),
      userContent: tb.spec.user,
      submittedAt: tb.submittedAt,
      lastEventAt: tb.lastAt,
      userMessageIndex: tb.userMessageIndex,
      assistantMessageIndex: tb.assistantMessageIndex,
      events: [...tb.events]
        .sort((a, b) => cmpStr(a.shardName, b.shardName) || a.line - b.line)
        .map((e) => ({
          shard: e.shardName,
          line: e.line,
          event: e.name,
          createdAt: e.createdAt instanceof PyFloat ? e.createdAt.value : null,
          createdAtRaw: e.createdAt instanceof PyFloat ? pyFloatRepr(e.createdAt.value) : pyJsonString(e.createdAt),
          valid: truthOrdered.includes(e),
          hasTurnId: e.turnIdMode === 'normal',
        })),
    };
  });

  const anomalies = new Set<AnomalyKind>();
  for (const tb of turns) {
    const f = tb.fate;
    if (f.kind === 'interrupted') anomalies.add(KNOWN_REASONS.includes(f.reason) ? 'interrupted' : 'unknown_reason');
    if (f.kind === 'dangling') anomalies.add(f.stalePending ? 'stale_pending' : 'dangling');
    if (f.kind === 'live') anomalies.add('live');
    if (f.kind === 'collision') anomalies.add(f.tie ? 'collision_tie' : 'collision');
    if (f.kind === 'orphan') anomalies.add('orphan');
    if (f.kind === 'non_finite') anomalies.add('non_finite_created_at');
    if (f.kind === 'completed' && f.nullAssistantIndex) anomalies.add('null_assistant_index');
    tb.quirks.forEach((x) => anomalies.add(x));
    if (hasHostile(tb.spec.user) || hasHostile(tb.spec.assistant ?? '')) anomalies.add('hostile_content');
    if (hasUnicode(tb.spec.user) || hasUnicode(tb.spec.assistant ?? '')) anomalies.add('unicode_content');
  }
  if (legacyTurns > 0) anomalies.add('legacy');
  if (q.crlf) anomalies.add('crlf');
  if (q.bom) anomalies.add('bom');
  if (q.emptyShard) anomalies.add('empty_shard');
  if ((q.blankLines ?? 0) > 0) anomalies.add('blank_lines');
  (q.garbage ?? []).forEach((g) => anomalies.add(g));
  if (sepLines.length) anomalies.add('line_separators');
  const anomalyList = [...anomalies].sort(cmpStr);
  // benign: content worth rendering carefully, and the legacy file (a normal upstream layout)
  const benign = (a: AnomalyKind): boolean => a === 'hostile_content' || a === 'unicode_content' || a === 'legacy';

  const shardManifests: ShardManifest[] = shards.map((s) => ({
    name: s.name,
    pid: s.key === 'legacy' ? null : s.key,
    legacy: s.key === 'legacy',
    bytes: shardBytes(s).length,
    lines: s.lines.length,
    lineEnding: s.crlf ? 'crlf' : 'lf',
    bom: s.bom,
    empty: s.lines.length === 0,
    tornTail: s.lines.length > 0 && s.lines[s.lines.length - 1].kind === 'torn_tail',
  }));

  const manifest: SessionManifest = {
    id: sid,
    title,
    sidecar: sidecar ? `${sid}.json` : null,
    shards: shardManifests,
    anomalies: anomalyList,
    healthy: anomalyList.every(benign),
    activeStreamId,
    turns: turnManifests,
    validEventCount: truthOrdered.length,
    states: Object.fromEntries([...truth.states].map(([k, e]) => [k, e.name])),
    collisions: truth.collisions.map((c) => ({ turnId: c.turnId, events: c.events.map((e) => e.name) })),
    malformed,
    tornTails,
    glued,
    eventsWithoutTurnId: noTurnId,
    blankLines,
    lineSeparatorLines: sepLines,
    upstream,
  };
  return { shards, sidecar, indexEntry, updatedAt, manifest };
}

/** A NaN created_at makes Python's sort order unspecified; only ties could make that observable. */
function assertNoTies(sid: string, events: PlannedEvent[]): void {
  const seen = new Set<number>();
  for (const e of events) {
    if (!(e.createdAt instanceof PyFloat) || !Number.isFinite(e.createdAt.value)) continue;
    if (seen.has(e.createdAt.value)) throw new Error(`session ${sid}: NaN created_at together with a created_at tie has no defined upstream result`);
    seen.add(e.createdAt.value);
  }
}

function truncateTitle(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  const chars = [...one];
  return chars.length > 60 ? chars.slice(0, 57).join('') + '…' : one;
}

function hasHostile(s: string): boolean {
  return /<script|onerror=|javascript:/i.test(s);
}

function hasUnicode(s: string): boolean {
  // emoji, CJK, Arabic/Hebrew
  return /[\u{1F300}-\u{1FAFF}\u{2600}-\u{27BF}\u3040-\u30ff\u4e00-\u9fff\u0590-\u06ff]/u.test(s);
}

/** Cut a serialised line mid-JSON at a character boundary (30%..85% of its length). */
function cutLine(text: string, rng: Rng): string {
  let p = rng.int(Math.floor(text.length * 0.3), Math.floor(text.length * 0.85));
  const c = text.charCodeAt(p - 1);
  if (c >= 0xd800 && c <= 0xdbff) p--;
  const cut = text.slice(0, p);
  if (pyIsBlank(cut)) throw new Error('cut produced a blank fragment');
  return cut;
}

/** UTF-8 bytes of `text` with an invalid sequence placed inside the stream_id value. */
function corruptUtf8(text: string, rng: Rng): Buffer {
  const buf = Buffer.from(text, 'utf8');
  const marker = Buffer.from('"stream_id":"', 'utf8');
  const at = buf.indexOf(marker);
  if (at < 0) throw new Error('no stream_id to corrupt');
  const pos = at + marker.length + rng.int(2, 20);
  const bad = rng.pick([Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xe2, 0x82]), Buffer.from([0xed, 0xa0, 0x80])]);
  return Buffer.concat([buf.subarray(0, pos), bad, buf.subarray(pos)]);
}

// ───────────────────────── random sessions folder ─────────────────────────

export interface GenerateOptions {
  seed?: number;
  /** Number of sessions (default 12; raised if the anomalies need more). */
  sessions?: number;
  /** Turns per session: a number or an inclusive [min, max] range (default [3, 8]). */
  turnsPerSession?: number | [number, number];
  /** Pid shards per session, inclusive range (default [2, 4]). */
  pidsPerSession?: [number, number];
  /** 'all' (default: every kind once), 'none', or exact counts per kind (missing kinds = 0). */
  anomalies?: 'all' | 'none' | Partial<Record<AnomalyKind, number>>;
  /** Sessions kept free of any anomaly (default: a quarter of the sessions, at least 1). */
  healthySessions?: number;
  now?: number;
  writeIndex?: boolean;
}

/** Counts with every anomaly kind set to `n` (spread and override: `{...everyAnomaly(1), glued: 3}`). */
export function everyAnomaly(n = 1): Record<AnomalyKind, number> {
  return Object.fromEntries(ALL_ANOMALIES.map((k) => [k, n])) as Record<AnomalyKind, number>;
}

interface ConvPair {
  user: string;
  assistant: string;
}

const CONVERSATIONS: readonly ConvPair[] = [
  { user: 'How do I reverse a list in Python without modifying the original?', assistant: 'Use slicing: `reversed_items = items[::-1]`. It returns a new list and leaves `items` untouched.' },
  { user: 'Why does my bash loop stop after the first file?', assistant: 'Probably `ssh` or another command reads stdin. Use `while read -r f; do …; done < <(find . -name "*.log")` and add `-n` to ssh.' },
  { user: 'What is a good 3-day itinerary for Porto?', assistant: 'Day 1: Ribeira and a Douro river cruise. Day 2: Livraria Lello, Clérigos tower, Bolhão market. Day 3: port cellars in Gaia and sunset at Jardim do Morro.' },
  { user: 'Give me a quick weeknight pasta with spinach.', assistant: 'Cook penne, sauté garlic in olive oil, wilt 200 g spinach, add a splash of pasta water, parmesan and lemon zest. 20 minutes total.' },
  { user: 'Explain the difference between TCP and UDP in two sentences.', assistant: 'TCP is connection-oriented and guarantees ordered, reliable delivery. UDP just sends datagrams: faster, no guarantees.' },
  { user: 'Wie konvertiere ich ein Datum in ISO 8601 mit JavaScript?', assistant: 'Mit `new Date().toISOString()` bekommst du z. B. `2025-11-20T18:00:00.000Z` (immer UTC).' },
  { user: '¿Cuánto tiempo hay que hervir un huevo para que quede mollet?', assistant: 'Unos 6 minutos y medio desde que el agua hierve, luego agua con hielo 2 minutos.' },
  { user: 'Comment lister les conteneurs Docker arrêtés ?', assistant: '`docker ps -a --filter "status=exited"` — ajoute `-q` pour n’avoir que les identifiants.' },
  { user: 'Write a regex that matches a US ZIP code.', assistant: 'Try `^\\d{5}(?:-\\d{4})?$` — five digits, optionally a dash and four more.' },
  { user: 'My SQL query with GROUP BY says "column must appear in the GROUP BY clause".', assistant: 'Every selected column must be aggregated or grouped. Add it to `GROUP BY` or wrap it, e.g. `MAX(created_at)`.' },
  { user: 'Is it worth taking the train from Paris to Barcelona?', assistant: 'Yes: the direct TGV takes about 6h30, city centre to city centre, and the views after Perpignan are lovely.' },
  { user: 'How long should I rest a steak after grilling?', assistant: 'About 5 minutes for a thin steak, up to 10 for a thick one, loosely covered with foil.' },
];

const UNICODE_SNIPPETS: readonly string[] = [
  'Can you translate "good morning" to Japanese? おはようございます 🌅',
  '帮我写一个 Python 函数，计算斐波那契数列 🐍',
  'ما هي عاصمة المغرب؟ وأريد خطة رحلة لثلاثة أيام 🇲🇦',
  'תוכל להסביר מה ההבדל בין let ל-const? 🙏',
  'Family emoji test 👩‍👩‍👧‍👦 and flags 🇯🇵🇧🇷, combining: é vs é',
];

const HOSTILE_SNIPPETS: readonly string[] = [
  'Why does <script>alert(1)</script> run when I paste it into my blog?',
  'Is <img src=x onerror=alert(1)> dangerous in an email?',
  'My markdown has [click me](javascript:alert(document.cookie)) — is that safe?',
  '# Heading\n\n**bold** _italic_ `code` <b>html</b>\n\n```js\nconsole.log("</textarea>")\n```\n| a | b |\n|---|---|',
];

const SEPARATOR_SNIPPETS: readonly string[] = [
  'First line\u2028second line (U+2028) — is that a newline?',
  'Paragraph one\u2029Paragraph two (U+2029)',
  'Legacy NEL\u0085next line (U+0085) from an old mainframe export',
];

/**
 * Generate a seeded random sessions folder with planted anomalies (default: every kind
 * once) and return the ground-truth manifest. Same seed + options => byte-identical files.
 */
export function generateSessionsFolder(dir: string, opts: GenerateOptions = {}): FixtureManifest {
  const seed = opts.seed ?? 1;
  const rng = new Rng(seed).fork('generate');
  const counts: Partial<Record<AnomalyKind, number>> =
    opts.anomalies === 'none' ? {} : opts.anomalies === undefined || opts.anomalies === 'all' ? everyAnomaly(1) : opts.anomalies;
  const tps = opts.turnsPerSession ?? [3, 8];
  const [tMin, tMax] = typeof tps === 'number' ? [tps, tps] : tps;
  const [pMin, pMax] = opts.pidsPerSession ?? [2, 4];
  let nSessions = Math.max(1, opts.sessions ?? 12);
  const healthy = Math.min(opts.healthySessions ?? Math.max(1, Math.floor(nSessions / 4)), nSessions);

  interface Slot {
    spec: SessionSpec;
    poisoned: boolean;
    hasNonFinite: boolean;
    hasTie: boolean;
    lastReserved: boolean;
  }
  const usedIds = new Set<string>();
  const newId = (): string => {
    for (;;) {
      const id = rng.hex(12);
      if (!usedIds.has(id)) {
        usedIds.add(id);
        return id;
      }
    }
  };
  let convCursor = rng.int(0, CONVERSATIONS.length - 1);
  const plainTurn = (): TurnSpec => {
    const c = CONVERSATIONS[convCursor++ % CONVERSATIONS.length];
    return { user: c.user, assistant: c.assistant };
  };
  const makeSlot = (): Slot => {
    const pids: number[] = [];
    const nP = rng.int(pMin, pMax);
    while (pids.length < nP) {
      const p = rng.int(1200, 98000);
      if (!pids.includes(p)) pids.push(p);
    }
    return { spec: { id: newId(), pids, turns: Array.from({ length: rng.int(tMin, tMax) }, plainTurn), quirks: {} }, poisoned: false, hasNonFinite: false, hasTie: false, lastReserved: false };
  };
  const slots: Slot[] = Array.from({ length: nSessions }, makeSlot);
  const healthySlots = new Set(slots.slice(0, healthy));

  const eligible = (pred: (s: Slot) => boolean): Slot => {
    let c = slots.filter((s) => !healthySlots.has(s) && !s.poisoned && pred(s));
    if (!c.length) {
      const s = makeSlot();
      slots.push(s);
      nSessions++;
      c = [s];
    }
    return rng.pick(c);
  };
  const freeTurn = (slot: Slot, last = false): TurnSpec => {
    const turns = slot.spec.turns;
    if (last) {
      if (slot.lastReserved) throw new Error('internal: last turn already reserved');
      slot.lastReserved = true;
      const t = turns[turns.length - 1];
      if (t.fate || t.quirks?.length) {
        const fresh = plainTurn();
        turns.push(fresh);
        return fresh;
      }
      return t;
    }
    const limit = slot.lastReserved ? turns.length - 1 : turns.length;
    const free = turns.slice(0, limit).filter((t) => !t.fate && !t.quirks?.length);
    if (free.length) return rng.pick(free);
    const fresh = plainTurn();
    turns.splice(limit, 0, fresh);
    return fresh;
  };

  // session-poisoning kinds first (they want a session of their own), then last-turn kinds
  const priority = (k: AnomalyKind): number => (k === 'invalid_utf8' || k === 'string_created_at' ? 0 : k === 'live' || k === 'stale_pending' ? 1 : 2);
  const order = ALL_ANOMALIES.filter((k) => (counts[k] ?? 0) > 0).sort((a, b) => priority(a) - priority(b));
  let nonFiniteCycle = 0;
  const invalidNameFiles: string[] = [];
  for (const kind of order) {
    for (let c = 0; c < (counts[kind] ?? 0); c++) {
      switch (kind) {
        case 'invalid_utf8':
        case 'string_created_at': {
          // these make upstream raise for the whole session: give them a session of their own
          const fresh = slots.filter((s) => !healthySlots.has(s) && !s.poisoned && !s.lastReserved && s.spec.turns.every((t) => !t.fate && !t.quirks?.length) && !Object.keys(s.spec.quirks ?? {}).length);
          let slot: Slot;
          if (fresh.length) slot = rng.pick(fresh);
          else {
            slot = makeSlot();
            slots.push(slot);
            nSessions++;
          }
          slot.poisoned = true;
          const t = rng.pick(slot.spec.turns);
          t.quirks = [kind];
          break;
        }
        case 'live':
        case 'stale_pending': {
          const slot = eligible((s) => !s.lastReserved);
          const t = freeTurn(slot, true);
          t.fate = kind === 'live' ? { kind: 'live', after: rng.pick(['submitted', 'worker_started', 'assistant_started'] as const) } : { kind: 'dangling', after: 'worker_started', stalePending: true };
          break;
        }
        case 'non_finite_created_at': {
          const slot = eligible((s) => !s.hasTie);
          slot.hasNonFinite = true;
          freeTurn(slot).fate = { kind: 'non_finite', value: (['NaN', 'Infinity', '-Infinity'] as const)[nonFiniteCycle++ % 3] };
          break;
        }
        case 'collision_tie': {
          const slot = eligible((s) => !s.hasNonFinite);
          slot.hasTie = true;
          freeTurn(slot).fate = { kind: 'collision', tie: true, crossShard: true, reason: rng.pick(KNOWN_REASONS) };
          break;
        }
        case 'collision':
          freeTurn(eligible(() => true)).fate = { kind: 'collision', first: rng.pick(['completed', 'interrupted'] as const), crossShard: rng.chance(0.7), reason: rng.pick(KNOWN_REASONS) };
          break;
        case 'interrupted':
          freeTurn(eligible(() => true)).fate = { kind: 'interrupted', reason: rng.pick(KNOWN_REASONS), after: rng.pick(['submitted', 'worker_started', 'assistant_started'] as const) };
          break;
        case 'unknown_reason':
          freeTurn(eligible(() => true)).fate = { kind: 'interrupted', reason: rng.pick(UNKNOWN_REASONS), after: 'worker_started' };
          break;
        case 'dangling':
          freeTurn(eligible(() => true)).fate = { kind: 'dangling', after: rng.pick(['submitted', 'worker_started', 'assistant_started'] as const) };
          break;
        case 'orphan':
          freeTurn(eligible(() => true)).fate = { kind: 'orphan' };
          break;
        case 'null_assistant_index':
          freeTurn(eligible(() => true)).fate = { kind: 'completed', nullAssistantIndex: true };
          break;
        case 'out_of_order':
        case 'torn_tail':
        case 'glued':
        case 'no_turn_id':
        case 'empty_turn_id':
          freeTurn(eligible(() => true)).quirks = [kind];
          break;
        case 'line_separators': {
          const t = freeTurn(eligible(() => true));
          t.user = rng.pick(SEPARATOR_SNIPPETS);
          t.assistant = 'Those are Unicode line/paragraph separators:\u2028they are valid inside JSON strings.';
          t.fate = { kind: 'completed' };
          break;
        }
        case 'unicode_content': {
          const t = freeTurn(eligible(() => true));
          t.user = rng.pick(UNICODE_SNIPPETS);
          t.assistant = 'Sure! 当然 ✅ — بالتأكيد — בטח 👍';
          t.fate = { kind: 'completed' };
          break;
        }
        case 'hostile_content': {
          const t = freeTurn(eligible(() => true));
          t.user = rng.pick(HOSTILE_SNIPPETS);
          t.assistant = 'Treat it as untrusted input: escape `<`, `>` and `&`, and never allow `javascript:` URLs. Example: <script>alert("xss")</script> must render as text.';
          t.fate = { kind: 'completed' };
          break;
        }
        case 'legacy': {
          const slot = eligible((s) => !s.spec.quirks?.legacyTurns && s.spec.turns.length >= 2);
          slot.spec.quirks!.legacyTurns = Math.min(2, slot.spec.turns.length - 1);
          break;
        }
        case 'crlf':
          eligible((s) => !s.spec.quirks?.crlf).spec.quirks!.crlf = true;
          break;
        case 'bom':
          eligible((s) => !s.spec.quirks?.bom).spec.quirks!.bom = true;
          break;
        case 'empty_shard':
          eligible((s) => !s.spec.quirks?.emptyShard).spec.quirks!.emptyShard = true;
          break;
        case 'blank_lines': {
          const q = eligible(() => true).spec.quirks!;
          q.blankLines = (q.blankLines ?? 0) + 3;
          break;
        }
        case 'not_json':
        case 'nul_bytes':
        case 'json_array':
        case 'json_number':
        case 'json_string':
        case 'json_null': {
          const q = eligible(() => true).spec.quirks!;
          (q.garbage ??= []).push(kind);
          break;
        }
        case 'invalid_name_file': {
          const k = invalidNameFiles.length;
          invalidNameFiles.push(k < INVALID_NAME_FILES.length ? INVALID_NAME_FILES[k] : `bad name ${k}!.jsonl`);
          break;
        }
      }
    }
  }
  return writeSessionsFolder(
    dir,
    slots.map((s) => s.spec),
    { seed, now: opts.now, invalidNameFiles, writeIndex: opts.writeIndex },
  );
}

// ───────────────────────── large folders (benchmarks) ─────────────────────────

/** 64 user messages of ~`chars` characters (mixed scripts), with their escaped JSON form. */
function contentPool(chars: number): { raw: string; esc: string }[] {
  const contentChars = Math.max(10, chars);
  const seedTexts = [...CONVERSATIONS.map((c) => c.user), ...UNICODE_SNIPPETS];
  const pool: { raw: string; esc: string }[] = [];
  for (let i = 0; i < 64; i++) {
    let s = '';
    while (s.length < contentChars) s += (s ? ' ' : '') + seedTexts[(i + s.length) % seedTexts.length];
    s = [...s].slice(0, contentChars).join('');
    if (LONE_SURROGATE_RE.test(s)) s = s.slice(0, -1);
    pool.push({ raw: s, esc: pyJsonString(s) });
  }
  return pool;
}

/** Bytes of one 4-event turn apart from the content (measured on the line templates below). */
const TURN_ENVELOPE_BYTES = 940;

export interface LargeFolderOptions {
  sessions: number;
  eventsPerSession: number;
  /** Pid shards per session (default 3). */
  shardsPerSession?: number;
  /** Approximate size of each user message in characters (default 120). */
  contentChars?: number;
  seed?: number;
  now?: number;
  /** Write `<sid>.json` sidecars and `_index.json` (default true). */
  sidecars?: boolean;
  /** Every N-th line written in the folder is followed by a garbage line (default 0 = never). */
  malformedEvery?: number;
  /** Per-file write buffer in bytes (default 4 MiB). */
  bufferBytes?: number;
}

export interface LargeFolderManifest {
  sessionsDir: string;
  journalDir: string;
  sessionIds: string[];
  shards: number;
  /** Valid events written (exactly sessions * eventsPerSession). */
  events: number;
  malformedLines: number;
  /** Bytes written to `_turn_journal/`. */
  bytes: number;
  turns: number;
  /** Latest-state counts over all turns. */
  completed: number;
  interrupted: number;
  /** Last turn of a session when eventsPerSession is not a multiple of 4. */
  dangling: number;
  elapsedMs: number;
}

/**
 * Fast streaming writer: `sessions` sessions of exactly `eventsPerSession` valid events each
 * (turns of 4 events: submitted, worker_started, assistant_started, then completed — every
 * 10th turn `interrupted` instead), spread over `shardsPerSession` pid shards per session.
 * Lines are serialised exactly like upstream. ~1M events / 260 MB take a few seconds.
 */
export function generateLargeFolder(dir: string, opts: LargeFolderOptions): LargeFolderManifest {
  const started = process.hrtime.bigint();
  const rng = new Rng(opts.seed ?? 7).fork('large');
  const now = opts.now ?? FIXED_NOW;
  const nShards = Math.max(1, opts.shardsPerSession ?? 3);
  const bufferBytes = opts.bufferBytes ?? 4 * 1024 * 1024;
  const sessionsDir = path.resolve(dir);
  const journalDir = path.join(sessionsDir, JOURNAL_DIR_NAME);
  fs.mkdirSync(journalDir, { recursive: true });
  const writeSidecars = opts.sidecars !== false;

  const pool = contentPool(opts.contentChars ?? 120);
  const replyRaw = 'Here is a concise answer with the key steps and one example.';

  const m: LargeFolderManifest = {
    sessionsDir,
    journalDir,
    sessionIds: [],
    shards: 0,
    events: 0,
    malformedLines: 0,
    bytes: 0,
    turns: 0,
    completed: 0,
    interrupted: 0,
    dangling: 0,
    elapsedMs: 0,
  };
  const index: Map<string, PyJsonValue>[] = [];

  // Lines written so far in the whole folder (malformedEvery counts across sessions).
  let lineNo = 0;
  for (let si = 0; si < opts.sessions; si++) {
    const sid = rng.hex(12);
    m.sessionIds.push(sid);
    const [model, provider] = MODELS[si % MODELS.length];
    const head = `,"version":1,"session_id":"${sid}","turn_id":"`;
    const files: { fd: number; chunks: string[]; size: number }[] = [];
    const usedPids = new Set<number>();
    for (let k = 0; k < nShards; k++) {
      let pid = rng.int(1200, 98000);
      while (usedPids.has(pid)) pid = rng.int(1200, 98000);
      usedPids.add(pid);
      files.push({ fd: fs.openSync(path.join(journalDir, shardFileName(sid, pid)), 'w'), chunks: [], size: 0 });
    }
    m.shards += nShards;
    const put = (f: (typeof files)[number], s: string): void => {
      f.chunks.push(s);
      f.size += s.length;
      m.events++;
      lineNo++;
      if (opts.malformedEvery && lineNo % opts.malformedEvery === 0) {
        const g = '{"event":"completed","stream_id":\n';
        f.chunks.push(g);
        f.size += g.length;
        m.malformedLines++;
      }
      if (f.size >= bufferBytes) flush(f);
    };
    const flush = (f: (typeof files)[number]): void => {
      if (!f.chunks.length) return;
      const buf = Buffer.from(f.chunks.join(''), 'utf8');
      let off = 0;
      while (off < buf.length) off += fs.writeSync(f.fd, buf, off, buf.length - off);
      m.bytes += buf.length;
      f.chunks = [];
      f.size = 0;
    };
    const totalTurns = Math.ceil(opts.eventsPerSession / 4);
    let t = now - 86400 * 30 + rng.float(0, 86400 * 5);
    const step = Math.min(600, (86400 * 20) / Math.max(1, totalTurns));
    const messages: Map<string, PyJsonValue>[] = [];
    let remaining = opts.eventsPerSession;
    for (let ti = 0; ti < totalTurns; ti++) {
      const f = files[ti % nShards];
      const turnId = `${utcStamp(t)}-${rng.hex(12)}`;
      const stream = rng.hex(32);
      const c = pool[(ti + si) % pool.length];
      const tail = `${head}${turnId}","created_at":`;
      const n = Math.min(4, remaining);
      remaining -= n;
      const tW = t + 0.1 + rng.next() * 0.2;
      const tA = tW + 1 + rng.next() * 20;
      const tC = tA + 0.01 + rng.next() * 0.2;
      const interrupted = ti % 10 === 9;
      const ai = messages.length + 1;
      put(f, `{"event":"submitted","stream_id":"${stream}","role":"user","content":${c.esc},"attachments":[],"workspace":"/srv/bench","model":"${model}","model_provider":"${provider}"${tail}${pyFloatRepr(t)}}\n`);
      if (n > 1) put(f, `{"event":"worker_started","stream_id":"${stream}"${tail}${pyFloatRepr(tW)}}\n`);
      if (n > 2) put(f, `{"event":"assistant_started","stream_id":"${stream}","assistant_message_index":${ai}${tail}${pyFloatRepr(tA)}}\n`);
      if (n > 3) {
        if (interrupted) put(f, `{"event":"interrupted","stream_id":"${stream}","reason":"${KNOWN_REASONS[ti % KNOWN_REASONS.length]}"${tail}${pyFloatRepr(tC)},"terminal":true}\n`);
        else put(f, `{"event":"completed","stream_id":"${stream}","assistant_message_index":${ai}${tail}${pyFloatRepr(tC)},"terminal":true}\n`);
      }
      m.turns++;
      if (n < 4) m.dangling++;
      else if (interrupted) m.interrupted++;
      else m.completed++;
      if (writeSidecars && n === 4) {
        messages.push(new Map<string, PyJsonValue>([['role', 'user'], ['content', c.raw], ['timestamp', Math.floor(t)]]));
        if (!interrupted) messages.push(new Map<string, PyJsonValue>([['role', 'assistant'], ['content', replyRaw], ['timestamp', Math.floor(tA)]]));
      }
      t = tC + step * (0.5 + rng.next());
    }
    for (const f of files) {
      flush(f);
      fs.closeSync(f.fd);
    }
    if (writeSidecars) {
      const side = new Map<string, PyJsonValue>([
        ['session_id', sid],
        ['title', `Benchmark session ${si + 1}`],
        ['workspace', '/srv/bench'],
        ['model', model],
        ['model_provider', provider],
        ['created_at', new PyFloat(now - 86400 * 31)],
        ['updated_at', new PyFloat(t)],
        ['active_stream_id', null],
        ['pending_user_message', null],
        ['pending_started_at', null],
        ['message_count', messages.length],
        ['messages', messages],
      ]);
      fs.writeFileSync(path.join(sessionsDir, `${sid}.json`), pyJsonDumps(side, { indent: 2 }));
      index.push(new Map<string, PyJsonValue>([
        ['session_id', sid],
        ['title', `Benchmark session ${si + 1}`],
        ['model', model],
        ['model_provider', provider],
        ['message_count', messages.length],
        ['updated_at', new PyFloat(t)],
        ['active_stream_id', null],
      ]));
    }
  }
  if (writeSidecars) fs.writeFileSync(path.join(sessionsDir, '_index.json'), pyJsonDumps(index, { indent: 2 }));
  m.elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  return m;
}

/** One session of roughly `bytes` journal bytes (default ~100 MB), for worst-case single-session benchmarks. */
export function generateLargeSession(
  dir: string,
  opts: { bytes?: number; shards?: number; seed?: number; now?: number; sidecars?: boolean; contentChars?: number } = {},
): LargeFolderManifest {
  const target = opts.bytes ?? 100 * 1024 * 1024;
  const contentChars = opts.contentChars ?? 400;
  const pool = contentPool(contentChars);
  const avgContent = pool.reduce((n, c) => n + Buffer.byteLength(c.esc), 0) / pool.length;
  const perEvent = (avgContent + TURN_ENVELOPE_BYTES) / 4;
  return generateLargeFolder(dir, {
    sessions: 1,
    eventsPerSession: Math.max(4, Math.ceil(target / perEvent)),
    shardsPerSession: opts.shards ?? 4,
    contentChars,
    seed: opts.seed,
    now: opts.now,
    sidecars: opts.sidecars ?? false,
  });
}
