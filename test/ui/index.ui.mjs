#!/usr/bin/env node
// UI check of the SQLite index commands in the real VS Code web workbench, on a copy of the
// demo with a GitHub interaction log pulled into it (`_github_log.jsonl`, with hostile text):
// 1. "Bot Memory: Rebuild SQLite Index" builds `_audit_index.sqlite` and says what it holds;
// 2. "Bot Memory: Rebuild SQLite Index from GitHub Log" replays the log into
//    `_github_log.sqlite` beside it and leaves the journal index as it was;
// 3. the Sessions view's `…` menu offers both;
// 4. "Query Index…" with a saved query opens its rows as a text table; right-clicking a row offers
//    "Open Row's Session in Timeline", which opens that session's timeline.
// Screenshots: screenshots/index-*.png. Exit code 0 = all checks passed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { check, demoWorkspace, log, notificationText, openBotMemory, repoRoot, runUi, shots } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { launchBrowser, openWorkbench, runCommand, screenshot } from '../../scripts/vscode-test/browser.mjs';

const require = createRequire(import.meta.url);
const { Database } = require('node-sqlite3-wasm');

const XSS = '<img src=x onerror="window.__pwned=1"> [run](command:workbench.action.quit)';
const sha = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Six interactions in two sessions, a feedback correction, and a line that is not a record. */
function writeLog(file) {
  const lines = [];
  for (let i = 0; i < 6; i++) {
    const sid = `gh${i % 2}`;
    lines.push(
      JSON.stringify({
        type: 'interaction',
        version: 1,
        id: `${sid}/t${i}`,
        session_id: sid,
        turn_id: `t${i}`,
        state: i === 5 ? 'interrupted' : 'completed',
        created_at: 1767225600 + i * 60,
        completed_at: 1767225600 + i * 60 + 9,
        model: 'qwen/qwen3-coder',
        model_provider: 'openrouter',
        user: i === 0 ? XSS : `question ${i}`,
        assistant: `answer ${i}`,
        ...(i === 5 ? { reason: 'cancelled' } : {}),
      }),
    );
  }
  lines.push(
    JSON.stringify({
      type: 'feedback',
      version: 1,
      id: 'fb1',
      session_id: 'gh0',
      turn_id: 't0',
      feedback: -1,
      note: 'unsafe',
      reviewer: 'ana',
      timestamp: '2026-01-02T00:00:00Z',
    }),
  );
  lines.push('not a record');
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

function query(file, sql) {
  const db = new Database(file, { readOnly: true });
  try {
    return db.all(sql);
  } finally {
    db.close();
  }
}

async function main() {
  await ensureInstalled({ log: () => {} });
  fs.mkdirSync(shots, { recursive: true });
  const { tmp, ws, sessions } = demoWorkspace('bma-ui-index-');
  writeLog(path.join(sessions, '_github_log.jsonl'));
  const server = await startServer({ log: () => {}, settings: { 'workbench.colorTheme': 'Default Dark Modern', 'workbench.activityBar.location': 'default' } });
  const b = await launchBrowser();
  const page = b.page;
  try {
    await openWorkbench(page, server.url(ws, [['extensionDevelopmentPath', repoRoot]]));
    await openBotMemory(page);
    await page.locator('.monaco-list-row', { hasText: 'Rust lifetimes in a struct' }).first().waitFor({ timeout: 30_000 });

    log('1. Rebuild SQLite Index');
    await runCommand(page, 'Bot Memory: Rebuild SQLite Index');
    const built = await notificationText(page, /SQLite index rebuilt/);
    const journalIndex = path.join(sessions, '_audit_index.sqlite');
    check(
      /SQLite index rebuilt \(full\): 12 sessions, \d+ events, \d+ turns, \d+ findings/.test(built),
      `the notification says what the index holds: ${JSON.stringify(built.split('\n')[0])}`,
    );
    check(
      fs.existsSync(journalIndex) && query(journalIndex, "SELECT count(*) AS n FROM sessions WHERE source = 'journal'")[0].n === 12,
      'the index of the 12 demo sessions is written',
    );
    await screenshot(page, path.join(shots, 'index-rebuilt.png'));
    await page.keyboard.press('Escape');
    await runCommand(page, 'Notifications: Clear All Notifications').catch(() => undefined);
    const journalSha = sha(journalIndex);

    log('2. Rebuild SQLite Index from GitHub Log');
    await runCommand(page, 'Bot Memory: Rebuild SQLite Index from GitHub Log');
    const replayed = await notificationText(page, /rebuilt from _github_log\.jsonl/);
    check(
      /SQLite index rebuilt from _github_log\.jsonl: 2 sessions, 6 turns, 1 feedback record, 1 finding → _github_log\.sqlite/.test(replayed),
      `the notification says what the log held: ${JSON.stringify(replayed.split('\n')[0])}`,
    );
    check(/Reveal Index/.test(replayed), 'it offers to reveal the index');
    const logIndex = path.join(sessions, '_github_log.sqlite');
    const turns = fs.existsSync(logIndex)
      ? query(logIndex, "SELECT turn_id, state, feedback, CAST(user_text AS BLOB) AS u FROM turns WHERE source = 'log' ORDER BY session_id, ordinal")
      : [];
    check(turns.length === 6 && turns.filter((t) => t.state === 'interrupted').length === 1, 'the log index holds its 6 interactions');
    check(
      turns.some((t) => t.turn_id === 't0' && t.feedback === -1 && Buffer.from(t.u).toString() === XSS),
      'the feedback correction is on its turn; hostile text is stored as text',
    );
    check(sha(journalIndex) === journalSha, 'the journal index is untouched');
    check((await page.evaluate(() => window.__pwned)) === undefined, 'no transcript text ran');
    await screenshot(page, path.join(shots, 'index-from-log.png'));
    await page.keyboard.press('Escape');

    log("3. the Sessions view's … menu");
    const header = page.locator('.pane-header', { hasText: /^sessions/i }).first();
    await header.hover();
    await header.locator('.codicon-toolbar-more').first().click();
    const menu = page.locator('.context-view .monaco-menu, .monaco-menu-container');
    await menu.first().waitFor({ timeout: 10_000 });
    const items = await menu.first().innerText();
    check(
      /Rebuild SQLite Index\n/.test(items + '\n') && /Rebuild SQLite Index from GitHub Log/.test(items) && /Pull from GitHub Log/.test(items),
      `the … menu offers both rebuilds beside Pull: ${JSON.stringify(items.replace(/\n+/g, ' | '))}`,
    );
    await screenshot(page, path.join(shots, 'index-menu.png'));
    await page.keyboard.press('Escape');

    log('4. Query Index…, then a row opens its session');
    await runCommand(page, 'Bot Memory: Query Index…');
    const pick = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Which sessions need attention' }).first();
    await pick.waitFor({ timeout: 15_000 });
    await pick.click();
    const editor = page.locator('.editor-group-container .monaco-editor .view-lines').first();
    const firstRow = page
      .locator('.editor-group-container .monaco-editor .view-line')
      .filter({ hasText: /│\s*\d+\s*│\s*\d+\s*│\s*\d+/ })
      .first();
    await firstRow.waitFor({ timeout: 30_000 }).catch(async (e) => {
      await screenshot(page, path.join(shots, 'index-query-failed.png'));
      throw e;
    });
    const rowText = (await firstRow.innerText()).replace(/\u00a0/g, ' ');
    const sid = rowText.split('│')[0].trim();
    check(/Right-click a row: Open Row's Session in Timeline/.test((await editor.innerText()).replace(/\u00a0/g, ' ')), 'the result says how to open a row');
    await firstRow.click({ button: 'right' });
    const item = page.locator('.context-view .action-item', { hasText: "Open Row's Session in Timeline" }).first();
    await item.waitFor({ timeout: 10_000 });
    await screenshot(page, path.join(shots, 'index-query-row-menu.png'));
    await item.click();
    const tab = page.locator('.tabs-container .tab.active');
    await tab.waitFor({ timeout: 15_000 });
    let title = '';
    for (let i = 0; i < 100 && !/timeline|·/i.test(title); i++) {
      title = (await tab.getAttribute('aria-label')) ?? '';
      await new Promise((r) => setTimeout(r, 150));
    }
    const frameShown = await page.locator('iframe.webview').count();
    check(sid.length > 0 && frameShown > 0, `the row's session ${JSON.stringify(sid)} opened in a timeline (tab ${JSON.stringify(title)})`);
    await new Promise((r) => setTimeout(r, 1500));
    await screenshot(page, path.join(shots, 'index-query-row-timeline.png'));
  } finally {
    await b.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runUi(main);
