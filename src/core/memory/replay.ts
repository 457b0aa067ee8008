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
  const memories = new Map<string, ProjectedMemory>();
  const findings: MemoryFinding[] = [];
  const kinds: Record<string, number> = {};
  const unknownKinds = new Map<string, { count: number; first: LedgerEvent }>();
  const ignored = kindMatcher(o.settings.ignoreKinds);
  const known = new Set<string>(MEMORY_KINDS);
  const keys = o.settings.payloadKeys ?? {};
  const usedKeys: Partial<PayloadKeys> = {};
  const { pinCap, autoPinScore } = o.limits;
  /** Pinned memory keys per owner. */
  const pins = new Map<string, Set<string>>();
  let pending: PendingCap | null = null;
  /** Memories scored at or above the threshold and not auto-pinned since. */
  const awaitingPin = new Map<string, LedgerEvent>();
  let ownerless = 0;

  const add = (kind: FindingKind, severity: Severity, message: string, ev?: LedgerEvent, memory?: string, bot?: string) => {
    const f: MemoryFinding = { kind, severity, sessionId: bot ?? o.label, message };
    if (memory !== undefined) f.memoryId = memory;
    if (ev) {
      if (ev.id !== null) f.eventId = ev.id;
      f.eventSeq = ev.seq;
      if (ev.line !== undefined && o.shard !== undefined) {
        f.shard = o.shard;
        f.line = ev.line;
      }
    }
    findings.push(f);
  };
  const evName = (ev: LedgerEvent) => `event ${ev.id ?? `#${ev.seq + 1}`}`;
  const cands = Object.fromEntries((Object.keys(CANDIDATES.payloadKeys) as (keyof PayloadKeys)[]).map((k) => [k, candidatesFor(keys[k], CANDIDATES.payloadKeys[k])])) as Record<keyof PayloadKeys, string[]>;
  const payloadKey = (k: keyof PayloadKeys, p: Record<string, unknown>): string | undefined => {
    for (const c of cands[k]) {
      if (Object.prototype.hasOwnProperty.call(p, c)) {
        if (usedKeys[k] === undefined) usedKeys[k] = c;
        return c;
      }
    }
    return undefined;
  };
  const get = (k: keyof PayloadKeys, p: Record<string, unknown>): unknown => {
    const key = payloadKey(k, p);
    return key === undefined ? undefined : p[key];
  };
  const pinSet = (owner: string) => {
    let s = pins.get(owner);
    if (!s) pins.set(owner, (s = new Set()));
    return s;
  };
  const orderKey = (m: ProjectedMemory) => {
    const l = o.live?.get(m.key);
    return l && l.createdAt !== undefined ? l.createdAt : m.createdAt;
  };
  const closePending = () => {
    if (!pending) return;
    const p = pending;
    pending = null;
    add(
      'pin_cap_exceeded',
      'error',
      `bot "${p.owner}" has ${p.count} pins (cap ${pinCap}) after ${evName(p.ev)} auto-pinned memory ${p.pinnedKey}, and the oldest auto-pin (memory ${p.expected}) was not unpinned`,
      p.ev,
      p.pinnedKey,
      p.owner,
    );
  };

  for (const ev of events) {
    kinds[ev.kind] = (kinds[ev.kind] ?? 0) + 1;
    if (!known.has(ev.kind)) {
      if (!ignored(ev.kind)) {
        const u = unknownKinds.get(ev.kind);
        if (u) u.count++;
        else unknownKinds.set(ev.kind, { count: 1, first: ev });
      }
      continue;
    }
    const p = ev.payload;
    if (ev.payloadError !== undefined || typeof p !== 'object' || p === null || Array.isArray(p)) {
      add('invalid_event_payload', 'error', `${evName(ev)} (${ev.kind}): ${ev.payloadError ?? `payload is ${Array.isArray(p) ? 'an array' : describe(p)}, not a JSON object`}`, ev);
      continue;
    }
    const payload = p as Record<string, unknown>;
    const idRaw = get('memoryId', payload);
    const key = memoryKey(idRaw);
    if (key === null) {
      add('invalid_event_payload', 'error', `${evName(ev)} (${ev.kind}): memory id is ${describe(idRaw)}, expected an integer or a non-empty string`, ev);
      continue;
    }

    if (ev.kind === 'memory_written') {
      if (memories.has(key)) {
        add('duplicate_memory_written', 'warning', `${evName(ev)} writes memory ${key} again (first written by event seq ${memories.get(key)!.writtenSeq + 1}); the second write is ignored`, ev, key, memories.get(key)!.owner);
        memories.get(key)!.history.push(ev.seq);
        continue;
      }
      const ownerRaw = get('owner', payload);
      const liveRow = o.live?.get(key);
      let owner: string;
      let ownerFrom: ProjectedMemory['ownerFrom'];
      if (typeof ownerRaw === 'string' || typeof ownerRaw === 'number') {
        owner = String(ownerRaw);
        ownerFrom = 'payload';
      } else if (liveRow?.owner != null) {
        owner = liveRow.owner;
        ownerFrom = 'table';
        ownerless++;
      } else {
        owner = '(unknown bot)';
        ownerFrom = 'unknown';
        ownerless++;
      }
      const textRaw = get('text', payload);
      const sig = get('significance', payload);
      const pin = flag(get('pinned', payload));
      const auto = flag(get('autoPinned', payload));
      const at = get('createdAt', payload);
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
      memories.set(key, m);
      if (m.pinned) pinSet(owner).add(key);
      continue;
    }

    const m = memories.get(key);
    if (!m) {
      add('unknown_memory_event', 'error', `${evName(ev)} (${ev.kind}) is about memory ${key}, which no earlier memory_written event created; the event is ignored`, ev, key);
      continue;
    }
    m.history.push(ev.seq);

    if (ev.kind === 'memory_significance_set') {
      const sig = get('significance', payload);
      if (typeof sig !== 'number' || !Number.isFinite(sig)) {
        add('invalid_event_payload', 'error', `${evName(ev)} (memory_significance_set): significance is ${describe(sig)}, expected a number`, ev, key, m.owner);
        continue;
      }
      // The worker moved on to its next job: the previous step did not evict.
      closePending();
      const prev = awaitingPin.get(key);
      if (prev) notPinned(prev, m);
      m.significance = sig;
      if (sig >= autoPinScore) awaitingPin.set(key, ev);
      else awaitingPin.delete(key);
      continue;
    }

    // memory_pin_changed
    const pinnedRaw = get('pinned', payload);
    const autoRaw = get('autoPinned', payload);
    const pinned = flag(pinnedRaw);
    let auto = flag(autoRaw);
    if (pinned === undefined) {
      add('invalid_event_payload', 'error', `${evName(ev)} (memory_pin_changed): pinned is ${describe(pinnedRaw)}, expected 0/1 or true/false`, ev, key, m.owner);
      continue;
    }
    if (auto === undefined) {
      add('invalid_event_payload', autoRaw === undefined ? 'warning' : 'error', `${evName(ev)} (memory_pin_changed): auto_pinned is ${describe(autoRaw)}, expected 0/1 or true/false; taken as 0`, ev, key, m.owner);
      auto = false;
    }
    if (!pinned && auto) add('invalid_event_payload', 'warning', `${evName(ev)} unpins memory ${key} but sets auto_pinned = 1 (an unpinned memory is neither manual nor auto)`, ev, key, m.owner);
    const set = pinSet(m.owner);

    if (pinned && auto) {
      // A worker auto-pin: a new step begins.
      closePending();
      awaitingPin.delete(key);
      if (m.significance === null || m.significance < autoPinScore) {
        add('auto_pin_below_threshold', 'warning', `${evName(ev)} auto-pins memory ${key} whose significance is ${m.significance ?? 'unset'} (auto-pins happen at ${autoPinScore})`, ev, key, m.owner);
      }
      m.pinned = true;
      m.autoPinned = true;
      set.add(key);
      if (set.size > pinCap) {
        let expected: ProjectedMemory | null = null;
        for (const k of set) {
          const c = memories.get(k)!;
          if (k === key || !c.autoPinned) continue;
          if (!expected || sqlCompare(orderKey(c), orderKey(expected)) < 0 || (sqlCompare(orderKey(c), orderKey(expected)) === 0 && sqlCompare(c.id, expected.id) < 0)) expected = c;
        }
        if (expected) pending = { owner: m.owner, pinnedKey: key, expected: expected.key, count: set.size, ev };
        else add('pin_cap_exceeded', 'info', `bot "${m.owner}" has ${set.size} pins (cap ${pinCap}) after ${evName(ev)} auto-pinned memory ${key}; every other pin is manual, and manual pins are never evicted (the cap is soft)`, ev, key, m.owner);
      }
      continue;
    }

    if (!pinned) {
      if (pending && pending.owner === m.owner) {
        const p: PendingCap = pending;
        pending = null;
        if (m.pinned && !m.autoPinned) {
          add('manual_pin_evicted', 'error', `${evName(ev)} evicted memory ${key}, a manual pin, when memory ${p.pinnedKey} was auto-pinned over the cap; manual pins are never evicted (expected memory ${p.expected})`, ev, key, m.owner);
        } else if (key !== p.expected) {
          const exp = memories.get(p.expected!)!;
          add(
            'wrong_pin_evicted',
            'error',
            `${evName(ev)} evicted memory ${key}${m.pinned ? ` (created ${describe(orderKey(m))})` : ' (not pinned)'} when memory ${p.pinnedKey} was auto-pinned over the cap; the oldest auto-pin is memory ${exp.key} (created ${describe(orderKey(exp))})`,
            ev,
            key,
            m.owner,
          );
        }
      }
      m.pinned = false;
      m.autoPinned = auto;
      set.delete(key);
      continue;
    }

    // A manual pin (request path).
    m.pinned = true;
    m.autoPinned = false;
    set.add(key);
  }
  closePending();
  for (const [key, ev] of awaitingPin) notPinned(ev, memories.get(key)!);

  for (const [kind, u] of unknownKinds) {
    add('unknown_event_kind', 'warning', `${u.count} event${u.count === 1 ? '' : 's'} of unknown kind ${describe(kind)} (first: ${evName(u.first)}); add the kind to botMemory.memory.ignoreKinds / --ignore-kind if it is not a memory event`, u.first);
  }
  if (ownerless > 0) {
    add('memory_owner_missing', 'info', `${ownerless} memory_written payload${ownerless === 1 ? '' : 's'} carried no owner (${candidatesFor(keys.owner, CANDIDATES.payloadKeys.owner).map((k) => `"${k}"`).join(', ')}); owners were taken from the memories table where it has the memory (set botMemory.memory.payloadKeys.owner)`);
  }
  return { memories, findings, kinds, payloadKeys: usedKeys };

  function notPinned(ev: LedgerEvent, m: ProjectedMemory): void {
    add('score_not_auto_pinned', 'error', `memory ${m.key} was scored ${describe((ev.payload as Record<string, unknown>)[payloadKey('significance', ev.payload as Record<string, unknown>) ?? 'significance'])} by ${evName(ev)} (auto-pin at ${autoPinScore}) and was never auto-pinned after it`, ev, m.key, m.owner);
  }
}
