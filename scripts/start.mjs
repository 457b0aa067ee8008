#!/usr/bin/env node
// `npm start`: builds the extension, packages it as a .vsix, installs it into a throwaway
// VS Code 1.139.1 (code-server's VS Code server) and serves the workbench on 127.0.0.1, with a
// throwaway copy of demo/sessions opened (your edits never touch the repo). Ctrl+C stops it
// and removes everything it made.
//
// Env:
//   PORT             port (default 8080 if free, else any free port; an explicit PORT must be free)
//   HOST             interface to listen on (default 127.0.0.1)
//   BMA_START_SMOKE=1  instead of serving: open the workbench in headless chromium, check it,
//                    save screenshots/start.png and exit 0 (used by CI)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled } from './vscode-test/install.mjs';
import { startServer } from './vscode-test/server.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const smoke = process.env.BMA_START_SMOKE === '1';
const log = (m) => console.log(m);

function step(name, cmd, args, opts = {}) {
  log(`[start] ${name}`);
  const r = spawnSync(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) throw new Error(`[start] ${name} failed (${r.signal ?? `exit code ${r.status}`}${r.error ? `: ${r.error.message}` : ''})`);
}

function portFree(port, host) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

async function choosePort(host) {
  if (process.env.PORT) {
    const port = Number(process.env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`[start] PORT=${process.env.PORT} is not a port number`);
    if (port && !(await portFree(port, host))) throw new Error(`[start] PORT=${port} is already in use on ${host}`);
    return port;
  }
  if (await portFree(8080, host)) return 8080;
  log('[start] port 8080 is busy; using a free port');
  return 0;
}

async function main() {
  const install = await ensureInstalled({ requireChromium: smoke, log });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-start-'));
  let server;
  let browser;
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await browser?.close().catch(() => {});
      await server?.stop().catch(() => {});
      fs.rmSync(tmp, { recursive: true, force: true });
    })());
  let stopping = false;
  const onSignal = (sig) => {
    if (stopping) return;
    stopping = true;
    log(`\n[start] ${sig}: stopping…`);
    cleanup().finally(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // `npm start` does not pass a SIGTERM sent to npm itself on to us: stop when npm is gone.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && onSignal('parent process exited'), 1000).unref();

  try {
    step('building (node esbuild.js)', process.execPath, ['esbuild.js']);
    const vsix = path.join(tmp, 'bot-memory-auditor.vsix');
    const vsce = path.join(repoRoot, 'node_modules', '.bin', 'vsce');
    const [cmd, pre] = fs.existsSync(vsce) ? [vsce, []] : ['npx', ['--no-install', 'vsce']];
    step(
      'packaging the .vsix (vsce package)',
      cmd,
      [...pre, 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', vsix],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );

    // The working folder: same layout as the extension tests' workspace (demo/sessions inside).
    const folder = path.join(tmp, 'bot-memory-auditor-demo');
    fs.mkdirSync(folder);
    const demo = path.join(repoRoot, 'demo', 'sessions');
    if (fs.existsSync(demo)) fs.cpSync(demo, path.join(folder, 'demo', 'sessions'), { recursive: true });
    else log('[start] note: demo/sessions does not exist in the repo; opening an empty folder');

    const host = process.env.HOST || '127.0.0.1';
    const port = await choosePort(host);
    server = await startServer({ host, port, vsix, smokeTestDriver: smoke, log });
    const url = server.url(folder);
    const shown = /^(0\.0\.0\.0|::)$/.test(host) ? url.replace(`//${host}:`, '//127.0.0.1:').replace(`//[${host}]:`, '//127.0.0.1:') : url;

    if (smoke) {
      const { launchBrowser, openWorkbench, screenshot } = await import('./vscode-test/browser.mjs');
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, url);
      // The packaged extension's commands are in the palette (asked again while the workbench is still
      // reading its extensions: under load a first palette can open before their commands are known)...
      for (let attempt = 1; ; attempt++) {
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget .quick-input-box input');
        await input.waitFor({ state: 'visible', timeout: 15_000 });
        await input.fill('>Bot Memory: Refresh Sessions');
        const found = await page
          .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Refresh Sessions' })
          .first()
          .waitFor({ state: 'visible', timeout: 15_000 })
          .then(() => true)
          .catch((err) => {
            if (attempt >= 4) throw err;
            return false;
          });
        await page.keyboard.press('Escape');
        if (found) break;
        log(`[start] the palette has no Bot Memory commands yet (try ${attempt} of 4)`);
      }
      // ...and its Sessions view lists the demo sessions with their health.
      await page.locator('.activitybar .action-label[aria-label^="Bot Memory"]').first().click();
      await page.locator('.sidebar .monaco-list-row', { hasText: 'Rust lifetimes in a struct' }).first().waitFor({ state: 'visible', timeout: 30_000 });
      await page.waitForFunction(() => !document.body.innerText.includes('reading…'), null, { timeout: 30_000 });
      const png = await screenshot(page, path.join(repoRoot, 'screenshots', 'start.png'), { settleMs: 1000 });
      log(
        `[start] smoke test passed: VS Code ${install.vscodeVersion} served ${shown}, its commands are in the palette and its Sessions view lists the demo; screenshot ${png}`,
      );
      await cleanup();
      return 0;
    }

    log('');
    log(`Bot Memory Auditor is running in VS Code ${install.vscodeVersion}: open ${shown} in your browser (Ctrl+C to stop)`);
    log(`(working folder ${folder} is a throwaway copy of demo/sessions; it is deleted when you stop)`);
    log('');
    const code = await new Promise((resolve) => {
      server.process.on('exit', (c, signal) => {
        if (!stopping) log(`[start] the VS Code server stopped (${signal ?? `exit code ${c}`})`);
        resolve(c ?? 1);
      });
    });
    await cleanup();
    return code;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err.message || err);
    process.exit(1);
  },
);
