#!/usr/bin/env node
// UI check of the Sessions view in the real VS Code 1.139.1 web workbench (code-server's
// server + headless Debian chromium, see scripts/vscode-test/*.mjs), as a user sees it:
// 1. an empty workspace shows the welcome view; its "Open Demo Sessions" button fills the tree;
// 2. with the demo folder in the workspace: the Bot Memory container lists every session with
//    its health, a session expands into its broken lines and turns, the status bar counts the
//    sessions needing attention, and the Problems panel holds the shards' findings unopened.
// 4. a hostile session (turn id, title and text carrying `[x](command:…)` / `javascript:` links)
//    through the tree, its tooltip, "Mark Collision Reviewed…"'s notification and the timeline
//    webview: no `command:` or `javascript:` link exists in any of their DOMs (issue 14).
// Screenshots: screenshots/sessions-*.png. Exit code 0 = all checks passed.
import fs from 'node:fs';
import path from 'node:path';
import { check, demoWorkspace, log, notificationText, repoRoot, runUi, shots, openBotMemory, waitUntil, widenSidebar } from './common.mjs';
import { ensureInstalled } from '../../scripts/vscode-test/install.mjs';
import { startServer } from '../../scripts/vscode-test/server.mjs';
import { launchBrowser, openWorkbench, runCommand, screenshot } from '../../scripts/vscode-test/browser.mjs';

const rows = (page) => page.locator('.sidebar .pane-body .monaco-list-row').filter({ hasText: /./ });

const HOSTILE_TURN = '[Open report](command:workbench.action.openGlobalKeybindings)';

/** A session whose title, turn id and text are link payloads; the turn has a terminal collision (completed, then interrupted). */
function writeHostileSession(sessionsDir) {
  const at = 1762009200;
  const ev = (event, t, extra = {}) =>
    JSON.stringify({ event, stream_id: 'st', version: 1, session_id: 'hostile1', turn_id: HOSTILE_TURN, created_at: at + t, ...extra });
  const user = 'Click [x](command:workbench.action.quit) or [y](javascript:alert(1)) or <a href="command:workbench.action.quit">z</a>';
  const lines = [
    ev('submitted', 0, { role: 'user', content: user }),
    ev('completed', 1, { terminal: true, content: 'done [ok](command:workbench.action.quit)' }),
    ev('interrupted', 2, { terminal: true, reason: 'client_disconnect' }),
  ];
  fs.writeFileSync(path.join(sessionsDir, '_turn_journal', 'hostile1~4242.jsonl'), lines.join('\n') + '\n');
  const messages = [
    { role: 'user', content: user },
    { role: 'assistant', content: 'done [ok](command:workbench.action.quit)' },
  ];
  fs.writeFileSync(
    path.join(sessionsDir, 'hostile1.json'),
    JSON.stringify({ session_id: 'hostile1', title: 'Hostile session [t](command:workbench.action.quit)', messages }),
  );
}

/** Every link in the page and its frames (webviews are nested frames) whose target is a command: or javascript: URI. */
async function liveLinks(page) {
  const found = [];
  for (const frame of page.frames()) {
    const hrefs = await frame.$$eval('a[href], area[href]', (as) => as.map((a) => a.getAttribute('href') ?? '')).catch(() => []);
    // The workbench's own chrome may hold command links of its own; a payload's target never may.
    const own = frame === page.mainFrame();
    for (const h of hrefs) {
      const bad = /^\s*javascript:/i.test(h) || (/^\s*command:/i.test(h) && (!own || /workbench\.action\.(quit|openGlobalKeybindings)/.test(h)));
      if (bad) found.push(`${own ? 'workbench' : frame.url().slice(0, 60)}: ${h}`);
    }
  }
  return found;
}

/** The text of every webview frame. */
async function timelineText(page) {
  const texts = await Promise.all(
    page
      .frames()
      .filter((f) => f !== page.mainFrame())
      .map((f) => f.evaluate(() => document.body?.innerText ?? '').catch(() => '')),
  );
  return texts.join('\n');
}

