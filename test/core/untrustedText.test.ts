import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { marked } from 'marked';
import { escapeMarkdown, escapeMarkdownInline, labelText, plainText } from '../../src/core/untrustedText';
import { planMarkdown } from '../../src/core/repair/render';
import type { RepairPlan } from '../../src/core/repair/plan';

/** Hostile strings: every way text could become a link, heading, command, HTML or a code-fence escape. */
export const HOSTILE: string[] = [
  '[Open report](command:workbench.action.openGlobalKeybindings)',
  '[x](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22id%5Cn%22%7D "title")',
  'see https://evil.example/x and www.evil.example and evil@example.com',
  '<https://evil.example/autolink> <mailto:a@b.c>',
  '```\n# Heading after a fence\n[link](https://evil.example)\n```',
  '   ```\n## indented fence\n',
  '~~~\n# tilde fence\n~~~',
  '````md\n```\n# nested\n````',
  'para\n===\nsetext heading',
  '# heading\n## two\n> quote\n- list\n1. ordered\n| a | b |\n|---|---|\n| c | d |',
  '<img src=x onerror=alert(1)><a href="command:workbench.action.quit">quit</a><script>alert(1)</script>',
  '&lt;b&gt; &#x3C;a href=x&#x3E; &amp;',
  '![image](https://evil.example/p.png) [ref][r]\n\n[r]: https://evil.example',
  '$(bug) $(sync~spin) icons',
  'bidi \u202eevil\u202c \u2066iso\u2069 zero\u200bwidth \u0007bell \u001b]8;;https://x\u0007osc\u001b]8;;\u0007 \u009bcsi',
  '    indented code\n\ttab',
  '*em* _em_ **strong** `code` ~~del~~ \\backslash',
  '[a]\n(command:workbench.action.quit)',
  '[a] (https://evil.example) [b]( command:x )',
];

function htmlTags(html: string): string[] {
  return [...html.matchAll(/<\/?([a-zA-Z0-9]+)/g)].map((m) => m[1].toLowerCase());
}

function textOf(html: string): string {
  return html
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;|&#160;|\u00a0/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const MarkdownIt = require('markdown-it') as new (o: object) => { render(s: string): string };
const mdIt = new MarkdownIt({ html: true, linkify: true }); // as VS Code's Markdown preview
const renderers: [string, (s: string) => string][] = [
  ['marked (VS Code hovers/tooltips)', (s) => marked.parse(s, { gfm: true, breaks: false, async: false }) as string],
  ['markdown-it (Markdown preview)', (s) => mdIt.render(s)],
];

describe('untrusted text', () => {
  for (const [name, render] of renderers) {
    it(`escapeMarkdown renders as exactly the text, with no link, heading, fence, HTML or list, in ${name}`, () => {
      for (const s of HOSTILE) {
        const html = render(escapeMarkdown(s));
        const tags = htmlTags(html).filter((t) => !['p', 'br'].includes(t));
        assert.deepStrictEqual(tags, [], `${JSON.stringify(s)} rendered as ${html}`);
        // eslint-disable-next-line no-control-regex -- the hostile characters under test
        const expected = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b]/g, '\ufffd').replace(/\t/g, '    ');
        const got = textOf(html).replace(/\n+$/, '');
        const norm = (x: string) =>
          x
            .replace(/ +\n/g, '\n')
            .replace(/\n\s*\n/g, '\n')
            .trimEnd();
        assert.strictEqual(norm(got), norm(expected), `text of ${JSON.stringify(s)}`);
      }
    });
  }

  it('escapeMarkdownInline stays one line and renders no tag but a paragraph', () => {
    for (const s of HOSTILE) {
      const m = escapeMarkdownInline(s);
      assert.ok(!m.includes('\n'));
      for (const [, render] of renderers)
        assert.deepStrictEqual(
          htmlTags(render(`- item ${m}`)).filter((t) => !['ul', 'li', 'p'].includes(t)),
          [],
          m,
        );
    }
  });

  it('plainText has no control/bidi character, no line break and no [..](..) link; labelText no $(icon)', () => {
    // VS Code's notification link syntax (linkedText.ts).
    const link = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/i;
    for (const s of HOSTILE) {
      const p = plainText(s);
      assert.ok(!link.test(p), p);
      // eslint-disable-next-line no-control-regex -- the hostile characters under test
      assert.ok(!/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b\n\r]/.test(p), JSON.stringify(p));
      assert.ok(!/(^|[^\\])\$\(/.test(labelText(s)), labelText(s));
    }
    assert.strictEqual(plainText('[Open](command:x)'), '[Open] (command:x)');
    assert.ok(plainText('x'.repeat(500), 100).length <= 100);
  });

  it('the repair plan document (Markdown preview) turns no hostile id, title or message into a link or heading', () => {
    const plan = {
      version: 1,
      sessionsDir: '/tmp/s',
      now: 0,
      staleAfterMinutes: 30,
      sessions: HOSTILE.map((h, i) => ({
        sessionId: `s${i}`,
        title: h,
        ownShard: `s${i}~audit.jsonl`,
        messages: [{ kind: 'recovered_user_message', turnId: h, message: { role: 'user', content: h } }],
        appends: [],
        reviews: [{ kind: 'malformed_line', shard: h, line: 1, offset: 0, length: 1, note: h }],
        skipped: [{ what: h, reason: h, retry: false }],
        human: [{ turnId: h, events: [h, h], reviewed: { note: h, reviewer: h } }],
        journal: {},
        sidecarFingerprint: null,
      })),
    } as unknown as RepairPlan;
    const html = mdIt.render(planMarkdown(plan, 'Repair plan'));
    const tags = new Set(htmlTags(html));
    for (const t of ['a', 'img', 'script', 'h3', 'h4', 'h5', 'h6', 'pre', 'table', 'blockquote', 'hr', 'ol'])
      assert.ok(!tags.has(t), `<${t}> in ${html.slice(0, 2000)}`);
    // Our own headings only: one h1, one h2 per session.
    assert.strictEqual((html.match(/<h1/g) ?? []).length, 1);
    assert.strictEqual((html.match(/<h2/g) ?? []).length, HOSTILE.length);
  });

  it('no module outside untrustedText.ts shows a notification, quick pick or MarkdownString directly', () => {
    const repo = path.resolve(__dirname, '..', '..', '..');
    const forbidden =
      /vscode\.window\.show(?:Information|Warning|Error)Message\(|vscode\.window\.showQuickPick\(|new vscode\.MarkdownString\(|\.appendCodeblock\(/;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && !p.endsWith(path.join('extension', 'untrustedText.ts'))) {
          fs.readFileSync(p, 'utf8')
            .split('\n')
            .forEach((l, i) => forbidden.test(l) && offenders.push(`${path.relative(repo, p)}:${i + 1}: ${l.trim()}`));
        }
      }
    };
    walk(path.join(repo, 'src'));
    assert.deepStrictEqual(offenders, []);
  });
});
