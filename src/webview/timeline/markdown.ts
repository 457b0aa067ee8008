/**
 * Transcript text as people read it: Markdown, rendered safely.
 *
 * markdown-it parses with `html: false` (raw HTML stays text); we never use its HTML
 * renderer: the token stream is turned into DOM nodes here, from an allowlist of tags, with
 * every piece of text inserted as a text node. So nothing in a message becomes markup,
 * script, a style or a loaded resource:
 * - links are `<a>` without `href` (shown with their target; a click asks the host, which
 *   confirms and opens only http(s)/mailto through VS Code);
 * - images are never loaded: they show as "image: alt (url)" text;
 * - code fences are highlighted by highlight.js, whose output (it escapes the code itself)
 *   is parsed in an inert document and copied keeping only `<span class="hljs-…">` and text;
 * - U+2028/U+2029/U+0085 and other invisible or direction-changing characters show as
 *   visible markers.
 */

import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { appendHighlighted, h } from './dom';

for (const [name, lang] of Object.entries({ bash, css, diff, javascript, json, python, rust, sql, typescript, xml, yaml })) hljs.registerLanguage(name, lang);
for (const [alias, name] of [
  ['sh', 'bash'],
  ['shell', 'bash'],
  ['js', 'javascript'],
  ['ts', 'typescript'],
  ['py', 'python'],
  ['html', 'xml'],
  ['yml', 'yaml'],
] as const)
  hljs.registerAliases(alias, { languageName: name });

const md = new MarkdownIt('default', { html: false, linkify: true, typographer: false, breaks: true });
// A link target is kept whatever its scheme: it is shown, never followed by the page.
md.validateLink = () => true;

/** Tags a token may open (everything else becomes its text). */
const BLOCK_TAGS: ReadonlySet<string> = new Set([
  'p',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'ul',
  'ol',
  'li',
  'blockquote',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'strong',
  'em',
  's',
]);

