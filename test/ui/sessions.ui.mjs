#!/usr/bin/env node
// UI check of the Sessions view in the real VS Code 1.139.1 web workbench (code-server's
// server + headless Debian chromium, see scripts/vscode-test/*.mjs), as a user sees it:
// 1. an empty workspace shows the welcome view; its "Open Demo Sessions" button fills the tree;
// 2. with the demo folder in the workspace: the Bot Memory container lists every session with
//    its health, a session expands into its broken lines and turns, the status bar counts the
//    sessions needing attention, and the Problems panel holds the shards' findings unopened.
// Screenshots: screenshots/sessions-*.png. Exit code 0 = all checks passed.
import fs from 'node:fs';
import path from 'node:path';
import { check, demoWorkspace, log, repoRoot, runUi, shots, openBotMemory, widenSidebar } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { launchBrowser, openWorkbench, screenshot } from '../../scripts/vscode-test/browser.mjs';

const rows = (page) => page.locator('.sidebar .pane-body .monaco-list-row').filter({ hasText: /./ });

async function main() {
  await ensureInstalled({ log: () => {} });
  fs.mkdirSync(shots, { recursive: true });
  const { tmp, ws: withDemo } = demoWorkspace('bma-ui-sessions-');
  const empty = path.join(tmp, 'empty-workspace');
  fs.mkdirSync(empty);
  // A HOME without ~/.hermes, so the upstream default location does not leak in.
  const server = await startServer({ log: () => {}, settings: { 'workbench.colorTheme': 'Default Dark Modern', 'workbench.activityBar.location': 'default' } });
  const b = await launchBrowser();
  const page = b.page;
  try {
    log('1. welcome view in an empty workspace');
    await openWorkbench(page, server.url(empty, [['extensionDevelopmentPath', repoRoot]]));
    await openBotMemory(page);
    const welcome = page.locator('.welcome-view-content');
    await welcome.first().waitFor({ timeout: 20_000 });
    const text = await welcome.first().innerText();
    check(/No hermes-webui turn journals found/.test(text) && !text.includes('`'), 'the welcome view explains that nothing was found');
    check((await page.locator('.welcome-view-content a.monaco-button, .welcome-view-content .monaco-button').count()) >= 2, 'it offers two buttons');
    await screenshot(page, path.join(shots, 'sessions-welcome.png'));
    await page.locator('.welcome-view-content .monaco-button', { hasText: 'Open Demo Sessions' }).first().click();
    await rows(page).first().waitFor({ timeout: 20_000 });
    check((await rows(page).count()) >= 10, '"Open Demo Sessions" fills the tree');

    log('2. the demo folder as a workspace');
    await openWorkbench(page, server.url(withDemo, [['extensionDevelopmentPath', repoRoot]]));
    await openBotMemory(page);
    await page.locator('.monaco-list-row', { hasText: 'Rust lifetimes in a struct' }).first().waitFor({ timeout: 20_000 });
    // Summaries arrive in the background: wait until no session says "reading…".
    await page.waitForFunction(() => !document.body.innerText.includes('reading…'), null, { timeout: 20_000 });
    await widenSidebar(page);
    const all = await rows(page).allInnerTexts();
    check(all.filter((t) => /\d+ turns?/.test(t)).length === 12, `12 sessions listed with counts (${all.length} rows)`);
    const rust = page.locator('.monaco-list-row', { hasText: 'Rust lifetimes in a struct' }).first();
    const rustText = await rust.innerText();
    check(/7 turns · 1 open · \d+ issues/.test(rustText), `a broken session shows turns, open turns and issues (${JSON.stringify(rustText)})`);
    check((await rust.locator('.codicon-error').count()) === 1, 'its icon is the error icon');
    const healthy = page.locator('.monaco-list-row', { hasText: 'Weekend in Lisbon' }).first();
    check((await healthy.locator('.codicon-pass').count()) === 1, 'a healthy session has the pass icon');
    await rust.click();
    await page.locator('.monaco-list-row', { hasText: 'Broken lines (2)' }).first().waitFor({ timeout: 10_000 });
    await page.locator('.monaco-list-row', { hasText: 'Broken lines (2)' }).first().click();
    await page.locator('.monaco-list-row', { hasText: 'glued event' }).first().waitFor({ timeout: 10_000 });
    check(true, 'the session expands into its broken lines');
    const status = await page.locator('.statusbar-item', { hasText: 'need attention' }).first().innerText();
    check(/\d+ sessions need attention/.test(status), `status bar: "${status.trim()}"`);
    await screenshot(page, path.join(shots, 'sessions-tree.png'));

    log('3. the Problems panel, with no shard opened');
    await page.keyboard.press('Control+Shift+M');
    await page.locator('.markers-panel .monaco-list-row').first().waitFor({ timeout: 15_000 });
    const problems = await page.locator('.markers-panel .monaco-list-row').allInnerTexts();
    check(
      problems.some((t) => /jsonl/.test(t)),
      `the Problems panel lists shard files (${problems.length} rows shown)`,
    );
    await screenshot(page, path.join(shots, 'sessions-problems.png'));
  } finally {
    await b.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runUi(main);
