/**
 * Replaying a bot's memory event log into a fresh projection, and checking the pin policy
 * over the whole history as it unfolds (upstream `_auto_pin_with_cap`, seed 001):
 *
 *   worker step for one memory:  memory_significance_set {memory_id, significance}
 *                                [score >= 3] memory_pin_changed {memory_id, pinned:1, auto_pinned:1}
 *                                [pins of the owner > 8] memory_pin_changed {oldest auto-pin, pinned:0, auto_pinned:0}
 *
 * The eviction is the owner's first unpin after an auto-pin that took it over the cap,
 * before the worker's next step (its next significance or auto-pin event). Request-path
 * events (memory_written, manual pins) may interleave and do not end the step.
 */

import type { Finding, FindingKind, Severity } from '../types';
import { kindMatcher, MEMORY_KINDS, CANDIDATES, candidatesFor, type MemoryLedgerSettings, type PayloadKeys, type ResolvedLimits } from './config';
import { memoryKey, type LedgerEvent, type LiveMemory } from './load';

/** A finding of the memory audit: the journal's Finding, with `sessionId` = the bot id (or the file name for file-level findings). */
export interface MemoryFinding extends Finding {
  memoryId?: string;
  /** The event's id as stored in the log. */
  eventId?: number | string;
  /** The event's position in the log (0-based). */
  eventSeq?: number;
}

export interface ProjectedMemory {
  key: string;
  id: number | string;
  owner: string;
  /** Where the owner came from: the memory_written payload, the memories table, or nowhere. */
  ownerFrom: 'payload' | 'table' | 'unknown';
  text: string | null;
  significance: number | null;
  pinned: boolean;
  autoPinned: boolean;
  createdAt: unknown;
  /** Seq of the memory_written event. */
  writtenSeq: number;
  /** Seqs of every event about this memory, in log order. */
  history: number[];
  /** Payload fields the memory_written event carried (compared with the table only when carried). */
  carried: { owner: boolean; text: boolean };
}

export interface Replay {
  memories: Map<string, ProjectedMemory>;
  findings: MemoryFinding[];
  /** Events per kind (unknown kinds included). */
  kinds: Record<string, number>;
  /** Which payload keys memory_written carried (first event that had each). */
  payloadKeys: Partial<PayloadKeys>;
}

type Flag = boolean | undefined;

function flag(v: unknown): Flag {
  if (v === true || v === 1) return true;
  if (v === false || v === 0) return false;
  return undefined;
}

/** SQLite's ORDER BY for mixed values: NULL < numbers < text < the rest. */
export function sqlCompare(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null || v === undefined ? 0 : typeof v === 'number' || typeof v === 'bigint' ? 1 : typeof v === 'string' ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) return Number(a) - Number(b);
  if (ra === 2) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  return 0;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 39) + '…' : s;
}

export interface ReplayOptions {
  label: string;
  /** The JSONL file name (findings then carry `shard` + `line`). */
  shard?: string;
  live: Map<string, LiveMemory> | null;
  limits: ResolvedLimits;
  settings: MemoryLedgerSettings;
}

interface PendingCap {
  owner: string;
  pinnedKey: string;
  /** The auto-pin upstream's query would evict (oldest by created_at, id), or null when every other pin is manual. */
  expected: string | null;
  count: number;
  ev: LedgerEvent;
}

export function replay(events: readonly LedgerEvent[], o: ReplayOptions): Replay {
  const r = new MemoryReplay(o);
  for (const ev of events) r.event(ev);
  return r.finish();
}

/**
 * One replay: `event` for each event in log order (counted, checked, then one of the steps
 * `written`, `significanceSet`, `autoPin`, `unpin`, `manualPin`), then `finish`.
 */
class MemoryReplay {
  private readonly memories = new Map<string, ProjectedMemory>();
  private readonly findings: MemoryFinding[] = [];
  private readonly kinds: Record<string, number> = {};
  private readonly unknownKinds = new Map<string, { count: number; first: LedgerEvent }>();
  private readonly ignored: (kind: string) => boolean;
  private readonly known = new Set<string>(MEMORY_KINDS);
  private readonly keys: Partial<PayloadKeys>;
  private readonly usedKeys: Partial<PayloadKeys> = {};
  private readonly cands: Record<keyof PayloadKeys, string[]>;
  private readonly pinCap: number;
  private readonly autoPinScore: number;
  /** Pinned memory keys per owner. */
  private readonly pins = new Map<string, Set<string>>();
  private pending: PendingCap | null = null;
  /** Memories scored at or above the threshold and not auto-pinned since. */
  private readonly awaitingPin = new Map<string, LedgerEvent>();
  private ownerless = 0;

