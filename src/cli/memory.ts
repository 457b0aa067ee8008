/** `bot-memory-audit memory <db-or-jsonl>`: audit a bot's long-term memories against their event log. */

import { readTextSync } from '../core/fsSafe';
import { CANDIDATES, MemorySchemaError, parseSettings, type MemoryLedgerSettings } from '../core/memory/config';
import { LedgerInputError } from '../core/memory/load';
import { auditMemoryLedger, memoryReachesThreshold, memoryReport, projectionJson, type FailOn, type MemoryAudit } from '../core/memory/audit';
import { UsageError, bold, dim, green, numberOption, out, parse, red, safeText, yellow } from './io';

export const MEMORY_USAGE = `  memory <db-or-jsonl>  Replay a bot's memory event log, compare it with the memories table, check the pin policy and backups.
      --json                    print one JSON object (see docs/memory-ledger.md)
      --projection              print the replayed memories as JSON instead of the report
      --fail-on LEVEL           error (default) | warning | never
      --config FILE             JSON settings (the keys of botMemory.memory.*)
      --events-table NAME       --memories-table NAME
      --event-column KEY=NAME   id, kind, payload, createdAt (repeatable)
      --memory-column KEY=NAME  id, owner, text, significance, pinned, autoPinned, createdAt (repeatable)
      --payload-key KEY=NAME    memoryId, owner, text, createdAt, significance, pinned, autoPinned (repeatable)
      --ignore-kind PATTERN     an event kind that is not a memory event (* wildcard; repeatable)
      --pin-cap N               --auto-pin-score N   (defaults 8 and 3)
      --snapshots-dir DIR       --backups-dir DIR    (defaults <db folder>/snapshots and /backups)
      --now EPOCH_SECONDS       audit as if it were this time (backup freshness)`;

function pairs(values: string[] | undefined, flag: string, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    const k = i > 0 ? v.slice(0, i) : '';
    if (!keys.includes(k) || i === v.length - 1) throw new UsageError(`--${flag} takes KEY=NAME with KEY one of ${keys.join(', ')}; got "${v}"`);
    out[k] = v.slice(i + 1);
  }
  return out;
}

