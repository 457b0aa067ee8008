/** Output helpers and argument parsing shared by the CLI's commands. */

import { parseArgs, type ParseArgsConfig } from 'util';

export class UsageError extends Error {}

// eslint-disable-next-line no-control-regex
const TERMINAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f]/g;

/**
 * Everything the CLI prints goes through here: control characters (ESC, OSC, CSI, C1, bell,
 * carriage return…), line/paragraph separators and bidi controls from file names, ids or
 * transcript text are printed as `\uXXXX` (valid inside JSON strings too, so `--json` output
 * parses to the same values); only our own colour codes (paint() marks them with private-use characters; an SGR
 * sequence in a file name is escaped like any other control) and `\n`/`\t` pass.
 */
export function terminalSafe(s: string): string {
  return s
    .replace(TERMINAL_UNSAFE, (m) =>
      m
        .split('')
        .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .join(''),
    )
    .replace(COLOR_MARK, (_m, code: string) => `\u001b[${code}m`);
}

export function out(s: string): void {
  process.stdout.write(terminalSafe(s));
}

export function err(s: string): void {
  process.stderr.write(terminalSafe(s));
}

export const color = {
  enabled: process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb',
};

/** Our colour codes, as private-use marks that terminalSafe() turns into SGR sequences. */
const COLOR_MARK = /\ue000([0-9;]{1,8})\ue001/g;
function paint(code: string, s: string): string {
  return color.enabled ? `\ue000${code}\ue001${s}\ue0000\ue001` : s;
}
export const red = (s: string): string => paint('31', s);
export const yellow = (s: string): string => paint('33', s);
export const green = (s: string): string => paint('32', s);
export const dim = (s: string): string => paint('2', s);
export const bold = (s: string): string => paint('1', s);

/** util.parseArgs with errors turned into UsageError (exit 2, no stack trace). */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, positionals: { min: number; max: number; names: string }) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  const n = parsed.positionals.length;
  if (n < positionals.min) throw new UsageError(`missing ${positionals.names}`);
  if (n > positionals.max) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`);
  return parsed;
}

export function numberOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number ≥ ${min}, got "${value}"`);
  return n;
}

/** Terminal-safe rendering of untrusted text: control characters shown as escapes. */
export function safeText(s: string, max = 160): string {
  const cleaned = s.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what this escapes
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return cleaned.length > max ? cleaned.slice(0, max - 1) + '…' : cleaned;
}
