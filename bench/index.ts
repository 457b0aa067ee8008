/**
 * `npm run bench [-- --quick] [-- --only NAME]`: every benchmark, each printing its
 * measurements beside a baseline measured in the same run.
 * To add one: write bench/<name>.ts exporting a `Bench`, and list it below.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { table, type Bench, type TargetRow } from './harness';
import { coreBench } from './core';
import { sessionsBench } from './sessions';
import { sqliteBench } from './sqlite';
import { githubBench } from './github';
import { timelineBench } from './timeline';
import { memoryBench } from './memory';
import { largeBench } from './large';

const benches: Bench[] = [
  // Each feature adds its benchmark here.
  coreBench,
  sessionsBench,
  timelineBench,
  githubBench,
  sqliteBench,
  memoryBench,
  // One 100 MB session in a plain run; 1 GB and 4 GB (GBs of data, most of an hour) with `--only large`.
  largeBench,
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-bench-'));
  const targets: TargetRow[] = [];
  console.log(`Bot Memory Auditor benchmarks — node ${process.version}, ${os.cpus().length} cores, ${quick ? 'quick' : 'full'} sizes`);
  try {
    for (const b of benches) {
      if (only && b.name !== only) continue;
      console.log(`\n## ${b.name}`);
      const dir = path.join(tmp, b.name);
      fs.mkdirSync(dir);
      await b.run({ tmp: dir, quick, args, log: (l) => console.log(l), target: (t) => targets.push(t) });
      fs.rmSync(dir, { recursive: true, force: true });
    }
    printTargets(targets, quick);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Issue #18's table as this run measured it: each row beside its baseline and target. */
function printTargets(targets: readonly TargetRow[], quick: boolean): void {
  if (targets.length === 0) return;
  console.log(`\n## targets (issue #18)${quick ? ' — quick sizes: indicative only' : ''}`);
  const rows = targets.map((t) => [t.row, t.measured, t.target, t.met ? 'met' : 'missed']);
  console.log(table([['row', 'measured (ratio to a baseline of this run)', 'target', ''], ...rows]));
  console.log(
    `${targets.filter((t) => t.met).length} of ${targets.length} met; load average at the end: ${os.loadavg()[0].toFixed(1)} (${os.cpus().length} cores)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
