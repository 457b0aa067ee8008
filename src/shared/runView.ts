/**
 * The run behind a turn, as the timeline shows it: hermes' run journal
 * (`_run_journal/<sid>/<run_id>.jsonl`, FORMATS.md §5, read by `core/runJournal.ts`) turned
 * into a short list of items a person reads — reasoning, the streamed answer, interim
 * messages, tool calls (arguments, then their result), approvals, warnings, errors and the
 * terminal outcome — and the token usage and cost of the run's last `metering` event.
 *
 * Everything in a run journal is untrusted text written by the model, its tools or anyone
 * with access to the folder: the items carry plain strings only, which the webview inserts as
 * text. Item text is capped so one message to the webview stays small.
 *
 * Loaded by the extension host and the webview: no `vscode`, no DOM, no Node built-ins.
 */

/** What the timeline knows of a turn's run without reading it (from the session's analysis). */
export interface TimelineRunRef {
  runId: string;
  /** The settled outcome by upstream's authoritative-terminal rule (`running` when none yet). */
  outcome: string;
  /** What upstream's own summary would say (null: its read raises). */
  upstreamOutcome: string | null;
  size: number;
  lastSeq: number | null;
}

/** Token usage and cost of a run: the `usage` of its last `metering` event (else of its `done` event). */
export interface RunUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Estimated cost in USD, when upstream reported one. */
  cost: number | null;
  /** Which event it came from, and its seq. */
  source: 'metering' | 'done';
  seq: number | null;
}

export type RunItem =
  | { kind: 'reasoning'; text: string; events: number }
  | { kind: 'answer'; text: string; events: number }
  | { kind: 'interim'; text: string }
  | { kind: 'tool'; name: string; args: string; preview: string; result: string | null; duration: number | null; isError: boolean; done: boolean }
  | { kind: 'approval'; text: string }
  | { kind: 'warning'; text: string }
  | { kind: 'error'; event: string; text: string }
  | { kind: 'terminal'; event: string; state: string; text: string }
  | { kind: 'other'; event: string; count: number }
  | { kind: 'malformed'; line: number; detail: string };

/** The fields of a run-journal event the view needs (a subset of core/runJournal's RunEvent). */
export interface RunEventLike {
  event: string;
  seq: number | null;
  terminal: boolean;
  terminalState: string | null;
  derivedTerminalState: string | null;
  payload?: unknown;
  payloadOmitted?: boolean;
}

/** One page of a run, as sent to the webview. */
export interface RunPage {
  turnId: string;
  runId: string;
  items: RunItem[];
  /** Byte offset and line where the next page starts (`null` when the file was read to its end). */
  next: { offset: number; line: number } | null;
  /** Events read so far (this page and the ones before). */
  eventsRead: number;
  size: number;
  error?: string;
}

/** Characters kept of one item's text (the rest is cut with a note). */
export const RUN_TEXT_CAP = 20_000;

/** Events whose payload is only bookkeeping: not shown (usage is read from `metering` separately). */
const QUIET = new Set(['metering', 'context_status', 'compressing', 'compressed', 'goal', 'todo', 'stream_end']);

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  try {
    return JSON.stringify(v, null, 2) ?? '';
  } catch {
    return String(v);
  }
}