  constructor(private readonly o: ReplayOptions) {
    this.ignored = kindMatcher(o.settings.ignoreKinds);
    this.keys = o.settings.payloadKeys ?? {};
    this.cands = Object.fromEntries(
      (Object.keys(CANDIDATES.payloadKeys) as (keyof PayloadKeys)[]).map((k) => [k, candidatesFor(this.keys[k], CANDIDATES.payloadKeys[k])]),
    ) as Record<keyof PayloadKeys, string[]>;
    this.pinCap = o.limits.pinCap;
    this.autoPinScore = o.limits.autoPinScore;
  }

  private add(kind: FindingKind, severity: Severity, message: string, ev?: LedgerEvent, memory?: string, bot?: string): void {
    const f: MemoryFinding = { kind, severity, sessionId: bot ?? this.o.label, message };
    if (memory !== undefined) f.memoryId = memory;
    if (ev) {
      if (ev.id !== null) f.eventId = ev.id;
      f.eventSeq = ev.seq;
      if (ev.line !== undefined && this.o.shard !== undefined) {
        f.shard = this.o.shard;
        f.line = ev.line;
      }
    }
    this.findings.push(f);
  }

  private payloadKey(k: keyof PayloadKeys, p: Record<string, unknown>): string | undefined {
    for (const c of this.cands[k]) {
      if (Object.prototype.hasOwnProperty.call(p, c)) {
        if (this.usedKeys[k] === undefined) this.usedKeys[k] = c;
        return c;
      }
    }
    return undefined;
  }

  private get(k: keyof PayloadKeys, p: Record<string, unknown>): unknown {
    const key = this.payloadKey(k, p);
    return key === undefined ? undefined : p[key];
  }

  private pinSet(owner: string): Set<string> {
    let s = this.pins.get(owner);
    if (!s) this.pins.set(owner, (s = new Set()));
    return s;
  }

  private orderKey(m: ProjectedMemory): unknown {
    const l = this.o.live?.get(m.key);
    return l && l.createdAt !== undefined ? l.createdAt : m.createdAt;
  }

  private closePending(): void {
    if (!this.pending) return;
    const p = this.pending;
    this.pending = null;
    this.add(
      'pin_cap_exceeded',
      'error',
      `bot "${p.owner}" has ${p.count} pins (cap ${this.pinCap}) after ${evName(p.ev)} auto-pinned memory ${p.pinnedKey}, and the oldest auto-pin (memory ${p.expected}) was not unpinned`,
      p.ev,
      p.pinnedKey,
      p.owner,
    );
  }

  /** One event: counted; unknown kinds tallied; a payload and memory id checked; then its step. */
  event(ev: LedgerEvent): void {
    this.kinds[ev.kind] = (this.kinds[ev.kind] ?? 0) + 1;
    if (!this.known.has(ev.kind)) {
      if (!this.ignored(ev.kind)) {
        const u = this.unknownKinds.get(ev.kind);
        if (u) u.count++;
        else this.unknownKinds.set(ev.kind, { count: 1, first: ev });
      }
      return;
    }
    const p = ev.payload;
    if (ev.payloadError !== undefined || typeof p !== 'object' || p === null || Array.isArray(p)) {
      this.add(
        'invalid_event_payload',
        'error',
        `${evName(ev)} (${ev.kind}): ${ev.payloadError ?? `payload is ${Array.isArray(p) ? 'an array' : describe(p)}, not a JSON object`}`,
        ev,
      );
      return;
    }
    const payload = p as Record<string, unknown>;
    const idRaw = this.get('memoryId', payload);
    const key = memoryKey(idRaw);
    if (key === null) {
      this.add('invalid_event_payload', 'error', `${evName(ev)} (${ev.kind}): memory id is ${describe(idRaw)}, expected an integer or a non-empty string`, ev);
      return;
    }
    if (ev.kind === 'memory_written') return this.written(ev, payload, key, idRaw);
    const m = this.memories.get(key);
    if (!m) {
      this.add(
        'unknown_memory_event',
        'error',
        `${evName(ev)} (${ev.kind}) is about memory ${key}, which no earlier memory_written event created; the event is ignored`,
        ev,
        key,
      );
      return;
    }
    m.history.push(ev.seq);
    if (ev.kind === 'memory_significance_set') this.significanceSet(ev, payload, m);
    else this.pinChanged(ev, payload, m);
  }

