/**
 * Untrusted text (transcript text, titles, turn ids, file names, error messages quoting them)
 * made safe for the places it is shown. Pure functions, no `vscode`: the extension's
 * `src/extension/untrustedText.ts` builds its surfaces on these, the plan/report renderer
 * (core/repair/render.ts) and the CLI use them directly. docs/security.md lists the rules.
 *
 * - plainText: one line, control/bidi/zero-width characters made visible as U+FFFD, and
 *   the `[text](target)` link syntax VS Code notifications turn into live links broken up.
 * - labelText: plainText plus `$(icon)` syntax escaped (quick pick labels, status bar).
 * - escapeMarkdown: EVERY ASCII punctuation character backslash-escaped (CommonMark allows
 *   it for all of them), leading/multiple spaces as `&nbsp;`, lines joined by hard breaks. No
 *   fence (``` or ~~~, at any indent), heading, list, quote, table, HTML, entity, link or
 *   autolink (`https:`, `www.`, e-mail) survives, in VS Code's renderer (marked) or the
 *   Markdown preview (markdown-it with linkify).
 */

/** C0/C1 controls (but tab/newline), DEL, bidi embeddings/overrides/isolates/marks, zero-width characters, BOM. */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
const LINE_BREAKS = /\r\n|[\n\r\u0085\u2028\u2029]/g;

/** Invisible and direction-changing characters become a visible U+FFFD. Line breaks stay. */
export function stripControls(s: string): string {
  return s.replace(INVISIBLE, '\ufffd');
}

function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  // Never cut a surrogate pair in half.
  let end = max - 1;
  if (end > 0 && /[\ud800-\udbff]/.test(s[end - 1])) end--;
  return s.slice(0, end) + '…';
}

/**
 * One line of plain text for a notification, quick pick description/detail, tree label or
 * window title: no control or bidi character, no line break, and no `[..](..)` link syntax.
 */
export function plainText(s: unknown, max = 300): string {
  const t = stripControls(String(s ?? ''))
    .replace(LINE_BREAKS, ' ⏎ ')
    .replace(/\t/g, ' ');
  // VS Code notifications render [label](command:…|https:…|file:…) as live links: a space
  // between `]` and `(` keeps the text readable and makes it plain.
  return clip(t, max).replace(/\]\s*\(/g, '] (');
}

/** plainText for places that render `$(icon)` syntax (quick pick labels, status bar text). */
export function labelText(s: unknown, max = 300): string {
  return plainText(s, max).replace(/\$\(/g, '\\$(');
}

/**
 * Markdown that renders as exactly the given text: every ASCII punctuation character is
 * backslash-escaped; spaces that Markdown would collapse or read as an indent become
 * `&nbsp;`; line breaks become hard breaks (an empty line a `&nbsp;` line). Safe in any
 * Markdown context where inline content is allowed (not inside code spans or fences).
 */
export function escapeMarkdown(s: unknown, max = 100_000): string {
  const lines = clip(stripControls(String(s ?? '')), max).split(LINE_BREAKS);
  return lines
    .map((line) => {
      if (line.trim() === '') return '&nbsp;';
      const escaped = line.replace(/\t/g, '    ').replace(/[!-/:-@[-`{-~]/g, '\\$&');
      // Leading spaces (indented code) and runs of spaces (collapsed) kept as &nbsp;.
      return escaped.replace(/^ +/, (m) => '&nbsp;'.repeat(m.length)).replace(/ {2,}/g, (m) => ' ' + '&nbsp;'.repeat(m.length - 1));
    })
    .join('  \n');
}

/** escapeMarkdown on one line (line breaks shown as ⏎), for inline places: list items, headings, table cells. */
export function escapeMarkdownInline(s: unknown, max = 300): string {
  return escapeMarkdown(plainText(s, max), max + 10);
}
