import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { marked } from 'marked';
import type { BotMemoryApi } from '../../src/extension/extension';
import type { Node } from '../../src/extension/tree/sessionsTree';
import { SHOWN_LOG, type ShownRecord } from '../../src/extension/untrustedText';
import { appendFeedback } from '../../src/core/feedback/store';
import { api, waitFor, workspaceDir } from './util';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const MarkdownIt = require('markdown-it') as new (o: object) => { render(s: string): string };

/** Hostile text: command links, fences (indented, tildes), HTML, autolinks, headings, icons, bidi/controls. */
const HOSTILE_ID = '[Open report](command:workbench.action.openGlobalKeybindings)';
const HOSTILE_TEXT = [
  'Hi $(bug) $(sync~spin)',
  '   ```',
  '# Heading [live](https://evil.example) <https://evil.example/auto> www.evil.example evil@example.com',
  '~~~',
  '<img src=x onerror=alert(1)><a href="command:workbench.action.quit">quit</a>',
  'bidi \u202eevil\u202c \u001b]8;;https://x\u0007osc',
  '[x](command:workbench.action.terminal.sendSequence?%7B%7D)',
].join('\n');

/** VS Code's notification link syntax (src/vs/base/common/linkedText.ts). */
const NOTIFICATION_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/i;
// eslint-disable-next-line no-control-regex -- the hostile characters under test
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function ev(o: Record<string, unknown>): string {
  return JSON.stringify({ version: 1, session_id: 'hostile1', ...o });
}

function writeHostileFolder(dir: string): void {
  fs.mkdirSync(path.join(dir, '_turn_journal'), { recursive: true });
  const t = 1762009200;
  const common = { turn_id: HOSTILE_ID, stream_id: 'abc' };
  fs.writeFileSync(
    path.join(dir, '_turn_journal', 'hostile1~100.jsonl'),
    [
      ev({ event: 'submitted', role: 'user', content: HOSTILE_TEXT, model: HOSTILE_TEXT.slice(0, 40), ...common, created_at: t }),
      ev({ event: 'worker_started', ...common, created_at: t + 1 }),
      ev({ event: 'completed', ...common, created_at: t + 2, terminal: true }),
      `{"broken": ${JSON.stringify(HOSTILE_TEXT)} <- not json`,
    ].join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(dir, '_turn_journal', 'hostile1~200.jsonl'),
    ev({ event: 'interrupted', ...common, created_at: t + 3, terminal: true, reason: HOSTILE_TEXT }) + '\n',
  );
  fs.writeFileSync(
    path.join(dir, 'hostile1.json'),
    JSON.stringify({ session_id: 'hostile1', title: HOSTILE_TEXT, model: HOSTILE_ID, messages: [{ role: 'user', content: HOSTILE_TEXT }] }),
  );
  appendFeedback(dir, { sessionId: 'hostile1', turnId: HOSTILE_ID, feedback: -1, note: HOSTILE_TEXT, tags: [HOSTILE_ID], reviewer: HOSTILE_ID });
}

function assertSafeMarkdown(md: vscode.MarkdownString, where: string): void {
  assert.ok(md.isTrusted !== true && typeof md.isTrusted !== 'object', `${where}: isTrusted`);
  assert.ok(!md.supportHtml, `${where}: supportHtml`);
  assert.ok(!md.supportThemeIcons, `${where}: supportThemeIcons`);
  const html = marked.parse(md.value, { gfm: true, async: false }) as string;
  for (const tag of ['a', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'img', 'pre', 'code', 'script', 'table', 'blockquote']) {
    assert.ok(
      !new RegExp(`<${tag}[\\s>]`, 'i').test(html),
      `${where}: <${tag}> rendered from ${JSON.stringify(md.value.slice(0, 400))}\n${html.slice(0, 800)}`,
    );
  }
}

function assertPlain(s: string | undefined, where: string): void {
  if (s === undefined) return;
  assert.ok(!CONTROL.test(s), `${where}: control/bidi character in ${JSON.stringify(s)}`);
  assert.ok(!NOTIFICATION_LINK.test(s), `${where}: link syntax in ${JSON.stringify(s)}`);
}

