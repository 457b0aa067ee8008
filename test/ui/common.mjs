// Shared by the UI scripts (*.ui.mjs): paths, the pass/fail tally with its closing line, and
// the few workbench gestures several scripts need.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Opens the Bot Memory container from the activity bar. */
export async function openBotMemory(page) {
  await page.locator('.activitybar .action-label[aria-label^="Bot Memory"]').first().click();
  // One view in the container: VS Code hides its header and titles the side bar instead.
  await page.locator('.sidebar .composite.title', { hasText: /bot memory/i }).first().waitFor({ timeout: 15_000 });
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
