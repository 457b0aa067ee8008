/**
 * Masks secrets and personal data in text that leaves the machine (training-data exports, and
 * the GitHub push can call `redactText` too). Masking happens in the output only: journals,
 * sidecars and feedback files are never changed.
 *
 * Detection is by well-known patterns (no network, no dependency): the token formats of the
 * big providers (the same shapes secretlint's rule packages and GitHub secret scanning look for),
 * private-key blocks, JWTs, `password=`-style assignments, then emails, phone numbers, IPv4/IPv6
 * addresses, and card numbers that pass the Luhn check. A pattern list can miss a secret of an
 * unknown shape: the dataset card says so.
 */

export type RedactionKind =
  | 'private_key'
  | 'aws_access_key'
  | 'github_token'
  | 'openai_key'
  | 'anthropic_key'
  | 'slack_token'
  | 'google_api_key'
  | 'stripe_key'
  | 'npm_token'
  | 'jwt'
  | 'bearer_token'
  | 'password_assignment'
  | 'email'
  | 'card_number'
  | 'ip_address'
  | 'phone';

export const SECRET_KINDS: ReadonlySet<RedactionKind> = new Set([
  'private_key',
  'aws_access_key',
  'github_token',
  'openai_key',
  'anthropic_key',
  'slack_token',
  'google_api_key',
  'stripe_key',
  'npm_token',
  'jwt',
  'bearer_token',
  'password_assignment',
]);

interface Rule {
  kind: RedactionKind;
  re: RegExp;
  /** Which capture group is the sensitive part (0: the whole match). */
  group?: number;
  check?: (s: string) => boolean;
}

// Order matters: earlier rules claim their spans first (a key inside a JWT is the JWT's).
const RULES: Rule[] = [
  { kind: 'private_key', re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  { kind: 'aws_access_key', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g },
  { kind: 'github_token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { kind: 'anthropic_key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  { kind: 'openai_key', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { kind: 'slack_token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { kind: 'google_api_key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'stripe_key', re: /\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b/g },
  { kind: 'npm_token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: 'bearer_token', re: /\bBearer\s+([A-Za-z0-9._~+/=-]{20,})/g, group: 1 },
  {
    kind: 'password_assignment',
    re: /\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)\s*[:=]\s*["']?([^\s"',;]{6,})/gi,
    group: 1,
  },
  { kind: 'email', re: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g },
  { kind: 'card_number', re: /\b\d(?:[ -]?\d){12,18}\b/g, check: luhnOk },
  { kind: 'ip_address', re: /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/g, check: (s) => !/^(?:0\.0\.0\.0|127\.0\.0\.1)$/.test(s) },
  {
    kind: 'ip_address',
    re: /(?<![:\w])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![:\w])|(?<![:\w])(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}:){0,5}[0-9a-fA-F]{1,4}(?![:\w])/g,
  },
  {
    kind: 'phone',
    re: /(?<![\w+]|\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}[ .-]?\d{3,4}(?![\w]|[ .-]\d)/g,
    check: (s) => s.replace(/\D/g, '').length >= 9 && s.replace(/\D/g, '').length <= 15 && !/^\d{4}-\d{2}-\d{2}/.test(s),
  },
];

/** Luhn checksum of the digits in `s` (13–19 digits). */
export function luhnOk(s: string): boolean {
  const d = s.replace(/\D/g, '');
  if (d.length < 13 || d.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

export interface Finding {
  kind: RedactionKind;
  start: number;
  end: number;
}

/** Where the sensitive spans of `text` are (non-overlapping, in order). */
export function findSensitive(text: string): Finding[] {
  const found: Finding[] = [];
  const taken = (s: number, e: number) => found.some((f) => s < f.end && e > f.start);
  for (const r of RULES) {
    r.re.lastIndex = 0;
    for (const m of text.matchAll(r.re)) {
      const part = r.group ? m[r.group] : m[0];
      if (part === undefined) continue;
      const start = (m.index ?? 0) + (r.group ? m[0].indexOf(part) : 0);
      const end = start + part.length;
      if (r.check && !r.check(part)) continue;
      if (taken(start, end)) continue;
      found.push({ kind: r.kind, start, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

export function maskOf(kind: RedactionKind): string {
  return `[REDACTED:${kind}]`;
}

export interface RedactResult {
  text: string;
  findings: Finding[];
}

/** `text` with every sensitive span replaced by `[REDACTED:<kind>]`. */
export function redactText(text: string): RedactResult {
  const findings = findSensitive(text);
  if (findings.length === 0) return { text, findings };
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += text.slice(at, f.start) + maskOf(f.kind);
    at = f.end;
  }
  return { text: out + text.slice(at), findings };
}

/** A preview that shows where and what kind, never the whole value: `sk-p…(51 chars)`. */
export function previewFinding(text: string, f: Finding): string {
  const v = text.slice(f.start, f.end);
  const shown = SECRET_KINDS.has(f.kind) ? v.slice(0, 4) : v.slice(0, 3);
  return `${f.kind}: ${shown}…(${v.length} chars)`;
}

export type RedactionCounts = Partial<Record<RedactionKind, number>>;

/**
 * Redacts every string in a JSON value (message contents, tool arguments, …) and counts what
 * was masked. Keys are never changed.
 */
export function redactDeep<T>(v: T, counts: RedactionCounts, previews?: string[]): T {
  if (typeof v === 'string') {
    const r = redactText(v);
    for (const f of r.findings) {
      counts[f.kind] = (counts[f.kind] ?? 0) + 1;
      if (previews && previews.length < 1000) previews.push(previewFinding(v, f));
    }
    return r.text as T;
  }
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, counts, previews)) as T;
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty: a `__proto__` key from transcript JSON stays a plain key.
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, { value: redactDeep(x, counts, previews), enumerable: true, writable: true, configurable: true });
    return out as T;
  }
  return v;
}