describe('Untrusted text in every VS Code surface', function () {
  this.timeout(90_000);
  let a: BotMemoryApi;
  let dir: string;
  const shown: ShownRecord[] = [];

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'bots', 'hostile');
    writeHostileFolder(dir);
    (globalThis as Record<symbol, unknown>)[SHOWN_LOG] = shown;
    await a.services.store.reloadRoots();
    assert.ok(a.services.store.index.root(dir), 'the hostile folder is a root');
    await waitFor(() => a.services.store.index.cachedSummary(dir, 'hostile1'), 30_000, 'the hostile session summary');
  });

  after(() => {
    delete (globalThis as Record<symbol, unknown>)[SHOWN_LOG];
  });

  it('tree items (sessions, turns, broken lines, feedback notes): tooltips are untrusted escaped Markdown, labels plain', async () => {
    const tree = a.sessions.tree;
    const items: [string, vscode.TreeItem][] = [];
    const walk = async (node: Node | undefined, depth: number): Promise<void> => {
      for (const child of await tree.getChildren(node)) {
        const item = tree.getTreeItem(child);
        items.push([`${child.kind}`, item]);
        if (depth < 4 && item.collapsibleState !== vscode.TreeItemCollapsibleState.None) await walk(child, depth + 1);
      }
    };
    await waitFor(
      async () => {
        items.length = 0;
        await walk(undefined, 0);
        return (
          items.some(([k, i]) => k === 'turn' && String(i.id).includes('hostile1')) && items.some(([k, i]) => k === 'line' && String(i.id).includes('hostile1'))
        );
      },
      30_000,
      'turns and broken lines in the tree',
    );
    let tooltips = 0;
    for (const [kind, item] of items) {
      const label = typeof item.label === 'string' ? item.label : item.label?.label;
      assertPlain(label, `${kind} label`);
      assertPlain(typeof item.description === 'string' ? item.description : undefined, `${kind} description`);
      if (item.tooltip instanceof vscode.MarkdownString) {
        assertSafeMarkdown(item.tooltip, `${kind} tooltip`);
        tooltips++;
      }
    }
    assert.ok(tooltips >= 3, `tooltips checked: ${tooltips}`);
    const turnTip = items.find(([k, i]) => k === 'turn' && String(i.id).includes('hostile1'))![1].tooltip as vscode.MarkdownString;
    assert.match(turnTip.value, /Heading/, 'the hostile message is shown, as text');
  });

  it('notifications (Mark Collision Reviewed: success and error paths; every notifyX call shares the path) carry no live link or control', async () => {
    shown.length = 0;
    const r = (await vscode.commands.executeCommand('botMemory.markCollisionReviewed', {
      rootId: dir,
      sessionId: 'hostile1',
      turnId: HOSTILE_ID,
      note: HOSTILE_TEXT,
    })) as { status: string };
    assert.strictEqual(r.status, 'reviewed');
    await vscode.commands.executeCommand('botMemory.markCollisionReviewed', { rootId: dir, sessionId: 'hostile1', turnId: HOSTILE_ID + 'x', note: 'n' });
    assert.ok(shown.length >= 2, JSON.stringify(shown));
    assert.ok(
      shown.some((s) => s.text.includes('Open report')),
      'the turn id is shown (as text)',
    );
    for (const s of shown) {
      assertPlain(s.text, `${s.surface} notification`);
      assertPlain(s.detail, `${s.surface} detail`);
    }
  });

  it('the audit report and the repair plan (Markdown documents) render no link, HTML or extra heading', async () => {
    const r = (await vscode.commands.executeCommand('botMemory.auditSessions', { showReport: false })) as { markdown: string };
    const html = new MarkdownIt({ html: true, linkify: true }).render(r.markdown);
    assert.ok(!/<a[\s>]|<img|<script|<pre|<h[3-6]/i.test(html.replace(/<h3>(Findings|What repair would do)<\/h3>/g, '')), html.slice(0, 3000));
    assert.match(html, /Heading/, 'hostile text is shown as text');
  });
});
