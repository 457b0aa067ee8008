#!/usr/bin/env node
// UI check of the Memories view in the real VS Code 1.139.1 web workbench, as a user sees it:
// a bot database (written here with the project's SQLite engine) configured in the workspace
// settings shows its bots; a bot expands into its findings and pinned memories with manual /
// auto pin icons; the Problems panel holds the database's findings; memory text that looks
// like markup stays text. Screenshots: screenshots/memories-*.png. Exit code 0 = all passed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { check, log, repoRoot, runUi, shots } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { launchBrowser, openWorkbench, screenshot } from '../../scripts/vscode-test/browser.mjs';

const require = createRequire(import.meta.url);
const { Database } = require('node-sqlite3-wasm');

const XSS = '<img src=x onerror="window.__pwned=1"> **bold** [link](command:workbench.action.quit)';

/** A bot database: "ada" with 9 auto-pins where the worker evicted the newest instead of the oldest; "bob" with a manual pin. */
function writeBotDb(file) {
  const db = new Database(file);
  db.exec('PRAGMA locking_mode=EXCLUSIVE');
  db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, payload TEXT, created_at REAL)');
  db.exec(
    'CREATE TABLE memories (id INTEGER PRIMARY KEY, owner_id TEXT, text TEXT, significance INTEGER, pinned INTEGER DEFAULT 0, auto_pinned INTEGER DEFAULT 0, created_at REAL)',
  );
  let t = 1767225600;
  const ev = (kind, payload) => db.run('INSERT INTO events (kind, payload, created_at) VALUES (?, ?, ?)', [kind, JSON.stringify(payload), (t += 60)]);
  const write = (id, owner, text) => {
    ev('memory_written', { memory_id: id, owner_id: owner, text, created_at: t + 60 });
    db.run('INSERT INTO memories (id, owner_id, text, created_at) VALUES (?, ?, ?, ?)', [id, owner, text, t]);
  };
  const score = (id, s) => {
    ev('memory_significance_set', { memory_id: id, significance: s });
    db.run('UPDATE memories SET significance = ? WHERE id = ?', [s, id]);
  };
  const pin = (id, pinned, auto) => {
    ev('memory_pin_changed', { memory_id: id, pinned, auto_pinned: auto });
    db.run('UPDATE memories SET pinned = ?, auto_pinned = ? WHERE id = ?', [pinned, auto, id]);
  };
  const topics = [
    'moved to Lisbon',
    'allergic to peanuts',
    'daughter born',
    'started a PhD',
    'quit smoking',
    'new job at the port',
    'ran a marathon',
    'father passed away',
    'adopted a cat',
  ];
  for (let i = 1; i <= 9; i++) {
    write(i, 'ada', `Ada ${topics[i - 1]}`);
    score(i, 3);
    pin(i, 1, 1);
  }
  pin(8, 0, 0); // wrong: the oldest auto-pin is memory 1
  write(10, 'bob', XSS);
  score(10, 1);
  pin(10, 1, 0);
  write(11, 'bob', 'Bob prefers short answers');
  score(11, 2);
  db.close();
}

async function main() {
  await ensureInstalled({ log: () => {} });
  fs.mkdirSync(shots, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-ui-memories-'));
  const ws = path.join(tmp, 'workspace');
  fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
  writeBotDb(path.join(ws, 'bot.db'));
  fs.writeFileSync(path.join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'botMemory.memory.databases': ['bot.db'] }));
  const server = await startServer({ log: () => {}, settings: { 'workbench.colorTheme': 'Default Dark Modern', 'workbench.activityBar.location': 'default' } });
  const b = await launchBrowser();
  const page = b.page;
  try {
    log('1. the Memories view lists the database and its bots');
    await openWorkbench(page, server.url(ws, [['extensionDevelopmentPath', repoRoot]]));
    await page.locator('.activitybar a[aria-label^="Bot Memory"], .activitybar .action-label[aria-label^="Bot Memory"]').first().click();
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /memories/i }) }).first();
    await pane.waitFor({ timeout: 20_000 });
    // Give the Memories view the room: collapse the Sessions pane.
    const sessionsHeader = page.locator('.pane-header', { hasText: /^sessions/i }).first();
    if ((await sessionsHeader.getAttribute('aria-expanded')) === 'true') await sessionsHeader.click();
    const row = (text) => pane.locator('.monaco-list-row', { hasText: text }).first();
    await row('bot.db').waitFor({ timeout: 20_000 });
    await row('ada').waitFor({ timeout: 20_000 });
    const dbText = await row('bot.db').innerText();
    check(/2 bots · \d+ events · 1 issue/.test(dbText), `database row: ${JSON.stringify(dbText)}`);
    check((await row('ada').locator('.codicon-error').count()) === 1, 'the bot with a policy violation has the error icon');
    await row('ada').click();
    await row('Findings (1)').waitFor({ timeout: 10_000 });
    await row('wrong_pin_evicted').waitFor({ timeout: 10_000 });
    check(true, 'ada expands into its findings: wrong_pin_evicted');
    const adaPinned = await row('Ada moved to Lisbon').innerText();
    check(/significance 3 · auto pin/.test(adaPinned), `an auto-pinned memory: ${JSON.stringify(adaPinned)}`);
    check((await row('Ada moved to Lisbon').locator('.codicon-sparkle').count()) === 1, 'auto pins have the sparkle icon');
    await row('bob').click();
    await row('<img src=x').waitFor({ timeout: 10_000 });
    const bobRow = row('<img src=x');
    check(/manual pin/.test(await bobRow.innerText()), 'a manual pin says so');
    check((await bobRow.locator('.codicon-pinned').count()) === 1, 'manual pins have the pinned icon');
    check(
      (await page.evaluate(() => window.__pwned)) === undefined && (await pane.locator('img[src="x"]').count()) === 0,
      'memory text that looks like HTML is shown as text',
    );
    await screenshot(page, path.join(shots, 'memories-tree.png'));

    log('2. an event history');
    await row('Ada moved to Lisbon').click();
    await row('memory_significance_set').waitFor({ timeout: 10_000 });
    check(/significance 3 · event \d+/.test(await row('memory_significance_set').innerText()), 'the history lists the significance event');
    await screenshot(page, path.join(shots, 'memories-history.png'));

    log('3. the Problems panel');
    await page.keyboard.press('Control+Shift+M');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'oldest auto-pin' }).first().waitFor({ timeout: 15_000 });
    const problems = await page.locator('.markers-panel .monaco-list-row').allInnerTexts();
    check(
      problems.some((t) => /bot\.db/.test(t)) && problems.some((t) => /\[ada\] .*oldest auto-pin is memory 1/.test(t)),
      'the database file carries the finding',
    );
    await screenshot(page, path.join(shots, 'memories-problems.png'));
  } finally {
    await b.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runUi(main);
