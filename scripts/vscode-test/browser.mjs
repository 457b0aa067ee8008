// Drives the VS Code web workbench in Debian's headless chromium through playwright-core:
// for the extension tests (run.mjs), `BMA_START_SMOKE=1 npm start`, UI tests and screenshots.
//
// Typical use (a screenshot of the real UI with the packaged extension installed):
//
//   import { ensureInstalled } from './scripts/vscode-test/install.mjs';
//   import { startServer } from './scripts/vscode-test/server.mjs';
//   import { launchBrowser, openWorkbench, runCommand, screenshot } from './scripts/vscode-test/browser.mjs';
//
//   await ensureInstalled();
//   const server = await startServer({ vsix: 'x.vsix', settings: { 'workbench.colorTheme': 'Default Light Modern' } });
//   const browser = await launchBrowser();              // { context, page, close() }
//   try {
//     await openWorkbench(browser.page, server.url('/abs/folder'));  // goto + waitForWorkbench
//     await runCommand(browser.page, 'Bot Memory: Audit Sessions Folder');
//     await screenshot(browser.page, 'screenshots/audit.png');
//   } finally {
//     await browser.close();
//     await server.stop();
//   }
//
// API
//   launchBrowser({ viewport = {width: 1440, height: 900}, headless = true, args = [], log })
//       -> { context, page, dirs, close() }   fresh profile + throwaway HOME/XDG_*/TMPDIR,
//          deleted by close(). `page` is the first tab; context.newPage() makes more.
//   openWorkbench(page, url, { timeout = 60000 })   goto url, then waitForWorkbench
//   waitForWorkbench(page, { timeout = 60000 })      the workbench DOM is there and restored
//          (smoke-test driver's whenWorkbenchRestored when the server runs with it) and the
//          explorer (if a folder is open) has rendered.
//   runCommand(page, title, { timeout = 15000 })     F1, type title, pick the matching entry
//          (exact label match preferred, else the first entry), Enter.
//   pressKeys(page, ...keys)                        page.keyboard.press for each, e.g. 'Escape'
//   screenshot(page, file, { fullPage, settleMs = 500 })  waits settleMs, saves a PNG
//          (creates the folder), returns the absolute path.
//   frameWithSelector(page, selector, { timeout })  the first frame (webview iframes included)
//          that contains selector; for clicking inside webviews/custom editors.
//   CHROMIUM_ARGS                                   the flags chromium is started with
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { findChromium } from './install.mjs';
import { makeThrowawayDirs } from './server.mjs';

const require = createRequire(import.meta.url);

/** Flags from the verified recipe: headless, sandbox off (root), and no network chatter. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function loadPlaywright() {
  try {
    return require('playwright-core');
  } catch {
    throw new Error('[browser] playwright-core is not installed: run `npm ci` (it is a devDependency)');
  }
}

export async function launchBrowser({ viewport = { width: 1440, height: 900 }, headless = true, args = [], log = () => {} } = {}) {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error(
      "[browser] Debian's chromium was not found at /usr/bin/chromium (set BMA_CHROMIUM to use another).\n" +
        '          Install it (as root):  apt-get install chromium libkrb5-dev libxkbfile-dev libsecret-1-dev ripgrep',
    );
  }
  const { chromium } = loadPlaywright();
  const { dirs, env } = makeThrowawayDirs('bma-chromium-');
  const profile = path.join(dirs.root, 'profile');
  log(`[browser] chromium ${executablePath}, profile ${profile}`);
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless,
      args: [...CHROMIUM_ARGS.filter((a) => headless || a !== '--headless'), ...args],
      env,
      viewport,
      deviceScaleFactor: 1,
      timeout: 60_000,
    });
  } catch (e) {
    fs.rmSync(dirs.root, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closing;
  const onExit = () => fs.rmSync(dirs.root, { recursive: true, force: true });
  process.on('exit', onExit);
  return {
    context,
    page,
    dirs,
    /** Idempotent: every call returns the same promise. */
    close() {
      return (closing ??= (async () => {
        await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
        process.removeListener('exit', onExit);
        fs.rmSync(dirs.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      })());
    },
  };
}

export async function waitForWorkbench(page, { timeout = 60_000 } = {}) {
  const until = Date.now() + timeout;
  const left = () => Math.max(1, until - Date.now());
  await page.waitForSelector('.monaco-workbench .part.statusbar', { state: 'visible', timeout: left() });
  // With --enable-smoke-test-driver the workbench exposes window.driver.
  const hasDriver = await page.evaluate(() => typeof (/** @type {any} */ (window).driver?.whenWorkbenchRestored) === 'function');
  if (hasDriver) {
    await Promise.race([
      page.evaluate(() => /** @type {any} */ (window).driver.whenWorkbenchRestored()),
      new Promise((_, rej) => setTimeout(() => rej(new Error('[browser] workbench not restored in time')), left())),
    ]);
  }
  // If a folder is open, wait until the explorer has rendered it: rows appear, or (an empty
  // folder) its list has stayed empty for 2 s.
  const folderOpen = await page.evaluate(() => new URL(location.href).searchParams.has('folder'));
  if (folderOpen) {
    const cap = Date.now() + Math.min(left(), 15_000);
    let emptySince;
    while (Date.now() < cap) {
      const { list, rows } = await page.evaluate(() => ({
        list: !!document.querySelector('.explorer-folders-view .monaco-list'),
        rows: document.querySelectorAll('.explorer-folders-view .monaco-list-row').length,
      }));
      if (rows > 0) break;
      if (list) {
        emptySince ??= Date.now();
        if (Date.now() - emptySince > 2000) break;
      }
      await page.waitForTimeout(100);
    }
  }
}

export async function openWorkbench(page, url, { timeout = 60_000 } = {}) {
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout });
  await waitForWorkbench(page, { timeout });
}

export async function runCommand(page, title, { timeout = 15_000 } = {}) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  // Prefer the entry whose label is exactly the title (ignoring a trailing ellipsis).
  const norm = (s) =>
    s
      .replace(/[…\s]+$/u, '')
      .replace(/\.\.\.$/, '')
      .trim()
      .toLowerCase();
  const want = norm(title);
  const until = Date.now() + timeout;
  for (;;) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout });
    await input.fill(`>${title}`);
    await rows.first().waitFor({ state: 'visible', timeout });
    const labels = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent ?? ''));
    const index = labels.findIndex((l) => norm(l.split(',')[0]) === want || norm(l).startsWith(want));
    // Early after the workbench opens the extension's commands may not be registered yet
    // ("No matching commands"): close the palette and ask again until they are.
    if (index < 0 && labels.some((l) => /no matching commands/i.test(l)) && Date.now() < until) {
      await page.keyboard.press('Escape');
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (index > 0) await rows.nth(index).click();
    else await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout }).catch(() => {});
    return;
  }
}

export async function pressKeys(page, ...keys) {
  for (const k of keys) await page.keyboard.press(k);
}

export async function screenshot(page, file, { fullPage = false, settleMs = 500 } = {}) {
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  if (settleMs) await page.waitForTimeout(settleMs);
  await page.screenshot({ path: abs, fullPage });
  return abs;
}

export async function frameWithSelector(page, selector, { timeout = 15_000 } = {}) {
  const until = Date.now() + timeout;
  for (;;) {
    for (const frame of page.frames()) {
      if (await frame.$(selector).catch(() => null)) return frame;
    }
    if (Date.now() > until) throw new Error(`[browser] no frame contains ${selector} after ${timeout} ms`);
    await page.waitForTimeout(200);
  }
}
