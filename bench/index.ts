/**
 * `npm run bench [-- --quick] [-- --only NAME]`: every benchmark, each printing its
 * measurements beside a baseline measured in the same run.
 * To add one: write bench/<name>.ts exporting a `Bench`, and list it below.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Bench } from './harness';
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
  // Not in a plain `npm run bench` (GBs of data): `--only large`.
  largeBench,
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-bench-'));
  console.log(`Bot Memory Auditor benchmarks — node ${process.version}, ${os.cpus().length} cores, ${quick ? 'quick' : 'full'} sizes`);
  try {
    for (const b of benches) {
      if (only ? b.name !== only : b.name === 'large') continue;
      console.log(`\n## ${b.name}`);
      const dir = path.join(tmp, b.name);
      fs.mkdirSync(dir);
      await b.run({ tmp: dir, quick, args, log: (l) => console.log(l) });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
