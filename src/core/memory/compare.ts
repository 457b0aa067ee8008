/** The replayed projection against the live memories table: rows missing or extra, and field drift. */

import type { LiveMemory } from './load';
import type { MemoryFinding, ProjectedMemory } from './replay';

function flag(v: unknown): boolean | undefined {
  if (v === true || v === 1) return true;
  if (v === false || v === 0) return false;
  return undefined;
}

function show(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 39) + '…' : s;
}

export function compareWithTable(memories: Map<string, ProjectedMemory>, live: Map<string, LiveMemory>): MemoryFinding[] {
  const findings: MemoryFinding[] = [];
  for (const m of memories.values()) {
    const row = live.get(m.key);
    if (!row) {
      findings.push({
        kind: 'memory_missing',
        severity: 'error',
        sessionId: m.owner,
        memoryId: m.key,
        message: `memory ${m.key} is in the event log but not in the memories table`,
      });
      continue;
    }
    const drift: string[] = [];
    const pinned = flag(row.pinned);
    if (pinned !== m.pinned) drift.push(`pinned: table ${show(row.pinned)}, events ${m.pinned ? 1 : 0}`);
    const auto = flag(row.autoPinned);
    if (auto !== m.autoPinned) drift.push(`auto_pinned: table ${show(row.autoPinned)}, events ${m.autoPinned ? 1 : 0}`);
    const sig = row.significance;
    // An unscored memory may be NULL or 0 in the table, depending on the column default.
    const sigOk = m.significance === null ? sig === null || sig === undefined || sig === 0 : typeof sig === 'number' && sig === m.significance;
    if (!sigOk) drift.push(`significance: table ${show(sig)}, events ${m.significance ?? 'unset'}`);
    if (m.carried.owner && row.owner !== m.owner) drift.push(`owner: table ${show(row.owner)}, events ${show(m.owner)}`);
    if (drift.length) {
      findings.push({
        kind: 'memory_drift',
        severity: 'error',
        sessionId: m.owner,
        memoryId: m.key,
        message: `memory ${m.key} differs from its events: ${drift.join('; ')}`,
      });
    }
    if (m.carried.text && row.text !== undefined && row.text !== m.text) {
      findings.push({
        kind: 'memory_drift',
        severity: 'warning',
        sessionId: m.owner,
        memoryId: m.key,
        message: `memory ${m.key}'s text in the table differs from the text its memory_written event carried`,
      });
    }
  }
  for (const row of live.values()) {
    if (memories.has(row.key)) continue;
    findings.push({
      kind: 'memory_extra',
      severity: 'error',
      sessionId: row.owner ?? '(unknown bot)',
      memoryId: row.key,
      message: `memory ${row.key} is in the memories table but no memory_written event created it`,
    });
  }
  return findings;
}