/** Invisible, separator and direction-override characters, each shown as a marker. */
const INVISIBLE = /[\u0085\u00AD\u061C\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/u;
const INVISIBLE_G = new RegExp(INVISIBLE.source, 'gu');
const NAMES: Record<string, string> = {
  '\u0085': 'NEL',
  '\u2028': 'LS',
  '\u2029': 'PS',
  '\u200B': 'ZWSP',
  '\u200C': 'ZWNJ',
  '\u200D': 'ZWJ',
  '\u200E': 'LRM',
  '\u200F': 'RLM',
  '\u202E': 'RLO',
  '\u202D': 'LRO',
  '\uFEFF': 'BOM',
  '\u00AD': 'SHY',
};

function codepoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Appends text with search marks, every invisible character replaced by a visible marker
 * (`⟨LS⟩`, `⟨U+2066⟩`, …). Returns how many marks were made.
 */
export function appendVisibleText(parent: HTMLElement, text: string, query: string): number {
  if (!INVISIBLE.test(text)) return appendHighlighted(parent, text, query);
  let marks = 0;
  let last = 0;
  for (const m of text.matchAll(INVISIBLE_G)) {
    if (m.index > last) marks += appendHighlighted(parent, text.slice(last, m.index), query);
    const c = m[0];
    parent.append(h('span', { class: 'invisible-char', title: `${codepoint(c)} (invisible in the original text)` }, `⟨${NAMES[c] ?? codepoint(c)}⟩`));
    last = m.index + c.length;
  }
  if (last < text.length) marks += appendHighlighted(parent, text.slice(last), query);
  return marks;
}

/** Renders Markdown source into `parent` as DOM nodes (see the file comment). */
export function renderMarkdown(parent: HTMLElement, source: string, query: string): void {
  let tokens: Token[];
  try {
    tokens = md.parse(source, {});
  } catch {
    appendVisibleText(parent, source, query);
    return;
  }
  walkTokens({ stack: [parent], query }, tokens);
}

/** Where the token walk is: the open elements (innermost last) and the search text. */
interface MdWalk {
  stack: HTMLElement[];
  query: string;
}

function walkTokens(w: MdWalk, list: readonly Token[]): void {
  for (const t of list) renderToken(w, t);
}

/** One token: text and leaf nodes are appended to the innermost open element; `*_open` / `*_close` push and pop. */
function renderToken(w: MdWalk, t: Token): void {
  const top = w.stack[w.stack.length - 1];
  switch (t.type) {
    case 'inline':
      walkTokens(w, t.children ?? []);
      break;
    case 'text':
    case 'html_block':
    case 'html_inline': // unreachable with html: false; text if it ever happens
      appendVisibleText(top, t.content, w.query);
      break;
    case 'softbreak':
    case 'hardbreak':
      top.append(h('br'));
      break;
    case 'code_inline':
      appendVisibleText(top.appendChild(h('code')), t.content, w.query);
      break;
    case 'fence':
    case 'code_block':
      top.append(codeBlock(t.content, t.type === 'fence' ? t.info : '', w.query));
      break;
    case 'hr':
      top.append(h('hr'));
      break;
    case 'link_open':
      w.stack.push(top.appendChild(linkElement(t)));
      break;
    case 'link_close':
      if (w.stack.length > 1) w.stack.pop();
      break;
    case 'image':
      top.append(imageStandIn(t, w.query));
      break;
    default:
      renderBlockToken(w, t, top);
  }
}

/** A link without `href`: the host confirms and opens it (http(s)/mailto only). */
function linkElement(t: Token): HTMLElement {
  const href = t.attrGet('href') ?? '';
  return h('a', { class: 'md-link', role: 'link', tabindex: 0, 'data-action': 'link', 'data-href': href, title: `${href}\n(opens after a confirmation)` });
}

/** An image is never loaded: its description and address as text. */
function imageStandIn(t: Token, query: string): HTMLElement {
  const alt = t.children?.map((c) => c.content).join('') || t.content;
  const src = t.attrGet('src') ?? '';
  const span = h(
    'span',
    { class: 'md-image', title: 'Images in transcripts are not loaded' },
    h('span', { class: 'codicon codicon-file-media', 'aria-hidden': 'true' }),
    ' image: ',
  );
  appendVisibleText(span, alt || '(no description)', query);
  span.append(h('span', { class: 'muted' }, ` (${src.length > 120 ? src.slice(0, 120) + '…' : src})`));
  return span;
}

/** Paragraphs, lists, headings, emphasis…: an allowlisted element (else a span) opened, or closed. */
function renderBlockToken(w: MdWalk, t: Token, top: HTMLElement): void {
  if (t.nesting === 1) {
    const el = document.createElement(BLOCK_TAGS.has(t.tag) ? t.tag : 'span');
    if (t.type === 'ordered_list_open') {
      const start = Number(t.attrGet('start'));
      if (Number.isInteger(start) && start > 1) el.setAttribute('start', String(start));
    }
    top.append(el);
    w.stack.push(el);
  } else if (t.nesting === -1) {
    if (w.stack.length > 1) w.stack.pop();
  } else if (t.content) {
    appendVisibleText(top, t.content, w.query);
  }
}

/** A code block, highlighted when its language is one we know (the text stays text). */
function codeBlock(code: string, info: string, query: string): HTMLElement {
  const lang = info.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  const codeEl = h('code', { class: lang ? `language-${lang.replace(/[^\w-]/g, '')}` : null });
  const pre = h('pre', { class: 'md-code', dir: 'ltr' }, codeEl);
  if (lang && hljs.getLanguage(lang) && !query && code.length < 100_000 && !INVISIBLE.test(code)) {
    try {
      const html = hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
      const doc = new DOMParser().parseFromString(`<pre>${html}</pre>`, 'text/html');
      copySafe(doc.body.firstChild as Element, codeEl);
      codeEl.classList.add('hljs');
      return pre;
    } catch {
      codeEl.replaceChildren();
    }
  }
  appendVisibleText(codeEl, code, query);
  return pre;
}

/** Copies highlight.js output: only `<span class="hljs-…">` elements and text survive. */
function copySafe(from: Element, to: HTMLElement): void {
  for (const n of from.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) to.append(document.createTextNode(n.textContent ?? ''));
    else if (n.nodeType === Node.ELEMENT_NODE) {
      const el = n as Element;
      const classes = (el.getAttribute('class') ?? '').split(/\s+/).filter((c) => /^hljs-[\w-]+$/.test(c) || /^[\w-]+_$/.test(c));
      if (el.tagName === 'SPAN') {
        const span = document.createElement('span');
        if (classes.length) span.className = classes.join(' ');
        copySafe(el, span);
        to.append(span);
      } else {
        to.append(document.createTextNode(el.textContent ?? ''));
      }
    }
  }
}
