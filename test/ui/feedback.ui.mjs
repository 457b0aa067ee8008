#!/usr/bin/env node
// UI check of feedback in the real VS Code 1.139.1 web workbench, as a reviewer uses it:
// 1. the inline 👍 on a turn row of the Sessions view rates it: the row's icon turns into a
//    thumb and its description starts with 👍; the view says "n of m reviewed";
// 2. "Next Unreviewed Turn" (palette) opens the newest unrated completed turn in its timeline;
//    the `-` key rates the focused card 👎, `n` asks for a note (typed into the input box), and
//    the card shows both; the tree row updates too.
// Screenshot: screenshots/feedback-tree-timeline.png. Exit code 0 = all checks passed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, log, repoRoot, runUi, shots } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { frameWithSelector, launchBrowser, openWorkbench, runCommand, screenshot } from '../../scripts/vscode-test/browser.mjs';


const T0 = 1767225600;
function session(dir, sid, title, turns) {
  const lines = [];
  const messages = [];
  turns.forEach(([q, a], i) => {
    const turn = `20260101T00${String(i).padStart(2, '0')}00Z-${sid.padEnd(12, '0').slice(0, 12)}`;
    const at = T0 + i * 60;
    const base = { version: 1, session_id: sid, turn_id: turn, stream_id: `st-${i}` };
    messages.push({ role: 'user', content: q, timestamp: at }, { role: 'assistant', content: a, timestamp: at + 5 });
    const idx = messages.length - 1;
    lines.push({ ...base, event: 'submitted', created_at: at, role: 'user', content: q, attachments: [], workspace: '/w', model: 'gpt-demo', model_provider: 'openai' });
    lines.push({ ...base, event: 'worker_started', created_at: at + 0.3 });
    lines.push({ ...base, event: 'assistant_started', created_at: at + 1, assistant_message_index: idx });
    lines.push({ ...base, event: 'completed', created_at: at + 4.2, assistant_message_index: idx, terminal: true });
  });
  fs.mkdirSync(path.join(dir, '_turn_journal'), { recursive: true });
  fs.writeFileSync(path.join(dir, '_turn_journal', `${sid}~100.jsonl`), lines.map((l) => JSON.stringify(l) + '\n').join(''));
  fs.writeFileSync(path.join(dir, `${sid}.json`), JSON.stringify({ session_id: sid, title, messages }, null, 2));
}

async function main() {
  await ensureInstalled({ log: () => {} });
  fs.mkdirSync(shots, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-ui-feedback-'));
  const ws = path.join(tmp, 'workspace');
  const dir = path.join(ws, 'sessions');
  session(dir, 'travel', 'Weekend in Lisbon', [
    ['Where should I eat in Alfama?', 'Try a tasca near the Sé: grilled sardines and vinho verde.'],
    ['Is the 28 tram worth it?', 'Yes, early in the morning before the queues; hold on to your bag.'],
    ['How do I get to Sintra?', 'Take the train from Rossio; about 40 minutes.'],
  ]);
  session(dir, 'code', 'Rust lifetimes', [['Why does my struct need a lifetime?', 'Because it holds a reference: the struct must not outlive what it borrows.']]);
  const server = await startServer({ log: () => {}, settings: { 'workbench.colorTheme': 'Default Dark Modern', 'botMemory.feedback.reviewer': 'Ana Reviewer' } });
  const b = await launchBrowser();
  const page = b.page;
  try {
    await openWorkbench(page, server.url(ws, [['extensionDevelopmentPath', repoRoot]]));
    await page.locator('.activitybar a[aria-label^="Bot Memory"], .activitybar .action-label[aria-label^="Bot Memory"]').first().click();
    const travel = page.locator('.monaco-list-row', { hasText: 'Weekend in Lisbon' }).first();
    await travel.waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => !document.body.innerText.includes('reading…'), null, { timeout: 20_000 });
    // Widen the side bar so the descriptions are readable.
    const box = await page.locator('.part.sidebar').boundingBox();
    if (box) {
      await page.mouse.move(box.x + box.width + 2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(560, box.y + box.height / 2, { steps: 8 });
      await page.mouse.up();
    }
    await travel.click();

    log('1. inline thumbs up in the tree');
    const row = page.locator('.monaco-list-row', { hasText: 'Where should I eat in Alfama?' }).first();
    await row.waitFor({ timeout: 10_000 });
    await row.hover();
    await row.locator('.action-label.codicon-thumbsup').click();
    await page.waitForFunction(() => [...document.querySelectorAll('.monaco-list-row')].some((r) => r.textContent.includes('Alfama') && r.textContent.includes('thumbs up')), null, { timeout: 10_000 });
    check((await row.locator('.custom-view-tree-node-item-icon.codicon-thumbsup, .codicon-thumbsup').count()) >= 1, 'the row shows the thumbs-up icon');
    check(/thumbs up · completed/.test(await row.innerText()), 'its description starts with "thumbs up"');
    const file = path.join(dir, '_turn_feedback', 'travel.jsonl');
    const rec = JSON.parse(fs.readFileSync(file, 'utf8').trim());
    check(rec.feedback === 1 && rec.reviewer === 'Ana Reviewer', `the record says 👍 by the configured reviewer (${rec.reviewer})`);
    const msg = await page.locator('.sidebar').getByText(/completed turns reviewed/).first().innerText({ timeout: 10_000 }).catch(() => '');
    check(/1 of 4 completed turns reviewed/.test(msg), `the view says "1 of 4 completed turns reviewed" (${JSON.stringify(msg)})`);

    log('2. Next Unreviewed Turn, then - and n in the timeline');
    await runCommand(page, 'Bot Memory: Next Unreviewed Turn');
    const frame = await frameWithSelector(page, 'article.card.turn.selected', { timeout: 20_000 });
    const selected = frame.locator('article.card.turn.selected');
    const text = await selected.innerText();
    check(text.includes('How do I get to Sintra?'), 'the newest unrated completed turn is revealed and selected');
    check((await frame.locator('article.card.turn').count()) === 3, 'the whole session is shown');
    await selected.focus();
    await page.keyboard.press('-');
    await frame.locator('article.card.turn .feedback-down').first().waitFor({ timeout: 10_000 });
    check(true, 'the - key rated it 👎 (the card shows it)');
    await frame.locator('article.card.turn.selected').focus();
    await page.keyboard.press('n');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill('Mention the Sintra Line from Rossio, <b>and</b> tickets.');
    await page.keyboard.press('Enter');
    await frame.locator('article.card.turn .fb-comment').first().waitFor({ timeout: 10_000 });
    const note = await frame.locator('article.card.turn .fb-comment').first().innerText();
    check(note.includes('<b>and</b>'), `the note shows verbatim as text (${JSON.stringify(note)})`);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    check(lines.length === 3 && lines[2].feedback === -1 && lines[2].note.startsWith('Mention'), `the note record keeps the 👎 (${JSON.stringify(lines.map((l) => [l.turn_id.slice(0, 15), l.feedback, l.note]))})`);
    await page.waitForFunction(() => [...document.querySelectorAll('.monaco-list-row')].some((r) => r.textContent.includes('Sintra') && r.textContent.includes('thumbs down')), null, { timeout: 10_000 });
    check(true, 'the tree row shows 👎 too');
    await page.mouse.move(10, 10);
    await screenshot(page, path.join(shots, 'feedback-tree-timeline.png'));
  } finally {
    await b.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runUi(main);
