// Entry of the extension test suite, run INSIDE the VS Code extension host
// (scripts/vscode-test/run.mjs passes out/test/extension/index as extensionTestsPath).
// Loads every *.test.js bundled next to this file (esbuild.js --tests) into mocha and runs it.
// The workspace the tests see is vscode.workspace.workspaceFolders[0] (a temp copy of
// test/fixtures/workspace, with demo/sessions under demo/sessions when the repo has it).
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(p));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, color: false, reporter: 'spec' });
  // BMA_VSCODE_GREP=pattern runs only the matching tests (a quick local loop; CI runs them all).
  const grep = process.env.BMA_VSCODE_GREP;
  if (grep) mocha.grep(grep);
  const files = findTests(__dirname);
  for (const f of files) mocha.addFile(f);

  return new Promise<void>((resolve, reject) => {
    if (files.length === 0) {
      console.log('0 passed, 0 failed');
      reject(new Error(`no *.test.js files found under ${__dirname}`));
      return;
    }
    try {
      const runner = mocha.run((failures) => {
        const stats = runner.stats ?? { passes: 0, failures, pending: 0 };
        const skipped = stats.pending > 0 ? `, ${stats.pending} skipped` : '';
        console.log(`${stats.passes} passed, ${stats.failures} failed${skipped}`);
        if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
        else if (stats.passes === 0) reject(new Error('no extension test ran'));
        else resolve();
      });
    } catch (err) {
      console.error(err);
      console.log('0 passed, 1 failed');
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
