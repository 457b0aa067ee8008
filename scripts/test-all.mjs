#!/usr/bin/env node
// `npm test`: typecheck, lint (errors only), unit tests (mocha in Node), then the extension tests inside a real
// VS Code 1.139.1 extension host (installing that VS Code into the cache first if needed).
// Stops at the first failing step with its exit code; ends with a summary and one closing
// line `N passed, N failed` (`, N skipped`) that adds up the test steps.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_VERSION, paths } from './vscode-test/install.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUMMARY = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/;

/** `npm run x` with the npm that runs us when there is one. */
function npmRun(script, ...args) {
  const extra = args.length ? ['--', ...args] : [];
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath) && fs.existsSync(execPath)) return [process.execPath, [execPath, 'run', script, ...extra]];
  return ['npm', ['run', script, ...extra]];
}

const UNIT_TESTS = 'out/test/{core,cli,support,webview}/**/*.test.js';
const HOST_NODE_TESTS = [
  'core/fsSafe',
  'core/dirWatcher',
  'core/durable',
  'core/pidLock',
  'core/repairLock',
  'core/stateDb',
  'core/sqlite',
  'core/sqliteIncremental',
  'core/sqliteQuery',
  'cli/hostileFs',
  'cli/rebuild',
].map((t) => `out/test/${t}.test.js`);
const mocha = (node, args, ...files) => [node, [path.join(repoRoot, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--enable-source-maps', ...args, ...files]];

const steps = [
  { name: 'typecheck', cmd: npmRun('typecheck') },
  // ESLint (every rule an error, `--max-warnings 0` in the script) and the Prettier check.
  { name: 'lint', cmd: npmRun('lint') },
  { name: 'install VS Code', cmd: [process.execPath, [path.join(repoRoot, 'scripts', 'vscode-test', 'install.mjs')]] },
  { name: 'build tests', cmd: [process.execPath, [path.join(repoRoot, 'esbuild.js'), '--tests']] },
  // The unit tests (`npm run test:unit`) in processes side by side: the rest; the slow crash loops
  // (@slow: mostly child processes started and killed); and the file-system rules and SQLite again on
  // the extension host's Node (24, with node:sqlite; the system Node may be older).
  {
    name: 'unit tests',
    cmd: mocha(process.execPath, ['--grep', '@slow', '--invert'], UNIT_TESTS),
    beside: [mocha(process.execPath, ['--grep', '@slow'], UNIT_TESTS), mocha(paths().node, ['--grep', '@slow', '--invert'], ...HOST_NODE_TESTS)],
    tests: true,
  },
  { name: 'extension tests (VS Code)', cmd: npmRun('test:vscode'), tests: true },
  { name: 'UI tests (VS Code in chromium)', cmd: npmRun('test:ui'), tests: true },
];

/**
 * Runs a step, passing its output through; resolves { code, summary }. A step with `beside` runs
 * that command at the same time, its output held and printed after the step's own; the two
 * summaries are added up and the step fails if either does.
 */
async function runStep(step) {
  if (!step.beside) return runCommand(step.cmd, process.stdout, process.stderr);
  const helds = step.beside.map(() => []);
  const runs = await Promise.all([
    runCommand(step.cmd, process.stdout, process.stderr),
    ...step.beside.map((cmd, i) => {
      const hold = { write: (chunk) => helds[i].push(Buffer.from(chunk)) };
      return runCommand(cmd, hold, hold);
    }),
  ]);
  step.beside.forEach(([node, args], i) => {
    const shown = args.slice(2).map((a) => a.replace(/^out\/test\//, '').replace(/\.test\.js$/, ''));
    const runtime = node === process.execPath ? `Node ${process.versions.node}` : `Node ${NODE_VERSION}`;
    console.log(`\n[test] ----- ${step.name}, run beside on ${runtime}: ${shown.join(' ')} -----`);
    process.stdout.write(Buffer.concat(helds[i]));
  });
  const add = (a, b) => (a && b ? { passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped } : (a ?? b));
  return { code: runs.find((r) => r.code !== 0)?.code ?? 0, summary: runs.map((r) => r.summary).reduce(add) };
}

/** Runs one command, its output written to `out`/`err`; resolves { code, summary }. */
function runCommand([cmd, args], out, err) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let summary;
    const scan = (stream, sink) => {
      let partial = '';
      stream.on('data', (chunk) => {
        sink.write(chunk);
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop();
        for (const l of lines) {
          const m = SUMMARY.exec(l.trim());
          if (m) summary = { passed: +m[1], failed: +m[2], skipped: +(m[3] ?? 0) };
        }
      });
      stream.on('end', () => {
        const m = SUMMARY.exec(partial.trim());
        if (m) summary = { passed: +m[1], failed: +m[2], skipped: +(m[3] ?? 0) };
      });
    };
    scan(child.stdout, out);
    scan(child.stderr, err);
    child.on('error', (e) => {
      console.error(`[test] cannot run ${cmd}: ${e.message}`);
      resolve({ code: 1, summary });
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), signal, summary }));
  });
}

const fmt = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const results = [];
  let exitCode = 0;
  for (const step of steps) {
    console.log(`\n[test] ===== ${step.name} =====`);
    const t = Date.now();
    const r = await runStep(step);
    results.push({ step, ...r, ms: Date.now() - t });
    if (r.code !== 0) {
      exitCode = r.code;
      break;
    }
  }

  const total = { passed: 0, failed: 0, skipped: 0 };
  console.log('\n[test] ===== summary =====');
  for (const r of results) {
    const s = r.summary;
    if (s) {
      total.passed += s.passed;
      total.failed += s.failed;
      total.skipped += s.skipped;
    }
    // A failing step that reported no failed test (typecheck, install, a crash) counts as one.
    if (r.code !== 0 && (!s || s.failed === 0)) total.failed += 1;
    const counts = s ? ` (${s.passed} passed, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''})` : '';
    console.log(`[test] ${r.code === 0 ? 'ok  ' : 'FAIL'} ${r.step.name}${counts} in ${fmt(r.ms)}${r.code !== 0 ? ` (exit code ${r.code})` : ''}`);
  }
  for (const step of steps.slice(results.length)) console.log(`[test] skip ${step.name} (not run after the failure)`);
  if (exitCode !== 0) console.log(`[test] FAILED at: ${results[results.length - 1].step.name}`);
  console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
