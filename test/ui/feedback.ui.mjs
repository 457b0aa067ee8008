#!/usr/bin/env node
// UI check of feedback in the real VS Code 1.139.1 web workbench, as a reviewer uses it:
// 1. the inline 👍 on a turn row of the Sessions view rates it: the row's icon turns into a
//    thumb and its description starts with 👍; the view says "n of m reviewed"; hermes-webui's
//    own 👎 (feedback.jsonl beside the sessions folder) shows on the row with "disagree", and the
//    session row counts hermes' thumbs and the disagreement;
// 2. "Next Unreviewed Turn" (palette) opens the review queue's first turn (oldest session first)
//    in its timeline; the `-` key asks why (Escape cancels: nothing rated), then rates it 👎 with
//    the picked reason, shown as a label on the card beside hermes' 👍 and a "disagree" badge, and
//    the focus moves on to the next unrated turn;
//    `n` asks for a note (typed into the input box); `+` rates the session's last unrated turn
//    and the queue moves on to the next session's timeline; the header says "n of m reviewed";
// 3. `c` opens the correction editor (Markdown) prefilled with the answer; saving records it; the
//    card shows it collapsed behind "Show correction", which opens it;
// 4. "Export Training Data…" (palette: dpo, save dialog) writes the pair (0600, card); it opens.
// Screenshots: screenshots/feedback-tree-timeline.png, feedback-next-session.png,
// feedback-correction.png, feedback-export-dpo.png. Exit code 0 = all checks passed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, log, notificationText, repoRoot, runUi, shots } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { frameWithSelector, launchBrowser, openWorkbench, runCommand, screenshot } from '../../scripts/vscode-test/browser.mjs';

