/**
 * Settings of the memory ledger audit. The bot's public schema is unknown (FORMATS.md §4),
 * so every table, column and payload key is a setting. A setting left empty means "detect":
 * the first of a short list of likely names that exists is used; a setting given explicitly
 * is the only name tried. Missing required names fail with a message naming what was looked
 * for, where, and what exists (MemorySchemaError).
 */

export interface EventColumns {
  id: string;
  kind: string;
  payload: string;
  createdAt: string;
}

export interface MemoryColumns {
  id: string;
  owner: string;
  text: string;
  significance: string;
  pinned: string;
  autoPinned: string;
  createdAt: string;
}

export interface PayloadKeys {
  memoryId: string;
  owner: string;
  text: string;
  createdAt: string;
  significance: string;
  pinned: string;
  autoPinned: string;
}

/** What a user may set (VS Code `botMemory.memory.*`, CLI flags, or a `--config` JSON file). */
export interface MemoryLedgerSettings {
  eventsTable?: string;
  memoriesTable?: string;
  eventColumns?: Partial<EventColumns>;
  memoryColumns?: Partial<MemoryColumns>;
  payloadKeys?: Partial<PayloadKeys>;
  /** Soft cap of pins per bot (upstream `_auto_pin_with_cap(cap=8)`). */
  pinCap?: number;
  /** Significance that auto-pins (upstream `if score >= 3`). */
  autoPinScore?: number;
  /** Event kinds that are not memory events and are not reported as unknown (`*` wildcards). */
  ignoreKinds?: string[];
  /** Folder of periodic snapshots; default `<folder of the input>/snapshots`. */
  snapshotsDir?: string;
  /** Folder of nightly backups; default `<folder of the input>/backups`. */
  backupsDir?: string;
  /** Periodic snapshots kept (upstream `prune_periodic_snapshots(keep=5)`). */
  snapshotKeep?: number;
  /** Nightly backups kept (upstream `prune_backups(keep=14)`). */
  backupKeep?: number;
  /** The newest backup may be this old (the 03:00 nightly run with its 23 h guard, plus slack). */
  backupMaxAgeHours?: number;
  /** Minimum spacing of two backups (upstream's 23 h freshness guard). */
  backupMinSpacingHours?: number;
  /** The newest periodic snapshot may lag the newest event by this much. */
  snapshotMaxAgeHours?: number;
}

/** Likely names, tried in order when a setting is empty. */
export const CANDIDATES = {
  eventsTable: ['events', 'event_log', 'eventlog', 'memory_events'],
  memoriesTable: ['memories', 'memory'],
  eventColumns: {
    id: ['id', 'seq', 'event_id'],
    kind: ['kind', 'type', 'event_type'],
    payload: ['payload', 'payload_json', 'data'],
    createdAt: ['created_at', 'ts', 'timestamp'],
  } satisfies Record<keyof EventColumns, string[]>,
  memoryColumns: {
    id: ['id', 'memory_id'],
    // The upstream worker queries `memories.owner_id`.
    owner: ['owner_id', 'owner', 'bot_id', 'host_bot_id'],
    text: ['text', 'narrative_text', 'content', 'body'],
    significance: ['significance', 'score'],
    pinned: ['pinned'],
    autoPinned: ['auto_pinned'],
    createdAt: ['created_at'],
  } satisfies Record<keyof MemoryColumns, string[]>,
  payloadKeys: {
    memoryId: ['memory_id', 'id'],
    owner: ['owner_id', 'owner', 'host_bot_id', 'bot_id'],
    text: ['text', 'narrative_text', 'content'],
    createdAt: ['created_at'],
    significance: ['significance'],
    pinned: ['pinned'],
    autoPinned: ['auto_pinned'],
  } satisfies Record<keyof PayloadKeys, string[]>,
};

/** Columns the audit cannot do without; the others are used when present. */
export const REQUIRED_EVENT_COLUMNS: readonly (keyof EventColumns)[] = ['id', 'kind', 'payload'];
export const REQUIRED_MEMORY_COLUMNS: readonly (keyof MemoryColumns)[] = ['id', 'owner', 'pinned', 'autoPinned', 'significance'];

export const DEFAULTS = {
  pinCap: 8,
  autoPinScore: 3,
  snapshotKeep: 5,
  backupKeep: 14,
  backupMaxAgeHours: 26,
  backupMinSpacingHours: 23,
  snapshotMaxAgeHours: 24,
};

export type ResolvedLimits = typeof DEFAULTS;

