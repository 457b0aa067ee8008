/**
 * Parsing one journal line as JSON the way upstream (Python's `json.loads`) accepts it.
 *
 * Python's JSON reader also accepts the bare tokens `NaN`, `Infinity` and `-Infinity`;
 * JavaScript's does not. We accept them too (so we read what upstream reads) and report
 * that the line used them. Strings are never touched: the rewrite only happens outside
 * string literals, and the placeholder carries a per-process random nonce so no text in a
 * transcript can be mistaken for one.
 */

import { randomBytes } from 'crypto';

const NONCE = randomBytes(9).toString('base64url');
const MARK = `\u0000bma-nonfinite-${NONCE}:`;
const MARK_VALUES: Record<string, number> = {
  [`${MARK}NaN`]: NaN,
  [`${MARK}Infinity`]: Infinity,
  [`${MARK}-Infinity`]: -Infinity,
};

export type JsonParse = { ok: true; value: unknown; nonStandard: boolean } | { ok: false; error: string };

export function parseJsonLine(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text), nonStandard: false };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    // Only lines that mention one of the tokens are worth the slower second pass.
    if (!text.includes('NaN') && !text.includes('Infinity')) return { ok: false, error };
    const rewritten = rewriteNonFinite(text);
    if (rewritten === null) return { ok: false, error };
    try {
      const value = JSON.parse(rewritten, (_key, v) => (typeof v === 'string' && v.startsWith(MARK) && v in MARK_VALUES ? MARK_VALUES[v] : v));
      return { ok: true, value, nonStandard: true };
    } catch {
      return { ok: false, error };
    }
  }
}

/** Replaces NaN / Infinity / -Infinity outside strings by placeholders; null if none found. */
function rewriteNonFinite(text: string): string | null {
  let out = '';
  let last = 0;
  let inString = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    let token: string | null = null;
    if (c === 0x4e /* N */ && text.startsWith('NaN', i)) token = 'NaN';
    else if (c === 0x49 /* I */ && text.startsWith('Infinity', i)) token = 'Infinity';
    else if (c === 0x2d /* - */ && text.startsWith('-Infinity', i)) token = '-Infinity';
    if (token !== null) {
      out += text.slice(last, i) + JSON.stringify(MARK + token);
      i += token.length - 1;
      last = i + 1;
      found = true;
    }
  }
  return found ? out + text.slice(last) : null;
}

/**
 * Key-order-insensitive identity of a JSON value, to recognise the same event written twice
 * (NaN and ±Infinity stay distinct from null).
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v) ?? 'undefined';
}

/** Characters that Python's str.splitlines() treats as line breaks besides `\n`. */
// eslint-disable-next-line no-control-regex
export const PYTHON_EXTRA_LINE_BREAKS = /[\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029]/;

/** Python's json.loads raises RecursionError past about this nesting depth (recursion limit 1000). */
export const PYTHON_MAX_DEPTH = 990;
/** Python 3.11+ refuses to parse integers with more digits than this (ValueError). */
export const PYTHON_MAX_INT_DIGITS = 4300;

/**
 * What makes Python's json.loads raise (not a JSONDecodeError, so upstream's reader fails for
 * the whole session) on a line JavaScript parses fine. Only long lines can have either.
 */
export function pythonJsonHazard(text: string): string | null {
  if (text.length <= 2 * PYTHON_MAX_DEPTH && text.length <= PYTHON_MAX_INT_DIGITS) return null;
  let depth = 0;
  let maxDepth = 0;
  let digits = 0;
  let maxDigits = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > maxDigits) maxDigits = digits;
      continue;
    }
    digits = 0;
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) maxDepth = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  if (maxDepth > PYTHON_MAX_DEPTH) return `nesting ${maxDepth} levels deep makes Python's json.loads raise RecursionError`;
  if (maxDigits > PYTHON_MAX_INT_DIGITS) return `an integer of ${maxDigits} digits makes Python's json.loads raise ValueError`;
  return null;
}
