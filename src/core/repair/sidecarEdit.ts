/**
 * Appending messages to a hermes-webui sidecar without disturbing anything else in it.
 *
 * The sidecar is written by Python's `json.dumps(obj, indent=2, ensure_ascii=False)`.
 * Re-serialising it from JavaScript would change number lexemes (`1763661600.0` becomes
 * `1763661600`), and could lose precision of large integers. So we never re-serialise: the
 * new messages are spliced in as text just before the closing `]` of the top-level
 * `messages` list, in the layout of the neighbouring elements, and `message_count` (when
 * present) has its number replaced. Every other byte is kept.
 */

// The ESM build: esbuild cannot follow the UMD build's dynamic requires.
import { parseTree, type Node, type ParseError } from 'jsonc-parser/lib/esm/main.js';

export class SidecarEditError extends Error {}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Python-style JSON for one value: `json.dumps(v, ensure_ascii=False)` with `indent` (a unit
 * string) or compact with `sep`. JSON.stringify escapes strings exactly like Python with
 * ensure_ascii=False (`"`, `\`, control characters; non-ASCII raw).
 */
export function pyDumps(v: unknown, indent: string | null, level = 0, base = '', itemSep = ', ', keySep = ': '): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return String(v);
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  if (typeof v === 'string') return JSON.stringify(v);
  const entries: [string | null, unknown][] = Array.isArray(v) ? v.map((x) => [null, x]) : Object.entries(v as object).filter(([, x]) => x !== undefined);
  const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return open + close;
  const item = ([k, x]: [string | null, unknown]): string =>
    (k === null ? '' : JSON.stringify(k) + keySep) + pyDumps(x, indent, level + 1, base, itemSep, keySep);
  if (indent === null) return open + entries.map(item).join(itemSep) + close;
  const pad = '\n' + base + indent.repeat(level + 1);
  return open + pad + entries.map(item).join(',' + pad) + '\n' + base + indent.repeat(level) + close;
}

function rootProperty(root: Node, key: string): Node | undefined {
  return root.children?.find((p) => p.type === 'property' && p.children?.[0]?.value === key)?.children?.[1];
}

/** Leading whitespace of the line that holds `offset`. */
function lineIndent(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const m = /^[ \t]*/.exec(text.slice(start, offset));
  return m ? m[0] : '';
}

export interface SidecarEdit {
  text: string;
  /** Number of messages after the edit. */
  messageCount: number;
}

/**
 * Returns the sidecar text with `messages` appended at the end of its `messages` list and
 * `message_count` (if present as a number) set to the new length. Throws SidecarEditError
 * when the text is not a JSON object with a `messages` list.
 */
export function appendSidecarMessages(text: string, messages: readonly Record<string, unknown>[]): SidecarEdit {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (!root || errors.length > 0 || root.type !== 'object') throw new SidecarEditError('the sidecar is not a JSON object');
  const list = rootProperty(root, 'messages');
  if (!list || list.type !== 'array') throw new SidecarEditError('the sidecar has no "messages" list');
  const children = list.children ?? [];
  const newCount = children.length + messages.length;
  const edits: { at: number; remove: number; insert: string }[] = [];

  const indented = text.includes('\n');
  // Layout of the existing document: indent unit and separators.
  const unit = indented ? detectIndentUnit(text) : null;
  const compactItemSep = /,\s/.test(text) ? ', ' : ',';
  const compactKeySep = /":\s/.test(text) ? ': ' : ':';
  const listIndent = lineIndent(text, list.offset);
  const dump = (m: unknown, base: string): string => pyDumps(m, unit, 0, base, compactItemSep, compactKeySep);
  if (messages.length > 0) {
    if (children.length > 0) {
      const last = children[children.length - 1];
      const end = last.offset + last.length;
      if (indented) {
        const itemIndent = lineIndent(text, last.offset);
        edits.push({ at: end, remove: 0, insert: messages.map((m) => `,\n${itemIndent}${dump(m, itemIndent)}`).join('') });
      } else {
        edits.push({ at: end, remove: 0, insert: messages.map((m) => compactItemSep + dump(m, '')).join('') });
      }
    } else if (indented) {
      const itemIndent = listIndent + (unit ?? '  ');
      const body = messages.map((m) => itemIndent + dump(m, itemIndent)).join(',\n');
      edits.push({ at: list.offset, remove: list.length, insert: `[\n${body}\n${listIndent}]` });
    } else {
      edits.push({ at: list.offset, remove: list.length, insert: '[' + messages.map((m) => dump(m, '')).join(compactItemSep) + ']' });
    }
  }
  const count = rootProperty(root, 'message_count');
  if (count && count.type === 'number' && count.value !== newCount && messages.length > 0) {
    edits.push({ at: count.offset, remove: count.length, insert: String(newCount) });
  }
  edits.sort((a, b) => b.at - a.at);
  let out = text;
  for (const e of edits) out = out.slice(0, e.at) + e.insert + out.slice(e.at + e.remove);

  // Safety net: the result must parse and mean exactly "old + appended messages".
  let before: { [k: string]: Json };
  let after: { [k: string]: Json };
  try {
    before = JSON.parse(text);
    after = JSON.parse(out);
  } catch (e) {
    throw new SidecarEditError(`the edited sidecar would not be valid JSON (${(e as Error).message})`);
  }
  const expected: { [k: string]: Json } = { ...before, messages: [...(before.messages as Json[]), ...(messages as unknown as Json[])] };
  if (typeof before.message_count === 'number' && messages.length > 0) expected.message_count = newCount;
  if (JSON.stringify(after) !== JSON.stringify(expected)) throw new SidecarEditError('the edited sidecar does not match the intended change');
  return { text: out, messageCount: newCount };
}

function detectIndentUnit(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  return m ? m[1] : '  ';
}
