/**
 * Tiny DOM helpers for the timeline webview. Everything that comes from a journal is
 * inserted with `textContent` / text nodes, never as HTML.
 */

type Attrs = Record<string, string | number | boolean | null | undefined>;

/** Creates an element with attributes (set with setAttribute: no `on*` handlers, no HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = String(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Most <mark>s one text gets (a huge reply full of hits stays cheap). */
const MAX_MARKS = 200;

/**
 * Appends `text` to `parent` as text nodes, wrapping case-insensitive matches of `query`
 * in <mark> elements. Returns how many marks were made.
 */
export function appendHighlighted(parent: HTMLElement, text: string, query: string): number {
  if (!query) {
    parent.append(document.createTextNode(text));
    return 0;
  }
  const re = new RegExp(escapeRegExp(query), 'giu');
  let last = 0;
  let marks = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && marks < MAX_MARKS) {
    if (m[0].length === 0) break;
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    const mark = document.createElement('mark');
    mark.textContent = m[0];
    parent.append(mark);
    marks++;
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
  return marks;
}