export async function runMemory(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      json: { type: 'boolean', default: false },
      projection: { type: 'boolean', default: false },
      'fail-on': { type: 'string', default: 'error' },
      config: { type: 'string' },
      'events-table': { type: 'string' },
      'memories-table': { type: 'string' },
      'event-column': { type: 'string', multiple: true },
      'memory-column': { type: 'string', multiple: true },
      'payload-key': { type: 'string', multiple: true },
      'ignore-kind': { type: 'string', multiple: true },
      'pin-cap': { type: 'string' },
      'auto-pin-score': { type: 'string' },
      'snapshots-dir': { type: 'string' },
      'backups-dir': { type: 'string' },
      now: { type: 'string' },
    },
    { min: 1, max: 1, names: '<db-or-jsonl>' },
  );
  const failOn = values['fail-on'] as string;
  if (!['error', 'warning', 'never'].includes(failOn)) throw new UsageError(`--fail-on must be error, warning or never, got "${failOn}"`);
  let settings: MemoryLedgerSettings = {};
  if (values.config !== undefined) {
    let text: string;
    try {
      text = readTextSync(values.config, { followSymlink: true });
    } catch (e) {
      throw new UsageError(`cannot read --config ${values.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      settings = parseSettings(JSON.parse(text), values.config);
    } catch (e) {
      throw new UsageError(e instanceof MemorySchemaError ? e.message : `--config ${values.config} is not JSON: ${(e as Error).message}`);
    }
  }
  const ev = pairs(values['event-column'], 'event-column', Object.keys(CANDIDATES.eventColumns));
  const mem = pairs(values['memory-column'], 'memory-column', Object.keys(CANDIDATES.memoryColumns));
  const pk = pairs(values['payload-key'], 'payload-key', Object.keys(CANDIDATES.payloadKeys));
  settings = {
    ...settings,
    ...(values['events-table'] !== undefined ? { eventsTable: values['events-table'] } : {}),
    ...(values['memories-table'] !== undefined ? { memoriesTable: values['memories-table'] } : {}),
    eventColumns: { ...settings.eventColumns, ...ev },
    memoryColumns: { ...settings.memoryColumns, ...mem },
    payloadKeys: { ...settings.payloadKeys, ...pk },
    ignoreKinds: [...(settings.ignoreKinds ?? []), ...(values['ignore-kind'] ?? [])],
    ...(values['pin-cap'] !== undefined ? { pinCap: numberOption(values['pin-cap'], 'pin-cap', 0) } : {}),
    ...(values['auto-pin-score'] !== undefined ? { autoPinScore: numberOption(values['auto-pin-score'], 'auto-pin-score', -Infinity) } : {}),
    ...(values['snapshots-dir'] !== undefined ? { snapshotsDir: values['snapshots-dir'] } : {}),
    ...(values['backups-dir'] !== undefined ? { backupsDir: values['backups-dir'] } : {}),
  };
  let audit: MemoryAudit;
  try {
    audit = auditMemoryLedger(positionals[0], { settings, now: numberOption(values.now, 'now', 0) });
  } catch (e) {
    // Unreadable input and a schema that does not fit: exit 2 with the message.
    if (e instanceof LedgerInputError || e instanceof MemorySchemaError) throw new Error(e.message, { cause: e });
    throw e;
  }
  if (values.projection) out(JSON.stringify(projectionJson(audit), null, 1) + '\n');
  else if (values.json) out(JSON.stringify(memoryReport(audit)) + '\n');
  else out(human(audit));
  return memoryReachesThreshold(audit.findings, failOn as FailOn) ? 1 : 0;
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

function human(a: MemoryAudit): string {
  let s = '';
  for (const b of a.bots) {
    const mark = b.findings.error ? red('✖') : b.findings.warning ? yellow('▲') : green('✔');
    const counts = [
      b.findings.error && red(plural(b.findings.error, 'error')),
      b.findings.warning && yellow(plural(b.findings.warning, 'warning')),
      b.findings.info && dim(`${b.findings.info} info`),
    ]
      .filter(Boolean)
      .join(', ');
    s += `${mark} ${bold(safeText(b.botId, 80))}  ${plural(b.memories, 'memory', 'memories')} · ${b.pinned} pinned (${b.autoPinned} auto, ${b.manualPinned} manual)${counts ? `  (${counts})` : ''}\n`;
  }
  const r = memoryReport(a);
  s += `\n${plural(r.summary.bots, 'bot')}, ${plural(r.summary.memories, 'memory', 'memories')}, ${plural(r.summary.events, 'event')} in ${a.input.path}${a.input.wal ? ' (with its -wal)' : ''}\n`;
  s += `${r.summary.findings.error} errors, ${r.summary.findings.warning} warnings, ${r.summary.findings.info} info\n`;
  const byBot = new Map<string, typeof a.findings>();
  for (const f of a.findings) byBot.set(f.sessionId, [...(byBot.get(f.sessionId) ?? []), f]);
  for (const [bot, fs] of byBot) {
    s += `\n${bold(safeText(bot, 80))}\n`;
    for (const f of fs) {
      const sev = f.severity === 'error' ? red('error  ') : f.severity === 'warning' ? yellow('warning') : dim('info   ');
      const where =
        f.line !== undefined ? dim(`${f.shard}:${f.line}`) + ' ' : f.eventId !== undefined ? dim(`event ${safeText(String(f.eventId), 20)}`) + ' ' : '';
      s += `  ${sev} ${f.kind.padEnd(26)} ${where}${safeText(f.message, 300)}\n`;
    }
  }
  return s;
}
