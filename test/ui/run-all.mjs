#!/usr/bin/env node
// `npm run test:ui`: every *.ui.mjs script in this folder (each starts its own VS Code server
// and browser), `BMA_UI_JOBS` at a time (default 2: they mostly wait on VS Code and the browser), each script's output printed as one block
// when it ends, with its time; one closing line adds up their checks.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const LINE = /^(\d+) passed, (\d+) failed$/;
const jobs = Math.max(1, Number.parseInt(process.env.BMA_UI_JOBS ?? '2', 10) || 1);
const scripts = fs
  .readdirSync(here)
  .filter((n) => n.endsWith('.ui.mjs'))
  .sort();

let passed = 0;
let failed = 0;
let code = 0;

/** Runs one script; resolves when it has ended and its block is printed. */
function runScript(f) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(here, f)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (status) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`\n# ${f} (${secs} s)\n${out}`);
      if (err) process.stderr.write(err);
      const last = out
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
      if (status !== 0) code = status ?? 1; // null: ended by a signal
      resolve();
    });
  });
}

const queue = [...scripts];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    while (queue.length) await runScript(queue.shift());
  }),
);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = code || (failed ? 1 : 0);
