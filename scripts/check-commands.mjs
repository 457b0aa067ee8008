#!/usr/bin/env node
// Static check of command contributions (run with the type check): every command declared in
// package.json has the "Bot Memory" category and an id in src/extension/commandIds.ts, every
// id there is declared, and every menu entry names a declared command. The one registry:
// src/extension/commands.ts maps every id to a file of src/extension/commands/ (one file per
// command), every such file is in it, and nothing else in src/ calls registerCommand. (That
// each one is actually registered at run time is checked inside VS Code by
// test/extension/sessions.test.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const ids = fs.readFileSync(path.join(root, 'src/extension/commandIds.ts'), 'utf8');
const inCode = new Set([...ids.matchAll(/:\s*'(botMemory\.[A-Za-z0-9_.]+)'/g)].map((m) => m[1]));
const declared = new Map(pkg.contributes.commands.map((c) => [c.command, c]));
const problems = [];
for (const [id, c] of declared) {
  if (c.category !== 'Bot Memory') problems.push(`${id}: category must be "Bot Memory"`);
  if (!inCode.has(id)) problems.push(`${id}: declared in package.json but not in commandIds.ts`);
}
for (const id of inCode) {
  if (id.startsWith('botMemory.') && !declared.has(id) && !/^botMemory\.(sessions|memories|timeline)$/.test(id)) {
    problems.push(`${id}: in commandIds.ts but not declared in package.json`);
  }
}
// The registry: every Commands/InternalCommands key has an entry, every command file is imported.
const registry = fs.readFileSync(path.join(root, 'src/extension/commands.ts'), 'utf8');
for (const m of ids.matchAll(/^\s+(\w+):\s*'(_?botMemory\.[A-Za-z0-9_.]+)'/gm)) {
  const [, key, id] = m;
  if (!new RegExp(`\\[(Commands|InternalCommands)\\.${key}\\]:`).test(registry))
    problems.push(`${id}: no entry [Commands.${key}] in src/extension/commands.ts`);
}
const commandDir = path.join(root, 'src/extension/commands');
for (const f of fs.readdirSync(commandDir)) {
  if (!f.endsWith('.ts') || f === 'context.ts') continue;
  if (!registry.includes(`from './commands/${f.slice(0, -3)}'`))
    problems.push(`src/extension/commands/${f}: not imported by src/extension/commands.ts (one file per command)`);
}
function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
for (const f of walk(path.join(root, 'src'))) {
  if (!f.endsWith('.ts') || f.endsWith(path.join('src', 'extension', 'commands.ts'))) continue;
  if (/\bregisterCommand\(/.test(fs.readFileSync(f, 'utf8'))) problems.push(`${path.relative(root, f)}: registers a command outside src/extension/commands.ts`);
}
for (const [menu, entries] of Object.entries(pkg.contributes.menus ?? {})) {
  for (const e of entries) if (e.command && !declared.has(e.command)) problems.push(`menus.${menu}: ${e.command} is not a declared command`);
}
if (problems.length) {
  console.error(`check-commands: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-commands: ${declared.size} commands consistent`);
