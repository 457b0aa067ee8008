#!/usr/bin/env node
// `npm run test:ui`: every *.ui.mjs script in this folder, one after another (each starts its
// own VS Code server and browser), with one closing line adding up their checks.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const LINE = /^(\d+) passed, (\d+) failed$/;
let passed = 0;
let failed = 0;
let code = 0;
for (const f of fs
  .readdirSync(here)
  .filter((n) => n.endsWith('.ui.mjs'))
  .sort()) {
  console.log(`\n# ${f}`);
  const r = spawnSync(process.execPath, [path.join(here, f)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  const last = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => LINE.test(l.trim()));
  if (last) {
    const [, p, q] = LINE.exec(last.trim());
    passed += Number(p);
    failed += Number(q);
  } else {
    failed++;
  }
  if (r.status !== 0) code = r.status ?? 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = code || (failed ? 1 : 0);
