#!/usr/bin/env node
// UI check of audit and repair in the real VS Code web workbench, on a copy of the demo:
// 1. "Bot Memory: Audit Sessions" opens the report (rendered Markdown) per session and finding;
// 2. "Bot Memory: Repair All Sessions…" shows the plan beside, then asks in a quick pick that stays open (not a modal); "Repair" applies;
// 3. a session's context menu in the Sessions view offers "Repair Session…";
// 4. "Bot Memory: Undo Last Repair" asks and restores the sidecars.
// Screenshots: screenshots/repair-*.png. Exit code 0 = all checks passed.
import fs from 'node:fs';
import path from 'node:path';
import { check, demoWorkspace, log, notificationText, repoRoot, runUi, shots, waitUntil } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { launchBrowser, openWorkbench, runCommand, screenshot, frameWithSelector } from '../../scripts/vscode-test/browser.mjs';

/** Text of the rendered Markdown preview (a webview iframe) that matches `contains`. */
async function previewText(page, contains) {
  await frameWithSelector(page, '.markdown-body, body.vscode-body', { timeout: 20_000 }).catch(async (e) => {
    await screenshot(page, path.join(shots, 'repair-preview-missing.png'));
    throw e;
  });
  let last = '';
  const found = await waitUntil(
    async () => {
      for (const frame of page.frames().filter((f) => f !== page.mainFrame())) {
        const text = await frame
          .locator('body')
          .innerText({ timeout: 500 })
          .catch(() => '');
        if (contains.test(text)) return text;
        if (text) last = text;
      }
      return undefined;
    },
    { timeout: 15_000, interval: 200 },
  );
  return found ?? last;
}

async function main() {
  await ensureInstalled({ log: () => {} });
  fs.mkdirSync(shots, { recursive: true });
  const { tmp, ws, sessions } = demoWorkspace('bma-ui-repair-');
  const sidecar = path.join(sessions, 'e71b4f0c3d28.json');
  const before = fs.readFileSync(sidecar);
  const server = await startServer({ log: () => {}, settings: { 'workbench.colorTheme': 'Default Light Modern', 'botMemory.repair.reviewer': 'ui-test' } });
  const b = await launchBrowser();
  const page = b.page;
  try {
    await openWorkbench(page, server.url(ws, [['extensionDevelopmentPath', repoRoot]]));

    log('1. Audit Sessions');
    await runCommand(page, 'Bot Memory: Audit Sessions');
    const report = await previewText(page, /What repair would do/);
    check(/Bot Memory audit/.test(report), 'the audit report opens as a rendered document');
    check(/4e2c7a9b0d13/.test(report) && /glued_event/.test(report), 'it lists sessions and their findings');
    check(/What repair would do/.test(report) && /interruption marker/.test(report), 'it says what repair would do');
    await screenshot(page, path.join(shots, 'repair-audit-report.png'));

    log('2. Repair All Sessions…');
    await runCommand(page, 'Bot Memory: Repair All Sessions…');
    // Non-modal: a quick pick (Repair / Cancel) that stays open; the plan beside it stays scrollable.
    const dialog = page.locator('.quick-input-widget', { hasText: 'as shown in the plan' }).first();
    await dialog.waitFor({ timeout: 20_000 }).catch(async (e) => {
      await screenshot(page, path.join(shots, 'repair-confirm-missing.png'));
      throw e;
    });
    const dialogText = await dialog.innerText();
    check(/Repair \d+ sessions as shown in the plan\?/.test(dialogText), 'a quick pick asks first: "Repair N sessions as shown in the plan?"');
    check(/backed up/.test(dialogText) && /Undo Last Repair/.test(dialogText), 'it says how to undo');
    check(!/\(s\)/.test(dialogText), 'counted words, no "(s)"');
    check((await page.locator('.monaco-dialog-box').count()) === 0, 'no modal dialog blocks the plan');
    const plan = await previewText(page, /Repair plan — all sessions/);
    check(/Repair plan — all sessions/.test(plan) && /Journal/.test(plan) && /Sidecar/.test(plan), 'the plan is shown beside the question');
    check(fs.readFileSync(sidecar).equals(before), 'nothing is written before confirming');
    await screenshot(page, path.join(shots, 'repair-plan-confirm.png'));
    await dialog
      .locator('.monaco-list-row', { hasText: /Repair/ })
      .first()
      .click();
    // The repair writes session after session: the files are checked once its result is reported
    // (a check right after the first sidecar changed raced the later sessions' shards).
    const notes = await notificationText(page, /repaired \d+ sessions?/, 25_000);
    check(!fs.readFileSync(sidecar).equals(before), 'confirming applies the repair');
    check(fs.existsSync(path.join(sessions, '_turn_journal', 'e71b4f0c3d28~audit.jsonl')), "the auditor's own shard is written");
    check(/repaired \d+ sessions?/.test(notes), 'a notification reports the result');
    check(/Undo/.test(notes), 'the result notification offers Undo');
    await screenshot(page, path.join(shots, 'repair-applied.png'));

    log('3. the Sessions view context menu');
    await page.locator('.activitybar a[aria-label^="Bot Memory"], .activitybar .action-label[aria-label^="Bot Memory"]').first().click();
    const row = page.locator('.monaco-list-row', { hasText: 'Planilha de orçamento' }).first();
    await row.waitFor({ timeout: 20_000 });
    await row.click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu, .monaco-menu-container').first();
    await menu.waitFor({ timeout: 10_000 }).catch(() => undefined);
    const items = await menu.innerText().catch(() => '');
    check(/Repair Session…/.test(items), 'a session\'s context menu offers "Repair Session…"');
    await screenshot(page, path.join(shots, 'repair-context-menu.png'));
    await page.keyboard.press('Escape');

    log('4. Undo Last Repair');
    await runCommand(page, 'Bot Memory: Undo Last Repair');
    const undo = page.locator('.monaco-dialog-box');
    await undo.waitFor({ timeout: 20_000 });
    const undoText = await undo.innerText();
    check(
      /Undo the repair of \d+ sessions \((just now|\d+ min ago)\)\?/.test(undoText),
      `undo asks first, naming what and when: ${undoText.split('\n').find((l) => /Undo the repair/.test(l))}`,
    );
    check(/Undone: .*appended/.test(undoText), 'the undo dialog counts the changes');
    await screenshot(page, path.join(shots, 'repair-undo-dialog.png'));
    await undo.locator('.monaco-button', { hasText: /^Undo$/ }).click();
    await waitUntil(() => fs.readFileSync(sidecar).equals(before), { timeout: 15_000 });
    check(fs.readFileSync(sidecar).equals(before), 'undo restores the sidecar byte for byte');
  } finally {
    await b.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runUi(main);
