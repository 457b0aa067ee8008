// Shared by the UI scripts (*.ui.mjs): paths, the pass/fail tally with its closing line, and
// the few workbench gestures several scripts need.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../scripts/vscode-test/browser.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const shots = path.join(repoRoot, 'screenshots');
export const log = (m) => console.log(m);

let passes = 0;
let failures = 0;

/** Records one check and prints it. */
export function check(ok, what) {
  if (ok) passes++;
  else failures++;
  log(`  ${ok ? '✔' : '✗'} ${what}`);
}

/**
 * One step of a script (a group of checks): an exception there (a timeout, a missing element)
 * is reported as a failed check and the script goes on with its next step, so every check
 * is reported.
 */
export async function step(name, fn) {
  log(`[ui] ${name}`);
  try {
    await fn();
  } catch (e) {
    check(false, `${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/** Polls `fn` until it returns a truthy value and returns it; after `timeout` ms returns the last value (falsy). */
export async function waitUntil(fn, { timeout = 15_000, interval = 100 } = {}) {
  const until = Date.now() + timeout;
  let v;
  for (;;) {
    v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Waits until `fn` returns the same value three polls in a row (e.g. the number of rendered cards); returns it. */
export async function waitStable(fn, { timeout = 10_000, interval = 150 } = {}) {
  let last;
  let same = 0;
  await waitUntil(
    async () => {
      const v = JSON.stringify(await fn());
      same = v === last ? same + 1 : 0;
      last = v;
      return same >= 2;
    },
    { timeout, interval },
  );
  return last === undefined ? undefined : JSON.parse(last);
}

/** Resolves after a frame has handled what came before (two animation frames inside it). */
export function settled(frame) {
  return frame.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))).catch(() => false);
}

/** Runs a script's main(): prints `N passed, N failed` last and sets the exit code. */
export function runUi(main) {
  main().then(
    () => {
      log(`${passes} passed, ${failures} failed`);
      process.exitCode = failures ? 1 : 0;
    },
    (err) => {
      console.error(err);
      log(`${passes} passed, ${failures + 1} failed`);
      process.exitCode = 1;
    },
  );
}

/**
 * A scratch folder `<tmp>/workspace` holding a copy of the demo at `demo/sessions` (without
 * any index a local rebuild left there). Returns the three paths.
 */
export function demoWorkspace(prefix) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const ws = path.join(tmp, 'workspace');
  const sessions = path.join(ws, 'demo', 'sessions');
  fs.mkdirSync(path.dirname(sessions), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'demo', 'sessions'), sessions, { recursive: true, filter: (src) => !path.basename(src).includes('.sqlite') });
  return { tmp, ws, sessions };
}

/**
 * The notification whose text matches `re` (the matching line first, then all the text): from
 * the toasts while they show, else from the notification center.
 */
export async function notificationText(page, re, timeout = 30_000) {
  const until = Date.now() + timeout;
  let last = '';
  const shown = await waitUntil(
    async () => {
      last = (
        await page
          .locator('.notifications-toasts .notification-toast')
          .allInnerTexts()
          .catch(() => [])
      ).join('\n');
      return re.test(last);
    },
    { timeout: Math.max(0, until - Date.now()), interval: 250 },
  );
  if (shown) return last.split('\n').find((l) => re.test(l)) + '\n' + last;
  await runCommand(page, 'Notifications: Show Notifications');
  const all = await page
    .locator('.notifications-center')
    .innerText()
    .catch(() => last);
  return (all.split('\n').find((l) => re.test(l)) ?? '') + '\n' + all;
}

/** Opens the Bot Memory container from the activity bar. */
export async function openBotMemory(page) {
  await page.locator('.activitybar .action-label[aria-label^="Bot Memory"]').first().click();
  // One view in the container: VS Code hides its header and titles the side bar instead.
  await page
    .locator('.sidebar .composite.title', { hasText: /bot memory/i })
    .first()
    .waitFor({ timeout: 15_000 });
}

/** Widens the side bar (drags its edge) so descriptions are readable in screenshots. */
export async function widenSidebar(page, to = 640) {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (!box) return;
  await page.mouse.move(box.x + box.width + 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(to, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
}
