/**
 * Memory ledger audit (issue #9): a bot database of ~100,000 events (10 bots, every third
 * memory scored 3 and auto-pinned with evictions past the cap, manual pins and unpins),
 * written with the real engine. Measured in child processes, best of 3:
 *   - audit: `auditMemoryLedger` end to end (private copy of the file, schema checks, read,
 *     JSON payloads, replay with the pin-policy checks, table comparison, retention)
 *   - baseline: the same event rows read from the same engine with one SELECT and nothing else
 * Printed: time, events/s, peak RSS and the audit/baseline ratios.
 */
import * as path from 'path';
import { spawnSync } from 'child_process';
import type { Bench } from './harness';
import { ratio, table } from './harness';
import { writeLargeLedger } from '../test/support/memoryFixtures';

interface Run {
  ms: number;
  peakRssMb: number;
  events: number;
  findings: number;
}

function measure(mode: 'audit' | 'baseline', db: string): Run {
  let best: Run | undefined;
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'memory.worker.js'), mode, db], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`memory ${mode} failed: ${r.stderr}`);
    const run = JSON.parse(r.stdout) as Run;
    if (!best || run.ms < best.ms) best = run;
  }
  return best!;
}

export const memoryBench: Bench = {
  name: 'memory',
  async run(ctx) {
    const target = ctx.quick ? 20_000 : 100_000;
    const db = path.join(ctx.tmp, 'bot.db');
    const t = Date.now();
    const written = writeLargeLedger(db, target);
    ctx.log(`fixture: ${written} events written in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const audit = measure('audit', db);
    const base = measure('baseline', db);
    if (audit.events !== base.events) throw new Error(`audit read ${audit.events} events, baseline ${base.events}`);
    ctx.log(
      table([
        ['', 'events', 'ms', 'events/s', 'peak RSS MB', 'findings'],
        ['audit', audit.events, audit.ms.toFixed(0), Math.round(audit.events / (audit.ms / 1000)), audit.peakRssMb.toFixed(0), audit.findings],
        ['baseline (one SELECT)', base.events, base.ms.toFixed(0), Math.round(base.events / (base.ms / 1000)), base.peakRssMb.toFixed(0), '—'],
        ['ratio audit/baseline', '', ratio(audit.ms, base.ms), '', ratio(audit.peakRssMb, base.peakRssMb), ''],
      ]),
    );
  },
};