  /** memory_written: the memory is projected (a second write of the same id is reported and ignored). */
  private written(ev: LedgerEvent, payload: Record<string, unknown>, key: string, idRaw: unknown): void {
    const existing = this.memories.get(key);
    if (existing) {
      this.add(
        'duplicate_memory_written',
        'warning',
        `${evName(ev)} writes memory ${key} again (first written by event seq ${existing.writtenSeq + 1}); the second write is ignored`,
        ev,
        key,
        existing.owner,
      );
      existing.history.push(ev.seq);
      return;
    }
    const ownerRaw = this.get('owner', payload);
    const liveRow = this.o.live?.get(key);
    let owner: string;
    let ownerFrom: ProjectedMemory['ownerFrom'];
    if (typeof ownerRaw === 'string' || typeof ownerRaw === 'number') {
      owner = String(ownerRaw);
      ownerFrom = 'payload';
    } else if (liveRow?.owner != null) {
      owner = liveRow.owner;
      ownerFrom = 'table';
      this.ownerless++;
    } else {
      owner = '(unknown bot)';
      ownerFrom = 'unknown';
      this.ownerless++;
    }
    const textRaw = this.get('text', payload);
    const sig = this.get('significance', payload);
    const pin = flag(this.get('pinned', payload));
    const auto = flag(this.get('autoPinned', payload));
    const at = this.get('createdAt', payload);
    const m: ProjectedMemory = {
      key,
      id: idRaw as number | string,
      owner,
      ownerFrom,
      text: typeof textRaw === 'string' ? textRaw : null,
      significance: typeof sig === 'number' && Number.isFinite(sig) ? sig : null,
      pinned: pin ?? false,
      autoPinned: auto ?? false,
      createdAt: at !== undefined ? at : ev.createdAt,
      writtenSeq: ev.seq,
      history: [ev.seq],
      carried: { owner: ownerFrom === 'payload', text: typeof textRaw === 'string' },
    };
    this.memories.set(key, m);
    if (m.pinned) this.pinSet(owner).add(key);
  }

  /** memory_significance_set: the worker's next step (the previous one did not evict). */
  private significanceSet(ev: LedgerEvent, payload: Record<string, unknown>, m: ProjectedMemory): void {
    const sig = this.get('significance', payload);
    if (typeof sig !== 'number' || !Number.isFinite(sig)) {
      this.add(
        'invalid_event_payload',
        'error',
        `${evName(ev)} (memory_significance_set): significance is ${describe(sig)}, expected a number`,
        ev,
        m.key,
        m.owner,
      );
      return;
    }
    this.closePending();
    const prev = this.awaitingPin.get(m.key);
    if (prev) this.notPinned(prev, m);
    m.significance = sig;
    if (sig >= this.autoPinScore) this.awaitingPin.set(m.key, ev);
    else this.awaitingPin.delete(m.key);
  }

  /** memory_pin_changed: checked, then an auto-pin, an unpin or a manual pin. */
  private pinChanged(ev: LedgerEvent, payload: Record<string, unknown>, m: ProjectedMemory): void {
    const key = m.key;
    const pinnedRaw = this.get('pinned', payload);
    const autoRaw = this.get('autoPinned', payload);
    const pinned = flag(pinnedRaw);
    let auto = flag(autoRaw);
    if (pinned === undefined) {
      this.add(
        'invalid_event_payload',
        'error',
        `${evName(ev)} (memory_pin_changed): pinned is ${describe(pinnedRaw)}, expected 0/1 or true/false`,
        ev,
        key,
        m.owner,
      );
      return;
    }
    if (auto === undefined) {
      this.add(
        'invalid_event_payload',
        autoRaw === undefined ? 'warning' : 'error',
        `${evName(ev)} (memory_pin_changed): auto_pinned is ${describe(autoRaw)}, expected 0/1 or true/false; taken as 0`,
        ev,
        key,
        m.owner,
      );
      auto = false;
    }
    if (!pinned && auto)
      this.add(
        'invalid_event_payload',
        'warning',
        `${evName(ev)} unpins memory ${key} but sets auto_pinned = 1 (an unpinned memory is neither manual nor auto)`,
        ev,
        key,
        m.owner,
      );
    if (pinned && auto) this.autoPin(ev, m);
    else if (!pinned) this.unpin(ev, m, auto);
    else this.manualPin(m);
  }