const T0 = 1767225600;
function session(dir, sid, title, turns, offset = 0) {
  const lines = [];
  const messages = [];
  turns.forEach(([q, a], i) => {
    const turn = `20260101T00${String(i).padStart(2, '0')}00Z-${sid.padEnd(12, '0').slice(0, 12)}`;
    const at = T0 + offset + i * 60;
    const base = { version: 1, session_id: sid, turn_id: turn, stream_id: `st-${i}` };
    messages.push({ role: 'user', content: q, timestamp: at }, { role: 'assistant', content: a, timestamp: at + 5 });
    const idx = messages.length - 1;
    lines.push({
      ...base,
      event: 'submitted',
      created_at: at,
      role: 'user',
      content: q,
      attachments: [],
      workspace: '/w',
      model: 'gpt-demo',
      model_provider: 'openai',
    });
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
  session(
    dir,
    'code',
    'Rust lifetimes',
    [['Why does my struct need a lifetime?', 'Because it holds a reference: the struct must not outlive what it borrows.']],
    3600,
  );
  // hermes-webui's own thumbs (its state dir = the sessions folder's parent): travel's first answer 👎 too_long
  // (our reviewer will 👍 it: a disagreement), the tram answer 👍 (we will 👎 it), code's answer 👎 (no reviewer rates it:
  // the correction's DPO pair stands, as before).
  const hermesLine = (o) => JSON.stringify({ ts: T0 + 7200, profile: 'default', ...o }) + '\n';
  fs.writeFileSync(
    path.join(ws, 'feedback.jsonl'),
    hermesLine({ session_id: 'travel', rating: 'down', index: 1, reason: 'too_long' }) +
      hermesLine({ session_id: 'travel', rating: 'up', index: 3 }) +
      hermesLine({ session_id: 'code', rating: 'down', index: 1, reason: 'inaccurate' }),
  );
  const server = await startServer({
    log: () => {},
    settings: { 'workbench.colorTheme': 'Default Dark Modern', 'botMemory.feedback.reviewer': 'Ana Reviewer' },
  });
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
    await page.waitForFunction(
      () => [...document.querySelectorAll('.monaco-list-row')].some((r) => r.textContent.includes('Alfama') && r.textContent.includes('thumbs up')),
      null,
      { timeout: 10_000 },
    );
    check((await row.locator('.custom-view-tree-node-item-icon.codicon-thumbsup, .codicon-thumbsup').count()) >= 1, 'the row shows the thumbs-up icon');
    check(/\?\s*thumbs up · /.test(await row.innerText()), 'its description starts with "thumbs up"');
    await page
      .waitForFunction(
        () => [...document.querySelectorAll('.monaco-list-row')].some((r) => r.textContent.includes('Alfama') && r.textContent.includes('disagree')),
        null,
        { timeout: 10_000 },
      )
      .catch(() => {});
    const rowText = await row.innerText();
    check(
      /thumbs up · hermes thumbs down \(too_long\) · disagree/.test(rowText),
      `the row shows hermes' own 👎 (too_long) and "disagree" (${JSON.stringify(rowText)})`,
    );
    check((await row.locator('.codicon-comment-discussion').count()) >= 1, 'a disagreement shows the two-voices icon');
    const travelText = await travel.innerText();
    check(/hermes 1 up 1 down · 1 disagreement/.test(travelText), `the session row counts hermes' thumbs and the disagreement (${JSON.stringify(travelText)})`);
    const file = path.join(dir, '_turn_feedback', 'travel.jsonl');
    const rec = JSON.parse(fs.readFileSync(file, 'utf8').trim());
    check(rec.feedback === 1 && rec.reviewer === 'Ana Reviewer', `the record says 👍 by the configured reviewer (${rec.reviewer})`);
    const msg = await page
      .locator('.sidebar')
      .getByText(/completed turns reviewed/)
      .first()
      .innerText({ timeout: 10_000 })
      .catch(() => '');
    check(/1 of 4 completed turns reviewed/.test(msg), `the view says "1 of 4 completed turns reviewed" (${JSON.stringify(msg)})`);

    log('2. Next Unreviewed Turn (oldest session first); - moves on; n; + moves to the next session');
    await runCommand(page, 'Bot Memory: Next Unreviewed Turn');
    let frame = await frameWithSelector(page, 'article.card.turn.selected', { timeout: 20_000 });
    const selectedText = async () => frame.locator('article.card.turn.selected').innerText();
    check((await selectedText()).includes('Is the 28 tram worth it?'), "the queue starts at the oldest session's first unrated turn");
    check((await frame.locator('article.card.turn').count()) === 3, 'the whole session is shown');
    check(
      /1 of 3 reviewed/.test(
        await frame
          .locator('header, .header, #header')
          .first()
          .innerText()
          .catch(() => ''),
      ) || (await frame.getByText('1 of 3 reviewed').count()) > 0,
      'the header says "1 of 3 reviewed"',
    );
    await frame.locator('article.card.turn.selected').focus();
    await page.keyboard.press('-');
    const reasonRow = (text) => page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
    await reasonRow('not_helpful').waitFor({ timeout: 10_000 });
    check(
      (await reasonRow('(no reason)').count()) === 1 && (await reasonRow('too_long').count()) === 1,
      'the - key asks why: the reasons of the setting, and "(no reason)"',
    );
    await screenshot(page, path.join(shots, 'feedback-reason-pick.png'));
    await page.keyboard.press('Escape');
    await frame.waitForFunction(() => document.querySelector('article.card.turn.selected')?.textContent?.includes('28 tram'), null, { timeout: 10_000 });
    check(
      fs
        .readFileSync(path.join(dir, '_turn_feedback', 'travel.jsonl'), 'utf8')
        .trim()
        .split('\n').length === 1,
      'Escape cancels: nothing rated, the card is selected again',
    );
    await frame.locator('article.card.turn.selected').focus();
    await page.keyboard.press('-');
    await reasonRow('not_helpful').waitFor({ timeout: 10_000 });
    await reasonRow('not_helpful').click();
    await frame.locator('article.card.turn .feedback-down').first().waitFor({ timeout: 10_000 });
    const tram = frame.locator('article.card.turn', { hasText: 'Is the 28 tram worth it?' }).first();
    await tram.locator('.fb-disagree').waitFor({ timeout: 10_000 });
    const tramMeta = await tram.locator('.feedback').innerText();
    check(
      /not_helpful/.test(tramMeta) && (await tram.locator('.feedback > .fb-reason').innerText()) === 'not_helpful',
      `the card shows the reason as a label (${JSON.stringify(tramMeta)})`,
    );
    check(
      (await tram.locator('.fb-hermes-up').count()) === 1 && /hermes-webui/.test(await tram.locator('.fb-hermes').innerText()),
      "hermes-webui's own 👍 shows next to ours",
    );
    check((await tram.locator('.fb-disagree').innerText()) === 'disagree', 'a "disagree" badge: our 👎 vs hermes\' 👍');
    await frame.waitForFunction(() => document.querySelector('article.card.turn.selected')?.textContent?.includes('Sintra'), null, { timeout: 10_000 });
    check(true, 'the - key rated it 👎 and the focus moved on to the next unrated turn (Sintra)');
    await frame.getByText('2 of 3 reviewed').first().waitFor({ timeout: 10_000 });
    check(true, 'the header says "2 of 3 reviewed"');
    await frame.locator('article.card.turn.selected').focus();
    await page.keyboard.press('n');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill('Mention the Sintra Line from Rossio, <b>and</b> tickets.');
    await page.keyboard.press('Enter');
    await frame.locator('article.card.turn .fb-comment').first().waitFor({ timeout: 10_000 });
    const note = await frame.locator('article.card.turn .fb-comment').first().innerText();
    check(note.includes('<b>and</b>'), `the note shows verbatim as text (${JSON.stringify(note)})`);
    await page.waitForFunction(
      () => [...document.querySelectorAll('.monaco-list-row')].some((r) => r.textContent.includes('28 tram') && r.textContent.includes('thumbs down')),
      null,
      { timeout: 10_000 },
    );
    check(true, 'the tree row shows 👎 too');
    const treeSays = await page
      .locator('.sidebar')
      .getByText(/completed turns reviewed/)
      .first()
      .innerText()
      .catch(() => '');
    const bar = page.locator('.statusbar-item', { hasText: /\d+ of \d+ reviewed/ }).first();
    await page
      .waitForFunction(
        (want) => [...document.querySelectorAll('.statusbar-item')].some((e) => e.textContent?.trim() === want),
        (treeSays.match(/\d+ of \d+/)?.[0] ?? '?') + ' reviewed',
        { timeout: 10_000 },
      )
      .catch(() => {});
    const barText = (await bar.innerText().catch(() => '')).trim();
    check(
      /^2 of 4 completed turns reviewed/.test(treeSays) && barText === '2 of 4 reviewed',
      `the status bar counts the review live, as the tree does (${JSON.stringify(barText)} / ${JSON.stringify(treeSays)})`,
    );
    await page.mouse.move(10, 10);
    await screenshot(page, path.join(shots, 'feedback-tree-timeline.png'));
    await frame.locator('article.card.turn.selected').focus();
    await page.keyboard.press('+');
    // The last unrated turn of "travel" is rated: the queue opens "code".
    await page
      .waitForFunction(() => [...document.querySelectorAll('.tab')].some((t) => t.classList.contains('active') && /code/.test(t.textContent ?? '')), null, {
        timeout: 20_000,
      })
      .catch(() => {});
    frame = await frameWithSelector(page, 'article.card.turn.selected', { timeout: 20_000 });
    await page.waitForTimeout(500);
    frame = await frameWithSelector(page, 'article.card.turn.selected', { timeout: 20_000 });
    let onCode = false;
    for (const f of page.frames())
      if (
        (
          (await f
            .locator('article.card.turn.selected')
            .innerText()
            .catch(() => '')) ?? ''
        ).includes('struct need a lifetime')
      ) {
        frame = f;
        onCode = true;
      }
    check(onCode, 'rating the last unrated turn moved on to the next session of the queue (Rust lifetimes)');
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    check(
      lines.map((l) => l.feedback).join(',') === '1,-1,0,1' && lines[1].reason === 'not_helpful',
      `records: 👍, 👎 (not_helpful), the note, 👍 (${JSON.stringify(lines.map((l) => [l.feedback, l.reason ?? null, l.note ?? null]))})`,
    );
    await screenshot(page, path.join(shots, 'feedback-next-session.png'));

    log('3. c: the correction editor');
    await frame.locator('article.card.turn.selected').focus();
    await page.keyboard.press('c');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await page.waitForFunction(() => [...document.querySelectorAll('.tab.active')].some((t) => /code-.*\.md/.test(t.textContent ?? '')), null, {
      timeout: 15_000,
    });
    // Monaco renders spaces as U+00A0.
    const prefilled = await page
      .waitForFunction(
        () =>
          [...document.querySelectorAll('.editor-instance .monaco-editor .view-lines')].some((e) =>
            (e.textContent ?? '').replace(/\u00a0/g, ' ').includes('struct must not outlive'),
          ),
        null,
        { timeout: 10_000 },
      )
      .then(
        () => true,
        () => false,
      );
    check(prefilled, 'the editor (Markdown, beside the timeline) is prefilled with the answer');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('It holds a **reference**, so it needs a lifetime parameter.');
    await page.keyboard.press('ControlOrMeta+S');
    const codeFile = path.join(dir, '_turn_feedback', 'code.jsonl');
    const until = Date.now() + 15_000;
    let cor;
    while (!cor && Date.now() < until) {
      cor = fs.existsSync(codeFile)
        ? fs
            .readFileSync(codeFile, 'utf8')
            .split('\n')
            .filter((l) => l.endsWith('}'))
            .map((l) => JSON.parse(l))
            .find((r) => r.type === 'correction')
        : undefined;
      if (!cor) await page.waitForTimeout(200);
    }
    check(
      cor?.text === 'It holds a **reference**, so it needs a lifetime parameter.' && cor.reviewer === 'Ana Reviewer',
      `saving recorded the correction (${JSON.stringify(cor)})`,
    );
    // The card shows the correction collapsed; "Show correction" opens it (as text).
    const codeCard = frame.locator('article.card.turn', { hasText: 'struct need a lifetime' }).first();
    const showBtn = codeCard.locator('[data-action="fb-toggle-correction"]');
    await showBtn.waitFor({ timeout: 15_000 });
    check(
      (await showBtn.innerText()) === 'Show correction' && !(await codeCard.locator('.fb-correction-text').isVisible()),
      'the card holds the correction, collapsed',
    );
    check(
      (await codeCard.locator('.fb-hermes-down').count()) === 1 && (await codeCard.locator('.fb-disagree').count()) === 0,
      "hermes' own 👎 shows; no reviewer rated it: no badge",
    );
    await showBtn.click();
    await codeCard.locator('.fb-correction-text').waitFor({ state: 'visible', timeout: 5000 });
    const corText = await codeCard.locator('.fb-correction-text .text').innerText();
    check(
      corText === 'It holds a **reference**, so it needs a lifetime parameter.',
      `"Show correction" shows it verbatim, as text (${JSON.stringify(corText)})`,
    );
    check((await showBtn.innerText()) === 'Hide correction', 'the button now says "Hide correction"');
    await page.mouse.move(10, 10);
    await screenshot(page, path.join(shots, 'feedback-correction.png'));

    log('4. Export Training Data… as dpo, then Open File');
    const out = path.join(ws, 'dpo.jsonl');
    const qi = page.locator('.quick-input-widget .quick-input-box input');
    // No webview open while the export asks its questions: the timeline's webview took focus back and closed them (CI).
    await runCommand(page, 'View: Close All Editors');
    // Run from the palette while the timeline's webview had focus, the workbench may give focus back to the
    // webview after the palette closes, which closes the format pick just opened (seen in CI): ask again.
    for (let attempt = 1; ; attempt++) {
      await runCommand(page, 'Bot Memory: Export Training Data…');
      const shown = await qi.waitFor({ state: 'visible', timeout: 5_000 }).then(
        () => true,
        () => false,
      );
      if (shown || attempt === 3) break;
      log(`  (the format pick closed as focus went back to the webview: attempt ${attempt + 1})`);
      await page.keyboard.press('Escape');
    }
    await qi.waitFor({ state: 'visible', timeout: 5_000 });
    await qi.fill('dpo');
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'DPOTrainer' }).first().click();
    // Each next step waits for its own pick by name: a key pressed between two picks goes to the timeline's webview
    // (Enter on its card), which takes focus and closes the pick that opens next (seen in CI under load).
    const visibleInput = (label) =>
      page.waitForFunction(
        (src) => {
          const i = document.querySelector('.quick-input-widget .quick-input-box input');
          return !!i && i.getClientRects().length > 0 && new RegExp(src).test(i.getAttribute('aria-label') ?? '');
        },
        label.source,
        { timeout: 15_000 },
      );
    await visibleInput(/options/);
    await page.keyboard.press('Enter'); // options: none
    // The web workbench's simple save dialog: a path box (any input but the options pick's).
    await visibleInput(/^(?!.*options)/);
    await screenshot(page, path.join(shots, 'feedback-export-save-dialog.png'));
    const pathBox = page.locator('.quick-input-widget .quick-input-box input');
    await pathBox.waitFor({ state: 'visible', timeout: 10_000 });
    await pathBox.fill(out);
    await page.waitForTimeout(300);
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click();
    const exported = () => fs.existsSync(out) && fs.existsSync(`${out}.README.md`);
    for (let i = 0; i < 100 && !exported(); i++) await page.waitForTimeout(200);
    check(fs.existsSync(out), `the export was written to ${out}`);
    const pairs = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    check(
      pairs.length === 1 && pairs[0].chosen[0].content === cor?.text && pairs[0].rejected[0].content.startsWith('Because it holds'),
      `the dpo file holds the correction pair (${pairs.length} line)`,
    );
    check((fs.statSync(out).mode & 0o777) === 0o600 && fs.existsSync(`${out}.README.md`), 'the file is 0600 with its dataset card beside it');
    // The result notification (a toast, else in the notification center) opens the file.
    const result = await notificationText(page, /→ dpo\.jsonl/, 20_000);
    check(
      /\b1 dpo example\b/.test(result) && /Open File/.test(result),
      `the result notification counts the examples and offers Open File (${result.split('\n')[0]})`,
    );
    await screenshot(page, path.join(shots, 'feedback-export-notification.png'));
    await page
      .locator('.notification-list-item', { hasText: '→ dpo.jsonl' })
      .locator('.monaco-button', { hasText: 'Open File' })
      .first()
      .click({ timeout: 10_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('.tab.active')].some((t) => /dpo\.jsonl/.test(t.textContent ?? '')), null, {
      timeout: 15_000,
    });
    check(true, 'the export opens in an editor');
    await page.mouse.move(10, 10);
    await screenshot(page, path.join(shots, 'feedback-export-dpo.png'));
  } finally {
    await b.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runUi(main);