export function capText(s: string, cap = RUN_TEXT_CAP): string {
  return s.length > cap ? `${s.slice(0, cap)}… (${(s.length - cap).toLocaleString('en-US')} more characters)` : s;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** The usage of a `metering` or `done` payload, or null when it carries none. */
export function usageOf(event: RunEventLike): RunUsage | null {
  if (event.event !== 'metering' && event.event !== 'done') return null;
  const u = obj(obj(event.payload)?.usage);
  if (!u) return null;
  const cost = typeof u.estimated_cost === 'number' && Number.isFinite(u.estimated_cost) ? u.estimated_cost : null;
  return {
    inputTokens: num(u.input_tokens),
    outputTokens: num(u.output_tokens),
    cacheReadTokens: num(u.cache_read_tokens),
    cacheWriteTokens: num(u.cache_write_tokens),
    cost,
    source: event.event,
    seq: event.seq,
  };
}

/**
 * Turns events (in file order) into items, appending to `items` so that pages read one after
 * another continue the same reasoning/answer text and complete the same tool call.
 */
export function appendRunItems(items: RunItem[], events: readonly RunEventLike[]): RunItem[] {
  for (const e of events) appendRunItem(items, e);
  for (const it of items) if ('text' in it) it.text = capText(it.text);
  return items;
}

function appendRunItem(items: RunItem[], e: RunEventLike): void {
  // Bookkeeping (metering ticks between tokens, context status…) is not shown: the answer stays one text.
  if (QUIET.has(e.event) && !e.terminal) return;
  const p = obj(e.payload);
  const last = items[items.length - 1];
  switch (e.event) {
    case 'token':
    case 'reasoning': {
      const kind = e.event === 'token' ? 'answer' : 'reasoning';
      const text = str(p?.text);
      if (last?.kind === kind) {
        if (last.text.length < RUN_TEXT_CAP) last.text += text;
        last.events++;
      } else items.push({ kind, text, events: 1 });
      return;
    }
    case 'interim_assistant':
      items.push({ kind: 'interim', text: str(p?.text) });
      return;
    case 'tool':
      items.push({
        kind: 'tool',
        name: str(p?.name) || '(no name)',
        args: capText(str(p?.args)),
        preview: capText(str(p?.preview)),
        result: null,
        duration: null,
        isError: false,
        done: false,
      });
      return;
    case 'tool_complete':
      completeTool(items, p);
      return;
    case 'approval':
    case 'clarify':
      items.push({
        kind: 'approval',
        text: `${e.event === 'clarify' ? 'Clarification asked' : 'Approval asked'}: ${str(p?.description ?? p?.question ?? p?.command ?? p)}`,
      });
      return;
    case 'warning':
      items.push({ kind: 'warning', text: str(p?.message ?? p) });
      return;
  }
  if (e.terminal) {
    const state = e.terminalState ?? e.derivedTerminalState ?? 'errored';
    const text = e.event === 'done' ? '' : str(p?.message ?? p?.error ?? '');
    items.push({ kind: 'terminal', event: e.event, state, text: e.payloadOmitted ? '(payload over the size limit, not read)' : text });
  } else if (e.event === 'apperror' || e.event === 'error') {
    items.push({ kind: 'error', event: e.event, text: str(p?.message ?? p) });
  } else if (last?.kind === 'other' && last.event === (e.event || '(no event name)')) {
    last.count++;
  } else {
    items.push({ kind: 'other', event: e.event || '(no event name)', count: 1 });
  }
}

/** `tool_complete`: the result of the latest started call of that name still open, else a call on its own. */
function completeTool(items: RunItem[], p: Record<string, unknown> | null): void {
  const name = str(p?.name) || '(no name)';
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i];
    if (it.kind === 'tool' && !it.done && it.name === name) {
      it.done = true;
      it.result = capText(str(p?.preview));
      it.duration = typeof p?.duration === 'number' && Number.isFinite(p.duration) ? p.duration : null;
      it.isError = p?.is_error === true;
      return;
    }
  }
  items.push({
    kind: 'tool',
    name,
    args: capText(str(p?.args)),
    preview: '',
    result: capText(str(p?.preview)),
    duration: typeof p?.duration === 'number' && Number.isFinite(p.duration) ? p.duration : null,
    isError: p?.is_error === true,
    done: true,
  });
}

/** Characters one page of items may carry in all; past it, each further text keeps its first 500. */
export const RUN_PAGE_CHARS = 2_000_000;

/** Keeps a page's items under {@link RUN_PAGE_CHARS} (a page of 4,000 tool calls with huge arguments stays a small message). */
export function budgetItems(items: RunItem[], budget = RUN_PAGE_CHARS): RunItem[] {
  let used = 0;
  const fit = (t: string): string => {
    used += t.length;
    return used > budget ? capText(t, 500) : t;
  };
  for (const it of items) {
    if ('text' in it) it.text = fit(it.text);
    if (it.kind === 'tool') {
      it.args = fit(it.args);
      it.preview = fit(it.preview);
      if (it.result !== null) it.result = fit(it.result);
    }
  }
  return items;
}

/** Sums usages (a session total); `runs` is how many usages were added. */
export function addUsage(total: RunUsage | null, u: RunUsage): RunUsage {
  if (!total) return { ...u, source: 'metering', seq: null };
  return {
    inputTokens: total.inputTokens + u.inputTokens,
    outputTokens: total.outputTokens + u.outputTokens,
    cacheReadTokens: total.cacheReadTokens + u.cacheReadTokens,
    cacheWriteTokens: total.cacheWriteTokens + u.cacheWriteTokens,
    cost: total.cost === null && u.cost === null ? null : (total.cost ?? 0) + (u.cost ?? 0),
    source: 'metering',
    seq: null,
  };
}

/** "1.2k in · 340 out · $0.0123" */
export function formatUsage(u: RunUsage): string {
  const parts = [`${compact(u.inputTokens)} in`, `${compact(u.outputTokens)} out`];
  if (u.cost !== null) parts.push(formatCost(u.cost));
  return parts.join(' · ');
}

export function formatCost(usd: number): string {
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(usd < 10 ? 3 : 2)}`;
}

function compact(n: number): string {
  if (n < 100_000) return n.toLocaleString('en-US');
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}