async function main() {
  await ensureInstalled({ log: () => {} });
  fs.mkdirSync(shots, { recursive: true });
  const { tmp, ws: withDemo, sessions: demoSessions } = demoWorkspace('bma-ui-sessions-');
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

    log('4. a hostile session: no command: or javascript: link in the tree, tooltip, notification or webview');
    await page.keyboard.press('Control+Shift+M'); // the Problems panel closes again
    await rust.click(); // collapse it, so every session row fits
    writeHostileSession(demoSessions);
    await runCommand(page, 'Bot Memory: Refresh Sessions');
    const hostileRow = page.locator('.monaco-list-row', { hasText: 'Hostile session' }).first();
    await hostileRow.waitFor({ timeout: 30_000 });
    await hostileRow.click();
    const turnRow = page.locator('.monaco-list-row', { hasText: 'Click' }).first();
    await turnRow.waitFor({ timeout: 15_000 });
    let hoverText = [];
    await waitUntil(
      async () => {
        // Away and back: a hover shows on a mouse move onto the label, not on staying there.
        await page.mouse.move(5, 5);
        await turnRow.locator('.label-name, .monaco-icon-label').first().hover();
        // The hover shows after the workbench's hover delay: wait for it before moving again.
        return waitUntil(
          async () => {
            hoverText = await page.locator('.monaco-hover, .workbench-hover, .monaco-hover-content').allInnerTexts();
            return hoverText.some((t) => t.includes('command:workbench.action.'));
          },
          { timeout: 2_000, interval: 100 },
        );
      },
      { timeout: 15_000, interval: 200 },
    );
    check(
      hoverText.some((t) => t.includes('command:workbench.action.')),
      `the turn tooltip shows the payload as text (${JSON.stringify(hoverText).slice(0, 300)})`,
    );
    check((await liveLinks(page)).length === 0, `no live link in the tree or its tooltip (${JSON.stringify(await liveLinks(page))})`);
    await screenshot(page, path.join(shots, 'sessions-hostile-tooltip.png'));
    // Right-click the row's indent, not its label (the label's hover would cover the menu), and
    // repeat the gesture until the note box shows (a menu click can be lost while the tree re-renders).
    // The visible input: the command palette's own lingers hidden in the page.
    const input = page.locator('.quick-input-widget input:visible');
    const asked = await waitUntil(
      async () => {
        await page.keyboard.press('Escape'); // a menu left open by a lost click
        await page.mouse.move(5, 5);
        await turnRow.click({ button: 'right', position: { x: 4, y: 4 } });
        await page.locator('.context-view .action-label', { hasText: 'Mark Collision Reviewed' }).first().click({ timeout: 5_000 });
        return input.waitFor({ timeout: 5_000 }).then(
          () => true,
          () => false,
        );
      },
      { timeout: 45_000, interval: 300 },
    );
    check(asked, 'Mark Collision Reviewed… asks for a note');
    await input.fill('[note](command:workbench.action.quit) reviewed');
    await page.keyboard.press('Enter');
    const note = await notificationText(page, /marked reviewed/);
    check(
      /collision of turn .*command:workbench\.action\.openGlobalKeybindings.* marked reviewed/.test(note),
      `the notification names the turn as text (${note.split('\n')[0]})`,
    );
    const toastLinks = await liveLinks(page);
    check(toastLinks.length === 0, `no live link in the notification (${JSON.stringify(toastLinks)})`);
    await screenshot(page, path.join(shots, 'sessions-hostile-notification.png'));
    await page.locator('.monaco-list-row', { hasText: 'Click' }).first().click(); // opens the timeline (preview tab)
    const webviewReady = await waitUntil(async () => /Click/.test(await timelineText(page)), { timeout: 30_000 });
    check(webviewReady, 'the timeline webview shows the hostile text');
    const webLinks = await liveLinks(page);
    check(webLinks.length === 0, `no command: or javascript: link in any webview (${JSON.stringify(webLinks)})`);
    await screenshot(page, path.join(shots, 'sessions-hostile-timeline.png'));
  } finally {
    await b.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runUi(main);