export const MEMORY_KINDS = ['memory_written', 'memory_significance_set', 'memory_pin_changed'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

/** The setting names the messages point at (VS Code setting / CLI flag). */
export const SETTING_HINT = {
  eventsTable: 'botMemory.memory.eventsTable / --events-table',
  memoriesTable: 'botMemory.memory.memoriesTable / --memories-table',
  eventColumns: (k: string) => `botMemory.memory.eventColumns.${k} / --event-column ${k}=NAME`,
  memoryColumns: (k: string) => `botMemory.memory.memoryColumns.${k} / --memory-column ${k}=NAME`,
};

export class MemorySchemaError extends Error {}

/** Numeric limits with defaults; bad values (negative, NaN) fall back to the default. */
export function limits(s: MemoryLedgerSettings): ResolvedLimits {
  const pick = (v: unknown, d: number, min: number) => (typeof v === 'number' && Number.isFinite(v) && v >= min ? v : d);
  return {
    pinCap: pick(s.pinCap, DEFAULTS.pinCap, 0),
    autoPinScore: pick(s.autoPinScore, DEFAULTS.autoPinScore, -Infinity),
    snapshotKeep: pick(s.snapshotKeep, DEFAULTS.snapshotKeep, 0),
    backupKeep: pick(s.backupKeep, DEFAULTS.backupKeep, 0),
    backupMaxAgeHours: pick(s.backupMaxAgeHours, DEFAULTS.backupMaxAgeHours, 0),
    backupMinSpacingHours: pick(s.backupMinSpacingHours, DEFAULTS.backupMinSpacingHours, 0),
    snapshotMaxAgeHours: pick(s.snapshotMaxAgeHours, DEFAULTS.snapshotMaxAgeHours, 0),
  };
}

/** The candidates for one name: the explicit setting alone, else the likely names. */
export function candidatesFor(explicit: string | undefined, likely: readonly string[]): string[] {
  const e = explicit?.trim();
  return e ? [e] : [...likely];
}

/** `ignoreKinds` patterns (`*` = any run of characters) as one predicate. */
export function kindMatcher(patterns: readonly string[] | undefined): (kind: string) => boolean {
  const res = (patterns ?? [])
    .filter((p) => typeof p === 'string' && p.trim() !== '')
    .map((p) => new RegExp(`^${p.trim().split('*').map(escapeRe).join('.*')}$`));
  return (kind) => res.some((r) => r.test(kind));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Validates a settings object read from JSON (a `--config` file): unknown keys and wrong types are errors. */
export function parseSettings(value: unknown, where: string): MemoryLedgerSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MemorySchemaError(`${where}: expected a JSON object of settings`);
  const v = value as Record<string, unknown>;
  const strings = ['eventsTable', 'memoriesTable', 'snapshotsDir', 'backupsDir'];
  const numbers = ['pinCap', 'autoPinScore', 'snapshotKeep', 'backupKeep', 'backupMaxAgeHours', 'backupMinSpacingHours', 'snapshotMaxAgeHours'];
  const maps: Record<string, readonly string[]> = {
    eventColumns: Object.keys(CANDIDATES.eventColumns),
    memoryColumns: Object.keys(CANDIDATES.memoryColumns),
    payloadKeys: Object.keys(CANDIDATES.payloadKeys),
  };
  for (const [k, x] of Object.entries(v)) {
    if (strings.includes(k)) {
      if (typeof x !== 'string') throw new MemorySchemaError(`${where}: "${k}" must be a string`);
    } else if (numbers.includes(k)) {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new MemorySchemaError(`${where}: "${k}" must be a number`);
    } else if (k === 'ignoreKinds') {
      if (!Array.isArray(x) || x.some((p) => typeof p !== 'string')) throw new MemorySchemaError(`${where}: "ignoreKinds" must be an array of strings`);
    } else if (k in maps) {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new MemorySchemaError(`${where}: "${k}" must be an object`);
      for (const [kk, xx] of Object.entries(x as Record<string, unknown>)) {
        if (!maps[k].includes(kk)) throw new MemorySchemaError(`${where}: unknown key "${k}.${kk}" (known: ${maps[k].join(', ')})`);
        if (typeof xx !== 'string') throw new MemorySchemaError(`${where}: "${k}.${kk}" must be a string`);
      }
    } else {
      throw new MemorySchemaError(`${where}: unknown setting "${k}"`);
    }
  }
  return v as MemoryLedgerSettings;
}
