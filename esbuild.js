// Build script: one bundle for the extension host, one for the CLI, one per webview,
// plus (with --tests / --bench) the test and benchmark bundles.
// Type checking is separate: `npm run typecheck` (tsc --noEmit).
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const watch = args.has('--watch');

/** Every file under dir whose name matches re (recursive). */
function find(dir, re) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...find(p, re));
    else if (re.test(entry.name)) out.push(p);
  }
  return out;
}

const common = {
  bundle: true,
  // The version string, once: src/core/version.ts reads it.
  define: { __BMA_VERSION__: JSON.stringify(require('./package.json').version) },
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  target: 'es2022',
};

/** @type {import('esbuild').BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  },
  {
    // Cold Sessions-view summaries on worker threads (core/sessions/summaryPool.ts): the extension, the tests and
    // the bench start this file (no vscode in it), found beside the extension's bundle.
    ...common,
    entryPoints: ['src/core/sessions/summaryWorker.ts'],
    outfile: 'dist/summaryWorker.js',
    platform: 'node',
    format: 'cjs',
  },
  {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
  },
];

// One browser bundle per webview (src/webview/<name>/main.ts -> dist/webview/<name>.js).
for (const main of find('src/webview', /^main\.ts$/)) {
  const name = path.basename(path.dirname(main));
  builds.push({
    ...common,
    entryPoints: [main],
    outfile: `dist/webview/${name}.js`,
    platform: 'browser',
    format: 'iife',
    loader: { '.css': 'text' },
  });
}

if (args.has('--tests')) {
  // Unit tests run in plain Node; extension tests run inside the VS Code extension host.
  // mocha stays external: it is resolved from node_modules at run time.
  builds.push({
    ...common,
    entryPoints: [...find('test', /\.test\.ts$/), ...find('test/extension', /^index\.ts$/), ...find('test/support', /\.ts$/)],
    outdir: 'out/test',
    outbase: 'test',
    platform: 'node',
    format: 'cjs',
    external: ['vscode', 'mocha', 'playwright-core'],
  });
}

if (args.has('--bench')) {
  builds.push({
    ...common,
    entryPoints: find('bench', /^index\.ts$/).concat(find('bench', /\.worker\.ts$/)),
    outdir: 'out/bench',
    outbase: 'bench',
    platform: 'node',
    format: 'cjs',
    sourcemap: false,
    external: ['playwright-core'],
  });
}

/**
 * The SQLite engine (node-sqlite3-wasm) loads its .wasm from the folder of the bundle that
 * includes it: copy it beside every bundle folder (dist/, out/test/<dir>/, out/bench/).
 */
function copySqliteWasm() {
  const wasm = require.resolve('node-sqlite3-wasm/dist/node-sqlite3-wasm.wasm');
  const dirs = new Set(['dist']);
  for (const f of find('out', /\.js$/)) dirs.add(path.dirname(f));
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    const to = path.join(d, 'node-sqlite3-wasm.wasm');
    if (!fs.existsSync(to) || fs.statSync(to).size !== fs.statSync(wasm).size) fs.copyFileSync(wasm, to);
  }
}

/** The codicon font and its CSS beside the webview bundles (the timeline links them; shipped in the .vsix). */
function copyCodicons() {
  const from = path.join('node_modules', '@vscode', 'codicons', 'dist');
  fs.mkdirSync(path.join('dist', 'webview'), { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(path.join(from, f), path.join('dist', 'webview', f));
}

async function main() {
  copyCodicons();
  if (watch) {
    const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
    await Promise.all(contexts.map((c) => c.watch()));
    console.log('[esbuild] watching…');
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
  copySqliteWasm();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
