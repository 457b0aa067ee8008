#!/usr/bin/env node
// Static check of command contributions (run with the type check): every command declared in
// package.json has the "Bot Memory" category and an id in src/extension/commandIds.ts, every
// id there is declared, and every menu entry names a declared command. (That each one is
// actually registered at run time is checked inside VS Code by test/extension/sessions.test.ts.)
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
for (const [menu, entries] of Object.entries(pkg.contributes.menus ?? {})) {
  for (const e of entries) if (e.command && !declared.has(e.command)) problems.push(`menus.${menu}: ${e.command} is not a declared command`);
}
if (problems.length) {
  console.error(`check-commands: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-commands: ${declared.size} commands consistent`);
