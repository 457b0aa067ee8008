#!/usr/bin/env node
// Runs the extension test suite (out/test/extension/index.js, built by `node esbuild.js --tests`)
// inside a real VS Code 1.139.1 extension host: code-server's VS Code server + headless Debian
// chromium (playwright-core). `npm run test:vscode` builds first, then runs this.
//
// The workspace the tests see (vscode.workspace.workspaceFolders[0]) is a temp copy of
// test/fixtures/workspace/ (or an empty folder), plus demo/sessions copied to demo/sessions
// inside it when the repo has demo/sessions. It is deleted afterwards.
//
// Exit code: the suite's (0 = all passed). Env:
//   BMA_VSCODE_TEST_TIMEOUT  overall timeout in seconds (default 600)
//   BMA_VSCODE_VERBOSE=1     also print the server's output and the workbench's console errors
//   BMA_VSCODE_CACHE         where VS Code is installed (see install.mjs)
//   BMA_VSCODE_GREP=pattern  run only the extension tests whose title matches
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { fileURLToPath } from 'node:url';
import { ensureInstalled } from './install.mjs';
import { startServer } from './server.mjs';
import { launchBrowser } from './browser.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const verbose = process.env.BMA_VSCODE_VERBOSE === '1';
const timeoutSec = Number(process.env.BMA_VSCODE_TEST_TIMEOUT || 600);
const out = (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
/** The suite's closing line (test/extension/index.ts prints it); repeated last. */
const SUMMARY = /^\d+ passed, \d+ failed(, \d+ skipped)?$/;
let summary;
/** Workbench chatter that says nothing about the tests (shown with BMA_VSCODE_VERBOSE=1). */
const NOISE = [
  /^Resolv(ing|ed) connection token/,
  /^Creating a socket/,
  /^\[reconnection-grace-time\]/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\]/,
  /^\[AgentHost/,
  /^\[AccountPolicyGate\]/,
  /open-vsx\.org|ENOTFOUND|ERR_NAME_NOT_RESOLVED/,
];

/** Makes the temp workspace; returns { root, workspace }. */
export function makeWorkspace() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-test-workspace-'));
  const workspace = path.join(root, 'workspace');
  const fixture = path.join(repoRoot, 'test', 'fixtures', 'workspace');
  if (fs.existsSync(fixture)) fs.cpSync(fixture, workspace, { recursive: true });
  else fs.mkdirSync(workspace);
  const demo = path.join(repoRoot, 'demo', 'sessions');
  if (fs.existsSync(demo)) fs.cpSync(demo, path.join(workspace, 'demo', 'sessions'), { recursive: true });
  return { root, workspace };
}

async function main() {
  const started = Date.now();
  const suite = path.join(repoRoot, 'out', 'test', 'extension', 'index');
  if (!fs.existsSync(`${suite}.js`)) {
    out(`[vscode-test] ${suite}.js not found: build it with \`node esbuild.js --tests\` (npm run test:vscode does)`);
    return 1;
  }
  const install = await ensureInstalled({ log: (m) => out(m) });
  const { root: wsRoot, workspace } = makeWorkspace();

  let server;
  let browser;
  let timer;
  let finished = false;
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      clearTimeout(timer);
      await browser?.close().catch(() => {});
      await server?.stop().catch(() => {});
      fs.rmSync(wsRoot, { recursive: true, force: true });
    })());
  const onSignal = (sig) => {
    out(`[vscode-test] ${sig}: stopping`);
    cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // npm does not pass a SIGTERM sent to npm itself on to us: stop when our parent is gone.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && onSignal('parent process exited'), 1000).unref();

  try {
    server = await startServer({
      log: (m) => out(m),
      serverOutput: verbose ? (c) => process.stdout.write(c.replace(/^/gm, '[server] ')) : undefined,
    });
    out(`[vscode-test] VS Code ${install.vscodeVersion} server on ${server.baseUrl}, workspace ${workspace}`);
    browser = await launchBrowser();
    const { page } = browser;

    let resolveExit;
    let rejectExit;
    const exitCode = new Promise((resolve, reject) => {
      resolveExit = resolve;
      rejectExit = reject;
    });
    timer = setTimeout(
      () => rejectExit(new Error(`[vscode-test] TIMEOUT: the suite did not finish within ${timeoutSec} s (set BMA_VSCODE_TEST_TIMEOUT to change)`)),
      timeoutSec * 1000,
    );
    // The workbench calls these with the extension host's console output and, when run()
    // of the suite settles, its exit code (see VSCODE-TESTING.md).
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const text = util.format(...(Array.isArray(args) ? args : [args]));
      if (SUMMARY.test(text.trim())) summary = text.trim();
      if (verbose || !NOISE.some((re) => re.test(text))) out(text);
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    page.on('crash', () => rejectExit(new Error('[vscode-test] the workbench page crashed')));
    page.on('pageerror', (e) => verbose && out(`[workbench] page error: ${e.message}`));
    page.on('console', (m) => verbose && m.type() === 'error' && out(`[workbench] ${m.text()}`));
    server.process.on('exit', (code, signal) => {
      if (!finished) rejectExit(new Error(`[vscode-test] the VS Code server exited early (${signal ?? `exit code ${code}`})`));
    });

    const url = server.url(workspace, { extensionDevelopmentPath: repoRoot, extensionTestsPath: suite });
    if (verbose) out(`[vscode-test] opening ${url}`);
    await Promise.race([page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 }), exitCode]);

    const code = await exitCode;
    finished = true;
    out(`[vscode-test] extension host suite exited with code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (summary) out(summary);
    else if (code !== 0) out('0 passed, 1 failed');
    return code;
  } catch (e) {
    finished = true;
    out(e.message || String(e));
    if (server && !verbose) out(`[vscode-test] last server output:\n${server.output().slice(-4000)}`);
    out(summary && !/ 0 failed/.test(summary) ? summary : '0 passed, 1 failed');
    return 1;
  } finally {
    await cleanup();
  }
}

// Run only when executed (electron.mjs imports makeWorkspace).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
