// ESLint flat config: typescript-eslint's recommended rules WITHOUT type information (typed
// rules re-run the type checker: minutes on 2 cores; `tsc --noEmit` already checks types), and
// import rules that state the architecture (GitLens' no-restricted-imports rules for its
// webviews are the model). See docs/architecture.md.
import fs from 'node:fs';
import path from 'node:path';
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [...new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]))];
const nodeBuiltins = {
  paths: NODE_BUILTINS.map((name) => ({ name, message: 'No Node built-ins here: this code runs in a webview.' })),
  patterns: [{ group: ['node:*'], message: 'No Node built-ins here: this code runs in a webview.' }],
};

/**
 * The core modules that use Node, directly or through another core module: a webview (or
 * src/shared/) must not import them as values (types are erased and fine). Computed from the
 * sources, so the list cannot go stale.
 */
function coreModulesUsingNode() {
  const files = new Map();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) files.set(p, fs.readFileSync(p, 'utf8'));
    }
  };
  walk('src/core');
  const valueImports = (src) =>
    [...src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|require\('([^']+)'\)/gm)].map(
      (m) => m[1] ?? m[2] ?? m[3],
    );
  const resolve = (from, spec) => {
    if (!spec.startsWith('.')) return spec;
    const base = path.resolve(path.dirname(from), spec);
    for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (files.has(path.relative(process.cwd(), c))) return path.relative(process.cwd(), c);
    return base;
  };
  const deps = new Map([...files].map(([f, src]) => [f, valueImports(src).map((s) => resolve(f, s))]));
  const usesNode = new Set(
    [...deps].filter(([, ds]) => ds.some((d) => NODE_BUILTINS.includes(d.replace(/^node:/, '')) || d.startsWith('node:'))).map(([f]) => f),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const [f, ds] of deps) {
      if (usesNode.has(f) || !ds.some((d) => usesNode.has(d))) continue;
      usesNode.add(f);
      grew = true;
    }
  }
  return [...usesNode]
    .map(
      (f) =>
        `**/core/${path
          .relative('src/core', f)
          .replace(/\.ts$/, '')
          .replace(/\/index$/, '')}`,
    )
    .sort();
}

const NODE_GLOBALS = [
  'console',
  'process',
  'Buffer',
  'URL',
  'URLSearchParams',
  'TextDecoder',
  'TextEncoder',
  'AbortController',
  'fetch',
  'performance',
  'structuredClone',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'queueMicrotask',
  'globalThis',
  // page.evaluate() bodies in the UI tests run in the browser
  'window',
  'document',
  'location',
  'getComputedStyle',
  'requestAnimationFrame',
  'HTMLElement',
  'Element',
  'Node',
  'NodeFilter',
  'KeyboardEvent',
  'MouseEvent',
  'Event',
];

const noVscode = { name: 'vscode', message: 'No vscode here: only src/extension/ talks to VS Code.' };
const layer = (what, groups) => ({ group: groups, message: `${what}` });

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'media/**', 'demo/**', 'screenshots/**', '.vscode-test/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // tsc (noUnusedLocals/Parameters) reports these; the `_x` convention marks intended ones.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
      // Control characters in regular expressions are deliberate only where hostile text is filtered: say so on the line.
      'no-control-regex': 'error',
      // `declare namespace` describes a module's types (node:sqlite before @types/node has them).
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    },
  },
  // The extension's files are kept under 160 characters a line, strings included.
  { files: ['src/extension/**/*.ts'], rules: { 'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }] } },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [noVscode],
          patterns: [
            layer('The core imports neither src/extension/ nor src/webview/: they import it.', [
              '**/extension/**',
              '**/extension',
              '**/webview/**',
              '**/webview',
            ]),
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [noVscode], patterns: [layer('The CLI imports the core, not the extension or the webview.', ['**/extension/**', '**/webview/**'])] },
      ],
    },
  },
  {
    files: ['src/webview/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [noVscode, ...nodeBuiltins.paths],
          patterns: [
            ...nodeBuiltins.patterns,
            layer('Webview and shared code never import the extension host.', ['**/extension/**', '**/extension']),
            {
              group: coreModulesUsingNode(),
              allowTypeImports: true,
              message:
                'This core module uses Node (directly or through another core module): a webview cannot load it. ' +
                'Import its types only, or move the code to src/shared/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [noVscode, ...nodeBuiltins.paths],
          patterns: [
            ...nodeBuiltins.patterns,
            layer('src/shared/ is loaded by the host and the webview: it imports neither.', ['**/extension/**', '**/extension', '**/webview/**', '**/webview']),
            {
              group: coreModulesUsingNode(),
              allowTypeImports: true,
              message: 'This core module uses Node (directly or through another core module): a webview cannot load it. Import its types only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain JavaScript (scripts, UI tests, build files): Node's globals (TypeScript files get
    // theirs from tsc, which is why no-undef is off there).
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: Object.fromEntries(NODE_GLOBALS.map((g) => [g, 'readonly'])) },
  },
  {
    files: ['**/*.{js,cjs}'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
