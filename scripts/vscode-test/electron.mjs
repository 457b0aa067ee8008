#!/usr/bin/env node
// `npm run test:electron`: the same extension-host suites (out/test/extension/index.js) in
// DESKTOP VS Code, through @vscode/test-electron: it downloads VS Code (stable, or
// BMA_ELECTRON_VERSION) into .vscode-test/ and runs it with this repo as the extension under
// development, on the same temp workspace as `npm run test:vscode` (makeWorkspace in run.mjs).
// It needs the internet (update.code.visualstudio.com) once, and a display (on Linux without
// one: `xvfb-run -a npm run test:electron`). Offline it stops with a message saying so; the
// offline route is `npm run test:vscode` (code-server + chromium). See docs/testing.md.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { makeWorkspace } from './run.mjs';
import { DEFAULT_SETTINGS } from './server.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = (s) => process.stdout.write(`${s}\n`);

async function main() {
  const suite = path.join(repoRoot, 'out', 'test', 'extension', 'index');
  if (!fs.existsSync(`${suite}.js`)) {
    out(`[test:electron] ${suite}.js not found: build it with \`node esbuild.js --tests\` (npm run test:electron does)`);
    return 1;
  }
  const version = process.env.BMA_ELECTRON_VERSION || 'stable';
  let vscodeExecutablePath;
  try {
    vscodeExecutablePath = await downloadAndUnzipVSCode({ version, cachePath: path.join(repoRoot, '.vscode-test'), timeout: 60_000 });
  } catch (e) {
    out(`[test:electron] cannot download desktop VS Code (${version}): ${e instanceof Error ? e.message : String(e)}`);
    out('[test:electron] This route needs the internet once (update.code.visualstudio.com). Offline, run the same suites with `npm run test:vscode`.');
    return 2;
  }
  const { root, workspace } = makeWorkspace();
  // A throwaway profile with the quiet settings the code-server route uses.
  const userData = path.join(root, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(DEFAULT_SETTINGS, null, 2) + '\n');
  try {
    return await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: suite,
      launchArgs: [workspace, '--user-data-dir', userData, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
      extensionTestsEnv: process.env.BMA_VSCODE_GREP ? { BMA_VSCODE_GREP: process.env.BMA_VSCODE_GREP } : undefined,
    });
  } catch (e) {
    out(`[test:electron] ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
