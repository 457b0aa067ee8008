// Starts the VS Code 1.139.1 server (code-server's lib/vscode/out/server-main.js) on Node 24,
// in its own process group, with throwaway HOME/XDG_*/TMPDIR/user-data/server-data/extensions
// folders under one temp root per run. See /work/shared/VSCODE-TESTING.md.
//
//   import { startServer } from './scripts/vscode-test/server.mjs';
//   const server = await startServer({
//     port,            // default: a free port chosen by the OS (env PORT is NOT read here)
//     host,            // default '127.0.0.1'
//     vsix,            // optional path of a .vsix to install into the throwaway extensions dir
//     settings,        // optional object merged over quiet defaults into User/settings.json
//     smokeTestDriver, // default true: --enable-smoke-test-driver (needed for test payloads)
//     log,             // (line) => void for our own messages; default console.log
//     serverOutput,    // (chunk) => void for the server's stdout/stderr; default: dropped
//                      // (kept in memory and printed if the server fails to start)
//   });
//   server.port, server.host, server.baseUrl, server.dirs ({ root, home, userData, ... })
//   server.url(folder, payload)   // http://host:port/?folder=...&payload=...
//       payload: [[key, value], ...] or { key: value }; absolute paths given for
//       extensionDevelopmentPath / extensionTestsPath become vscode-remote://host:port/... URIs
//   server.env                    // the throwaway env (HOME, XDG_*, TMPDIR) the server runs with
//   await server.stop()           // kills the whole process group, removes the temp root
//
// The ensureInstalled() of install.mjs must have run (startServer calls paths() only).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { paths } from './install.mjs';

/** Settings that keep the workbench quiet and deterministic; `settings` is merged over them. */
export const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'window.restoreWindows': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/** Creates the throwaway folders of one run; returns them and an env that points into them. */
export function makeThrowawayDirs(prefix = 'bma-vscode-') {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dirs = {
    root,
    home: path.join(root, 'home'),
    config: path.join(root, 'xdg-config'),
    data: path.join(root, 'xdg-data'),
    cache: path.join(root, 'xdg-cache'),
    tmp: path.join(root, 'tmp'),
    userData: path.join(root, 'user-data'),
    serverData: path.join(root, 'server-data'),
    extensions: path.join(root, 'extensions'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  const env = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    XDG_RUNTIME_DIR: dirs.tmp,
    TMPDIR: dirs.tmp,
  };
  // Nothing of a surrounding `npm run` or VS Code should leak into the server.
  for (const k of Object.keys(env)) {
    if (/^(npm_|VSCODE_|ELECTRON_)/.test(k) || k === 'NODE_OPTIONS' || k === 'INIT_CWD') delete env[k];
  }
  return { dirs, env };
}

/** Kills a process group: SIGTERM, then SIGKILL after graceMs. Resolves when it is gone. */
export async function killGroup(pid, graceMs = 3000) {
  if (!pid) return;
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (alive()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (alive()) await new Promise((r) => setTimeout(r, 50));
  }
}

function killGroupSync(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Installs a .vsix into extensionsDir with code-server's CLI (run on Node 24). */
export function installVsix(vsix, { extensionsDir, userDataDir, env, log = console.log }) {
  const p = paths();
  const abs = path.resolve(vsix);
  if (!fs.existsSync(abs)) throw new Error(`[server] .vsix not found: ${abs}`);
  log(`[server] installing ${path.basename(abs)} into ${extensionsDir}`);
  const r = spawnSync(p.node, [p.codeServerCli, '--install-extension', abs, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--force'], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0 || !/successfully installed|already installed/i.test(out)) {
    throw new Error(`[server] installing ${abs} failed (exit ${r.status ?? r.signal ?? r.error}):\n${out}`);
  }
}

function writeSettings(userDataDir, settings) {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2) + '\n');
}

export async function startServer({
  port = 0,
  host = '127.0.0.1',
  vsix,
  settings = {},
  smokeTestDriver = true,
  extraArgs = [],
  startTimeoutMs = 60_000,
  log = (m) => console.log(m),
  serverOutput,
} = {}) {
  const p = paths();
  if (!fs.existsSync(p.serverMain) || !fs.existsSync(p.node)) {
    throw new Error(`[server] VS Code server not installed (${p.serverMain}); run: node scripts/vscode-test/install.mjs`);
  }
  const { dirs, env } = makeThrowawayDirs();
  let child;
  let stopping;
  const onExit = () => {
    if (child) killGroupSync(child.pid);
    fs.rmSync(dirs.root, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  /** Idempotent: every call returns the same promise, settled when all is gone. */
  const stop = () =>
    (stopping ??= (async () => {
      if (child) await killGroup(child.pid);
      process.removeListener('exit', onExit);
      fs.rmSync(dirs.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    })());

  try {
    writeSettings(dirs.userData, settings);
    if (vsix) installVsix(vsix, { extensionsDir: dirs.extensions, userDataDir: dirs.userData, env, log });

    const args = [
      p.serverMain,
      '--host',
      host,
      '--port',
      String(port),
      '--without-connection-token',
      '--accept-server-license-terms',
      '--telemetry-level',
      'off',
      '--disable-workspace-trust',
      '--user-data-dir',
      dirs.userData,
      '--server-data-dir',
      dirs.serverData,
      '--extensions-dir',
      dirs.extensions,
      ...(smokeTestDriver ? ['--enable-smoke-test-driver'] : []),
      ...extraArgs,
    ];
    child = spawn(p.node, args, { env, cwd: dirs.home, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });

    let output = '';
    const actualPort = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`[server] not listening after ${startTimeoutMs / 1000} s`)), startTimeoutMs);
      const onData = (chunk) => {
        const s = chunk.toString();
        output += s;
        if (output.length > 200_000) output = output.slice(-100_000);
        serverOutput?.(s);
        const m = /Extension host agent listening on (\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`[server] exited before listening (${signal ?? `exit code ${code}`})`));
      });
    }).catch((e) => {
      e.message += `\n--- server output ---\n${output.trim()}\n---`;
      throw e;
    });
    // Keep draining the pipes so the server never blocks on a full pipe.
    if (!serverOutput) {
      child.stdout.resume();
      child.stderr.resume();
    }

    const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    const remote = `vscode-remote://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    const url = (folder, payload) => {
      const q = [];
      if (folder) q.push(`folder=${encodeURIComponent(path.resolve(folder)).replace(/%2F/g, '/')}`);
      if (payload) {
        const pairs = Array.isArray(payload) ? payload : Object.entries(payload);
        const converted = pairs.map(([k, v]) =>
          /^extension(Development|Tests)Path$/.test(k) && typeof v === 'string' && v.startsWith('/') ? [k, remote + v] : [k, v],
        );
        q.push(`payload=${encodeURIComponent(JSON.stringify(converted))}`);
      }
      return `${baseUrl}/${q.length ? `?${q.join('&')}` : ''}`;
    };
    return {
      port: actualPort,
      host,
      baseUrl,
      remoteAuthority: remote,
      dirs,
      env,
      process: child,
      url,
      output: () => output,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