  /** A worker auto-pin: a new step begins; over the cap, the oldest auto-pin must be evicted next. */
  private autoPin(ev: LedgerEvent, m: ProjectedMemory): void {
    const key = m.key;
    this.closePending();
    this.awaitingPin.delete(key);
    if (m.significance === null || m.significance < this.autoPinScore) {
      this.add(
        'auto_pin_below_threshold',
        'warning',
        `${evName(ev)} auto-pins memory ${key} whose significance is ${m.significance ?? 'unset'} (auto-pins happen at ${this.autoPinScore})`,
        ev,
        key,
        m.owner,
      );
    }
    m.pinned = true;
    m.autoPinned = true;
    const set = this.pinSet(m.owner);
    set.add(key);
    if (set.size <= this.pinCap) return;
    let expected: ProjectedMemory | null = null;
    for (const k of set) {
      const c = this.memories.get(k)!;
      if (k === key || !c.autoPinned) continue;
      const cmp = expected ? sqlCompare(this.orderKey(c), this.orderKey(expected)) : -1;
      if (!expected || cmp < 0 || (cmp === 0 && sqlCompare(c.id, expected.id) < 0)) expected = c;
    }
    if (expected) this.pending = { owner: m.owner, pinnedKey: key, expected: expected.key, count: set.size, ev };
    else
      this.add(
        'pin_cap_exceeded',
        'info',
        `bot "${m.owner}" has ${set.size} pins (cap ${this.pinCap}) after ${evName(ev)} auto-pinned memory ${key}; every other pin is manual, and manual pins are never evicted (the cap is soft)`,
        ev,
        key,
        m.owner,
      );
  }

  /** An unpin: when an auto-pin of its owner went over the cap, this is the eviction (checked). */
  private unpin(ev: LedgerEvent, m: ProjectedMemory, auto: boolean): void {
    const key = m.key;
    if (this.pending && this.pending.owner === m.owner) {
      const p: PendingCap = this.pending;
      this.pending = null;
      if (m.pinned && !m.autoPinned) {
        this.add(
          'manual_pin_evicted',
          'error',
          `${evName(ev)} evicted memory ${key}, a manual pin, when memory ${p.pinnedKey} was auto-pinned over the cap; manual pins are never evicted (expected memory ${p.expected})`,
          ev,
          key,
          m.owner,
        );
      } else if (key !== p.expected) {
        const exp = this.memories.get(p.expected!)!;
        this.add(
          'wrong_pin_evicted',
          'error',
          `${evName(ev)} evicted memory ${key}${m.pinned ? ` (created ${describe(this.orderKey(m))})` : ' (not pinned)'} when memory ${p.pinnedKey} was auto-pinned over the cap; the oldest auto-pin is memory ${exp.key} (created ${describe(this.orderKey(exp))})`,
          ev,
          key,
          m.owner,
        );
      }
    }
    m.pinned = false;
    m.autoPinned = auto;
    this.pinSet(m.owner).delete(key);
  }

  /** A manual pin (request path). */
  private manualPin(m: ProjectedMemory): void {
    m.pinned = true;
    m.autoPinned = false;
    this.pinSet(m.owner).add(m.key);
  }

  /** The last step's cap check, scores never auto-pinned, unknown kinds, ownerless writes. */
  finish(): Replay {
    this.closePending();
    for (const [key, ev] of this.awaitingPin) this.notPinned(ev, this.memories.get(key)!);
    for (const [kind, u] of this.unknownKinds) {
      this.add(
        'unknown_event_kind',
        'warning',
        `${u.count} event${u.count === 1 ? '' : 's'} of unknown kind ${describe(kind)} (first: ${evName(u.first)}); add the kind to botMemory.memory.ignoreKinds / --ignore-kind if it is not a memory event`,
        u.first,
      );
    }
    if (this.ownerless > 0) {
      const n = this.ownerless;
      this.add(
        'memory_owner_missing',
        'info',
        `${n} memory_written payload${n === 1 ? '' : 's'} carried no owner (${candidatesFor(this.keys.owner, CANDIDATES.payloadKeys.owner)
          .map((k) => `"${k}"`)
          .join(', ')}); owners were taken from the memories table where it has the memory (set botMemory.memory.payloadKeys.owner)`,
      );
    }
    return { memories: this.memories, findings: this.findings, kinds: this.kinds, payloadKeys: this.usedKeys };
  }

  private notPinned(ev: LedgerEvent, m: ProjectedMemory): void {
    const p = ev.payload as Record<string, unknown>;
    this.add(
      'score_not_auto_pinned',
      'error',
      `memory ${m.key} was scored ${describe(p[this.payloadKey('significance', p) ?? 'significance'])} by ${evName(ev)} (auto-pin at ${this.autoPinScore}) and was never auto-pinned after it`,
      ev,
      m.key,
      m.owner,
    );
  }
}

function evName(ev: LedgerEvent): string {
  return `event ${ev.id ?? `#${ev.seq + 1}`}`;
}
