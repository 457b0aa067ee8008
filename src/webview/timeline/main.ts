/**
 * The turn timeline webview: a virtualised list of turn cards and broken-line cards.
 *
 * Only the cards near the viewport are in the DOM (at most MAX_CARDS), positioned by
 * prefix sums of measured (or estimated) heights, so a 100,000-event session keeps a
 * bounded DOM. Journal text is untrusted: it is only ever inserted as text.
 */

import css from './timeline.css';
import { appendHighlighted, h } from './dom';
import {
  MessageType,
  type FromWebview,
  type Notice,
  type PersistedState,
  type Snapshot,
  type ToWebview,
  type WebviewRequest,
} from './protocol';
import { matchesFilter, NO_FILTER, searchableText, type TimelineFilter, type TimelineHeader, type TimelineLineRow, type TimelineRow, type TimelineTurnRow, type TurnStatus } from '../../core/timelineModel';
import { formatBytes, formatClock, formatDuration, formatOffset, formatTimestamp } from '../../core/timelineFormat';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): PersistedState | undefined;
  setState(state: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (m: FromWebview): void => vscode.postMessage(m);

// ---- constants ------------------------------------------------------------------------
const OVERSCAN_PX = 600;
const MAX_CARDS = 60;
const COLLAPSE_CHARS = 600;
const COLLAPSE_LINES = 8;
const GAP = 8;

// ---- styles (CSP: style-src with this script's nonce) ---------------------------------
{
  const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? '';
  const style = document.createElement('style');
  if (nonce) style.nonce = nonce;
  style.textContent = css;
  document.head.append(style);
}

// ---- state ----------------------------------------------------------------------------
const saved = vscode.getState();
let header: TimelineHeader | null = null;
let rows: TimelineRow[] = [];
let indexByKey = new Map<string, number>();
let generation = -1;
let expectedTotal = 0;
let loaded = false;

/** Indices into `rows` that pass the search and the filters, in order. */
let shown: number[] = [];
let offsets = new Float64Array(1);
const heights = new Map<string, number>();
const textCache = new Map<string, { version: string; text: string }>();

let query = saved?.search ?? '';
let filter: TimelineFilter = { ...NO_FILTER, ...(saved?.filter ?? {}) };
let followTail = saved?.followTail ?? false;
const expanded = new Set<string>(saved?.expanded ?? []);
let selectedKey: string | null = saved?.selectedKey ?? null;
let restoreTopKey: string | null = saved?.topKey ?? null;
let searchHits = 0;
let pendingReveal: string | null = null;
/** The host allows feedback (a trusted workspace). */
let feedbackEnabled = false;

interface Live {
  el: HTMLElement;
  stamp: string;
}
const live = new Map<string, Live>();

// ---- skeleton -------------------------------------------------------------------------
const headerEl = h('header', { class: 'session-header', 'aria-label': 'Session' });
const searchInput = h('input', {
  type: 'search',
  id: 'search',
  class: 'search',
  placeholder: 'Search messages, turn ids, reasons  ( / )',
  'aria-label': 'Search message text, turn ids and interruption reasons',
  spellcheck: 'false',
});
const hitsEl = h('span', { class: 'hits', id: 'hits', role: 'status', 'aria-live': 'polite' });
const statusSelect = h(
  'select',
  { id: 'status-filter', 'aria-label': 'Show turns in this state' },
  ...(
    [
      ['', 'All states'],
      ['completed', 'Completed'],
      ['interrupted', 'Interrupted'],
      ['open', 'Open'],
      ['dangling', 'Dangling'],
      ['live', 'Live'],
      ['collision', 'Terminal collisions'],
      ['broken', 'Broken lines'],
      ['recovered', 'Recovered'],
    ] as const
  ).map(([v, label]) => h('option', { value: v }, label)),
);
const findingsBox = h('input', { type: 'checkbox', id: 'findings-only' });
const feedbackBox = h('input', { type: 'checkbox', id: 'feedback-only' });
const followBtn = h('button', { class: 'toggle', id: 'follow', type: 'button', 'aria-pressed': 'false', title: 'Keep the newest events in view as they are appended' }, 'Follow tail');
const toolbar = h(
  'div',
  { class: 'toolbar', role: 'toolbar', 'aria-label': 'Search and filters' },
  h('div', { class: 'search-wrap' }, searchInput, hitsEl),
  statusSelect,
  h('label', { class: 'check' }, findingsBox, 'Findings only'),
  h('label', { class: 'check' }, feedbackBox, 'With feedback'),
  followBtn,
);
const noticeEl = h('div', { class: 'notice', id: 'notice', role: 'status', hidden: true });
const spacer = h('div', { class: 'spacer', id: 'feed', role: 'feed', 'aria-label': 'Turns', 'aria-busy': 'true' });
const scroller = h('div', { class: 'scroller', id: 'scroller' }, spacer);
const emptyEl = h('div', { class: 'empty', hidden: true });
const loadingEl = h('div', { class: 'loading', role: 'status' }, 'Loading session…');
const app = h('div', { class: 'app' }, headerEl, toolbar, noticeEl, loadingEl, emptyEl, scroller);
document.body.append(app);

searchInput.value = query;
statusSelect.value = filter.status;
findingsBox.checked = filter.findingsOnly;
feedbackBox.checked = filter.feedbackOnly;
setFollowButton();

// ---- helpers --------------------------------------------------------------------------
function searchTextOf(row: TimelineRow): string {
  const c = textCache.get(row.key);
  if (c && c.version === row.version) return c.text;
  const text = searchableText(row).toLowerCase();
  textCache.set(row.key, { version: row.version, text });
  return text;
}

function passes(row: TimelineRow): boolean {
  if (!matchesFilter(row, filter)) return false;
  if (query && !searchTextOf(row).includes(query.toLowerCase())) return false;
  return true;
}

function recomputeShown(): void {
  shown = [];
  searchHits = 0;
  for (let i = 0; i < rows.length; i++) {
    if (passes(rows[i])) {
      shown.push(i);
    }
  }
  if (query) searchHits = shown.length;
  layout();
  updateCounts();
}

function estimateHeight(row: TimelineRow): number {
  const textHeight = (s: string | null, full: boolean): number => {
    if (!s) return 0;
    const lines = Math.max(1, Math.ceil(s.length / 110)) + (s.match(/\n/g)?.length ?? 0);
    return 24 + 19 * (full ? lines : Math.min(lines, COLLAPSE_LINES));
  };
  if (row.kind === 'line') return 120 + (row.glued ? 24 : 0);
  const full = expanded.has(row.key);
  return 96 + textHeight(row.userMessage, full) + textHeight(row.reply, full) + (row.collision ? 30 + 22 * row.collision.length : 0) + (row.status === 'dangling' || row.status === 'open' ? 26 : 0) + Math.min(row.findings.length, 4) * 20 + (row.reason ? 20 : 0) + (row.feedback ? 22 : 0) + (feedbackEnabled ? 30 : 0);
}

function heightOf(i: number): number {
  const row = rows[shown[i]];
  return heights.get(row.key) ?? estimateHeight(row);
}

function layout(): void {
  offsets = new Float64Array(shown.length + 1);
  let y = 0;
  for (let i = 0; i < shown.length; i++) {
    offsets[i] = y;
    y += heightOf(i) + GAP;
  }
  offsets[shown.length] = y;
  spacer.style.height = `${y}px`;
}

/** Index of the shown row containing y (binary search over offsets). */
function indexAt(y: number): number {
  let lo = 0;
  let hi = shown.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= y) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}

function shownIndexOfKey(key: string | null): number {
  if (key === null) return -1;
  const ri = indexByKey.get(key);
  if (ri === undefined) return -1;
  // shown is sorted: binary search for ri.
  let lo = 0;
  let hi = shown.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (shown[mid] === ri) return mid;
    if (shown[mid] < ri) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Marks for "the opened shard" only mean something when the session has several. */
function multiShard(): boolean {
  return (header?.shards.length ?? 0) > 1;
}

function nowSeconds(): number {
  return Date.now() / 1000;
}

// ---- rendering ------------------------------------------------------------------------
let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

/** The anchor that keeps what the user is reading in place while heights change. */
function captureAnchor(): { key: string; delta: number } | null {
  if (shown.length === 0) return null;
  const top = scroller.scrollTop;
  const i = indexAt(top);
  return { key: rows[shown[i]].key, delta: top - offsets[i] };
}

function restoreAnchor(a: { key: string; delta: number } | null): void {
  if (followTail) {
    scroller.scrollTop = scroller.scrollHeight;
    return;
  }
  if (!a) return;
  const i = shownIndexOfKey(a.key);
  if (i >= 0) {
    const want = offsets[i] + a.delta;
    if (Math.abs(scroller.scrollTop - want) > 1) scroller.scrollTop = want;
  }
}

function render(): void {
  if (!loaded && rows.length === 0) return;
  for (let pass = 0; pass < 3; pass++) {
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || window.innerHeight;
    let first = shown.length ? indexAt(Math.max(0, top - OVERSCAN_PX)) : 0;
    let last = shown.length ? indexAt(top + height + OVERSCAN_PX) : -1;
    if (last - first + 1 > MAX_CARDS) {
      // Keep the viewport itself, trim the overscan.
      const vFirst = indexAt(top);
      first = Math.max(first, vFirst - Math.floor(MAX_CARDS / 4));
      last = Math.min(last, first + MAX_CARDS - 1);
    }
    const want = new Set<string>();
    for (let i = first; i <= last; i++) want.add(rows[shown[i]].key);
    for (const [key, l] of live) {
      if (!want.has(key)) {
        l.el.remove();
        live.delete(key);
      }
    }
    for (let i = first; i <= last; i++) {
      const row = rows[shown[i]];
      const stamp = `${row.version}|${expanded.has(row.key) ? 1 : 0}|${query}|${row.key === selectedKey ? 1 : 0}`;
      let l = live.get(row.key);
      if (!l || l.stamp !== stamp) {
        const el = row.kind === 'turn' ? turnCard(row) : lineCard(row);
        if (l) l.el.replaceWith(el);
        else spacer.append(el);
        l = { el, stamp };
        live.set(row.key, l);
      }
      l.el.style.transform = `translateY(${offsets[i]}px)`;
      l.el.setAttribute('aria-posinset', String(i + 1));
      l.el.setAttribute('aria-setsize', String(shown.length));
      l.el.dataset.index = String(i);
      l.el.tabIndex = row.key === selectedKey || (selectedKey === null && i === first) ? 0 : -1;
    }
    // Measure; when real heights differ from the estimates, lay out again around the anchor.
    let changed = false;
    for (let i = first; i <= last; i++) {
      const key = rows[shown[i]].key;
      const el = live.get(key)!.el;
      const hgt = el.offsetHeight;
      if (hgt > 0 && heights.get(key) !== hgt) {
        heights.set(key, hgt);
        changed = true;
      }
    }
    if (!changed) break;
    const anchor = captureAnchor();
    layout();
    for (let i = first; i <= last; i++) {
      const l = live.get(rows[shown[i]].key);
      if (l) l.el.style.transform = `translateY(${offsets[i]}px)`;
    }
    restoreAnchor(anchor);
  }
  spacer.setAttribute('aria-busy', loaded ? 'false' : 'true');
  emptyEl.hidden = !(loaded && shown.length === 0);
  emptyEl.textContent = rows.length === 0 ? 'This session has no turns yet.' : 'No turns match the search and filters.';
  if (pendingFocus) {
    const el = live.get(pendingFocus)?.el;
    if (el) el.focus({ preventScroll: true });
    pendingFocus = null;
  }
  persistSoon();
}

function statusGlyph(status: TurnStatus, collision: boolean): string {
  if (collision) return '⚠';
  switch (status) {
    case 'completed':
      return '✓';
    case 'interrupted':
      return '✕';
    case 'dangling':
      return '‖';
    case 'live':
      return '●';
    case 'open':
      return '◌';
    case 'recovered':
      return '↺';
    default:
      return '•';
  }
}

function statusWords(row: TimelineTurnRow): string {
  switch (row.status) {
    case 'completed':
      return 'completed';
    case 'interrupted':
      return 'interrupted';
    case 'dangling':
      return 'dangling';
    case 'live':
      return 'in progress';
    case 'open':
      return `open (${row.state || 'no state'})`;
    case 'recovered':
      return 'recovered from glued lines';
    default:
      return row.state || 'unknown';
  }
}

function chipFor(shard: string, line: number, text: string, cls: string, title: string): HTMLButtonElement {
  return h('button', { type: 'button', class: `chip ${cls}`, 'data-action': 'open', 'data-shard': shard, 'data-line': line, title }, text);
}

function textBlock(who: string, text: string, key: string, cls: string, extra: (Node | string)[] = []): HTMLElement {
  const full = expanded.has(key);
  const lines = text.split('\n').length;
  const long = text.length > COLLAPSE_CHARS || lines > COLLAPSE_LINES;
  const body = h('div', { class: `text${long && !full ? ' clamped' : ''}` });
  let shownText = text;
  if (long && !full) {
    shownText = text.slice(0, COLLAPSE_CHARS).split('\n').slice(0, COLLAPSE_LINES).join('\n');
    if (shownText.length < text.length) shownText += '…';
  }
  appendHighlighted(body, shownText, query);
  const block = h('section', { class: `msg ${cls}`, 'aria-label': who }, h('div', { class: 'who' }, who, ...extra), body);
  if (long) {
    block.append(
      h(
        'button',
        { type: 'button', class: 'link more', 'data-action': 'expand', 'aria-expanded': full ? 'true' : 'false' },
        full ? 'Show less' : `Show all (${text.length.toLocaleString('en-US')} characters)`,
      ),
    );
  }
  return block;
}

function turnCard(row: TimelineTurnRow): HTMLElement {
  const collision = row.collision !== null;
  const classes = ['card', 'turn', `status-${row.status}`];
  if (collision) classes.push('collision');
  if (row.own && multiShard()) classes.push('own');
  if (row.key === selectedKey) classes.push('selected');
  if (row.worst) classes.push(`worst-${row.worst}`);
  const label = `Turn ${row.ordinal}, ${collision ? 'terminal collision, ' : ''}${statusWords(row)}${row.startedAt !== null ? `, ${formatTimestamp(row.startedAt)}` : ''}`;
  const card = h('article', { class: classes.join(' '), 'data-key': row.key, 'data-turn-id': row.turnId, 'aria-label': label, tabindex: -1 });

  const head = h(
    'div',
    { class: 'card-head' },
    h('span', { class: 'glyph', 'aria-hidden': 'true' }, statusGlyph(row.status, collision)),
    h('span', { class: 'ordinal' }, `#${row.ordinal}`),
    h('span', { class: `badge state state-${row.status}` }, statusWords(row)),
    collision ? h('span', { class: 'badge collision-badge' }, 'terminal collision') : null,
    h('time', { class: 'when', title: row.startedAt !== null ? formatTimestamp(row.startedAt, true) + ' UTC' : '' }, formatTimestamp(row.startedAt)),
    row.total !== null ? h('span', { class: 'total', title: 'From submitted to the terminal event' }, formatDuration(row.total)) : null,
    row.model ? h('span', { class: 'model', title: row.modelProvider ? `${row.modelProvider} / ${row.model}` : row.model }, row.model) : null,
    row.own && multiShard() ? h('span', { class: 'own-tag', title: 'Has lines in the shard this editor was opened on' }, 'this shard') : null,
    h('span', { class: 'grow' }),
    h('button', { type: 'button', class: 'turn-id', 'data-action': 'copy', title: 'Copy turn id', 'aria-label': `Copy turn id ${row.turnId}` }, hl(row.turnId), h('span', { class: 'copy-hint', 'aria-hidden': 'true' }, ' copy')),
  );
  card.append(head);

  if (row.collision) {
    const list = h('ul', { class: 'collision-list' });
    for (const c of row.collision) {
      list.append(
        h(
          'li',
          null,
          h('strong', null, c.name || '(no name)'),
          c.reason ? ` (${c.reason})` : '',
          ` at ${formatTimestamp(c.at)} · `,
          chipFor(c.shard, c.line, `${c.shard}:${c.line}`, `loc${c.own && multiShard() ? ' own' : ''}`, `Open ${c.shard} at line ${c.line}`),
        ),
      );
    }
    card.append(
      h(
        'div',
        { class: 'banner collision-banner', role: 'note' },
        h('div', { class: 'banner-title' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), `Terminal collision: ${row.collision.length} terminal events for one turn. Upstream keeps the latest (“${row.state}”).`),
        list,
      ),
    );
  }

  if ((row.status === 'dangling' || row.status === 'open' || row.status === 'live') && row.lastAt !== null) {
    const age = h('span', { class: 'age', 'data-since': row.lastAt }, formatDuration(nowSeconds() - row.lastAt));
    card.append(
      h(
        'div',
        { class: `banner ${row.status === 'dangling' ? 'dangling-banner' : 'open-banner'}` },
        h('span', { 'aria-hidden': 'true' }, row.status === 'dangling' ? '‖ ' : '◌ '),
        row.status === 'live' ? 'In progress; last event ' : row.status === 'dangling' ? 'Dangling: open for ' : 'Open for ',
        age,
        row.status === 'live' ? ' ago' : '',
        ` — stopped at “${row.state || 'no state'}”, never finished.`,
      ),
    );
  }

  if (row.userMessage !== null) {
    card.append(textBlock('User', row.userMessage, row.key, 'user', row.attachments ? [h('span', { class: 'muted' }, ` · ${row.attachments} attachment${row.attachments === 1 ? '' : 's'}`)] : []));
  } else {
    card.append(h('div', { class: 'msg user missing muted' }, 'No “submitted” event: the user message is unknown.'));
  }
  if (row.reply !== null) {
    card.append(textBlock('Assistant', row.reply, row.key, 'assistant', row.replyIndex !== null ? [h('span', { class: 'muted' }, ` · sidecar message ${row.replyIndex}`)] : []));
  } else if (row.replyIndex !== null && row.terminal) {
    card.append(h('div', { class: 'msg assistant missing muted' }, `The reply (sidecar message ${row.replyIndex}) is not in the sidecar.`));
  }

  const steps = h('ol', { class: 'steps', 'aria-label': 'Lifecycle events (open the raw line)' });
  row.steps.forEach((s, i) => {
    if (i > 0) steps.append(h('li', { class: 'arrow', 'aria-hidden': 'true' }, '→'));
    const cls = ['step', s.terminal ? `terminal step-${s.name}` : '', s.recovered ? 'recovered' : '', s.own && multiShard() ? 'own' : ''].filter(Boolean).join(' ');
    const when = s.at !== null ? formatClock(s.at) : 'unknown time';
    const title = `${s.name || '(no event name)'} at ${when}${s.sincePrevious !== null && i > 0 ? ` (${formatOffset(s.sincePrevious)} after the previous step)` : ''}${s.recovered ? ' — recovered from a glued line' : ''}\nOpen ${s.shard} at line ${s.line}`;
    const chip = chipFor(s.shard, s.line, '', cls, title);
    chip.append(h('span', { class: 'step-name' }, s.label), ' ', h('span', { class: 'step-time' }, s.sinceStart !== null ? formatOffset(s.sinceStart) : '?'));
    chip.setAttribute('aria-label', `${s.label} ${s.sinceStart !== null ? formatOffset(s.sinceStart) : 'unknown time'}, ${s.shard} line ${s.line}${s.recovered ? ', recovered' : ''}`);
    steps.append(h('li', null, chip));
  });
  card.append(steps);

  const meta = h('div', { class: 'meta' });
  if (row.reason) meta.append(h('span', { class: 'reason' }, 'Reason: ', h('code', null, hl(row.reason))));
  if (row.feedback) {
    const f = row.feedback;
    const glyph = f.rating === 'up' ? '👍' : f.rating === 'down' ? '👎' : '•';
    const words = f.rating === 'up' ? 'Helpful' : f.rating === 'down' ? 'Not helpful' : 'Not rated';
    const by = [f.reviewer ? `by ${f.reviewer}` : '', f.at ? `at ${formatTimestamp(f.at, true)} UTC` : '', f.revisions && f.revisions > 1 ? `${f.revisions} records (latest wins)` : '', f.source ? `in ${f.source}` : ''].filter(Boolean).join(', ');
    meta.append(
      h(
        'span',
        { class: `feedback feedback-${f.rating}`, title: `Feedback ${by}` },
        h('span', { 'aria-hidden': 'true' }, `${glyph} `),
        `Feedback: ${words}`,
        f.reviewer ? h('span', { class: 'muted' }, ` · ${f.reviewer}`) : null,
        f.tags?.length ? h('span', { class: 'fb-tags' }, ...f.tags.map((t) => h('span', { class: 'fb-tag' }, t))) : null,
        f.comment ? h('span', { class: 'fb-comment' }, ' — ', hl(f.comment)) : null,
      ),
    );
  }
  if (meta.childNodes.length) card.append(meta);
  if (feedbackEnabled) card.append(feedbackBar(row));

  const findings = row.findings.filter((f) => f.kind !== 'terminal_collision' && f.kind !== 'dangling_turn' && f.kind !== 'interrupted_turn');
  if (findings.length) {
    const ul = h('ul', { class: 'findings', 'aria-label': 'Findings' });
    for (const f of findings.slice(0, 6)) {
      ul.append(h('li', { class: `sev-${f.severity}` }, h('span', { class: 'sev', 'aria-hidden': 'true' }, f.severity === 'error' ? '⛔ ' : f.severity === 'warning' ? '⚠ ' : 'ℹ '), h('span', { class: 'visually-hidden' }, `${f.severity}: `), f.message));
    }
    if (findings.length > 6) ul.append(h('li', { class: 'muted' }, `+${findings.length - 6} more`));
    card.append(ul);
  }
  return card;
}

/** 👍 / 👎 / clear / note buttons (also keys + - 0 n on the focused card). */
function feedbackBar(row: TimelineTurnRow): HTMLElement {
  const r = row.feedback?.rating;
  const btn = (action: string, text: string, label: string, pressed: boolean | null, key: string) =>
    h('button', { type: 'button', class: `fb-btn fb-${action}${pressed ? ' on' : ''}`, 'data-action': `fb-${action}`, 'aria-pressed': pressed === null ? null : pressed ? 'true' : 'false', title: `${label} (${key})`, 'aria-label': label, 'aria-keyshortcuts': key }, text);
  return h(
    'div',
    { class: 'fb-bar', role: 'group', 'aria-label': 'Feedback' },
    btn('up', '👍 Good', 'Thumbs up: a good answer', r === 'up', '+'),
    btn('down', '👎 Bad', 'Thumbs down: a bad answer', r === 'down', '-'),
    row.feedback ? btn('clear', 'Clear', 'Clear the rating', null, '0') : null,
    btn('note', row.feedback?.comment ? 'Edit note' : 'Note…', 'Add or edit a feedback note', null, 'n'),
    btn('correct', 'Correct…', 'Write a better answer (a correction: an SFT target and a DPO pair)', null, 'c'),
  );
}

function sendFeedback(turnId: string | undefined, value: 1 | -1 | 0): void {
  if (turnId && feedbackEnabled) post({ type: MessageType.SetFeedback, turnId, value });
}

function hl(text: string): DocumentFragment {
  const span = document.createElement('span');
  appendHighlighted(span, text, query);
  const frag = document.createDocumentFragment();
  frag.append(...span.childNodes);
  return frag;
}

const PROBLEM_WORDS: Record<TimelineLineRow['problem'], string> = {
  malformed: 'Malformed line',
  torn: 'Torn final line',
  glued: 'Glued line',
};

function lineCard(row: TimelineLineRow): HTMLElement {
  const classes = ['card', 'line', `problem-${row.problem}`, `worst-${row.worst}`];
  if (row.own && multiShard()) classes.push('own');
  if (row.key === selectedKey) classes.push('selected');
  const card = h('article', { class: classes.join(' '), 'data-key': row.key, 'aria-label': `${PROBLEM_WORDS[row.problem]} ${row.shard} line ${row.line}`, tabindex: -1 });
  card.append(
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'glyph', 'aria-hidden': 'true' }, row.problem === 'torn' ? '✂' : row.problem === 'glued' ? '⛓' : '⛔'),
      h('span', { class: 'badge problem' }, PROBLEM_WORDS[row.problem]),
      h('span', { class: 'loc' }, `${row.shard}:${row.line}`),
      h('span', { class: 'muted' }, formatBytes(row.length)),
      row.near !== null ? h('span', { class: 'muted', title: 'Time of the nearest earlier event in this shard' }, `after ${formatTimestamp(row.near)}`) : null,
      row.own && multiShard() ? h('span', { class: 'own-tag' }, 'this shard') : null,
      h('span', { class: 'grow' }),
      h('button', { type: 'button', class: 'link', 'data-action': 'open', 'data-shard': row.shard, 'data-line': row.line }, `Open at line ${row.line}`),
    ),
  );
  card.append(h('div', { class: 'detail' }, row.detail));
  const pre = h('pre', { class: 'raw', 'aria-label': 'Raw line text' });
  appendHighlighted(pre, row.raw, query);
  if (row.rawTruncated) pre.append(h('span', { class: 'muted' }, ` … (preview; the line is ${formatBytes(row.length)})`));
  card.append(pre);
  if (row.glued) {
    card.append(
      h(
        'div',
        { class: 'banner glued-banner' },
        h('span', { 'aria-hidden': 'true' }, '↺ '),
        `A complete “${row.glued.name}” event${row.glued.turnId ? ` of turn ${row.glued.turnId}` : ''} is glued on at byte ${row.glued.atByte ?? '?'}${row.glued.at !== null ? ` (${formatTimestamp(row.glued.at)})` : ''}; upstream loses it.`,
      ),
    );
  }
  return card;
}

function renderHeader(): void {
  headerEl.replaceChildren();
  if (!header) return;
  const hd = header;
  const title = h('h1', { class: 'title' }, hd.title || hd.sessionId);
  const meta = h(
    'div',
    { class: 'header-meta' },
    hd.model ? h('span', null, h('span', { class: 'muted' }, 'Model '), hd.modelProvider ? `${hd.modelProvider} / ${hd.model}` : hd.model) : null,
    h('span', null, h('span', { class: 'muted' }, 'Session '), hd.sessionId),
    h('span', null, `${hd.counts.events.toLocaleString('en-US')} events`),
    h('span', null, formatBytes(hd.totalBytes)),
    hd.firstActivity !== null ? h('span', null, `${formatTimestamp(hd.firstActivity)} – ${formatTimestamp(hd.lastActivity)}`) : null,
    hd.sidecar !== 'ok' ? h('span', { class: 'warn' }, hd.sidecar === 'missing' ? 'no sidecar (replies unknown)' : 'sidecar unreadable') : null,
  );
  const shards = h(
    'details',
    { class: 'shards' },
    h('summary', null, `${hd.shards.length} shard${hd.shards.length === 1 ? '' : 's'}${hd.openedShard ? ` · opened ${hd.openedShard}` : ''}`),
    h(
      'ul',
      null,
      ...hd.shards.map((s) =>
        h(
          'li',
          { class: s.own ? 'own' : '' },
          h('button', { type: 'button', class: 'link', 'data-action': 'open', 'data-shard': s.name, 'data-line': 1 }, s.name),
          ` ${formatBytes(s.size)} · ${s.lines.toLocaleString('en-US')} lines · ${s.events.toLocaleString('en-US')} events`,
          s.malformed ? h('span', { class: 'warn' }, ` · ${s.malformed} broken`) : '',
          s.tornTail ? h('span', { class: 'warn' }, ' · torn tail') : '',
          s.own ? h('span', { class: 'own-tag' }, 'opened') : '',
          s.error ? h('span', { class: 'err' }, ` · ${s.error}`) : '',
        ),
      ),
    ),
  );
  const counts = h('div', { class: 'counts', 'aria-label': 'Turns by state' }, h('span', { class: 'muted' }, `${hd.counts.turns.toLocaleString('en-US')} turns:`));
  const order: TurnStatus[] = ['completed', 'interrupted', 'live', 'open', 'dangling', 'recovered', 'other'];
  for (const s of order) {
    const n = hd.counts.byStatus[s];
    if (!n) continue;
    counts.append(h('button', { type: 'button', class: `badge state state-${s} filter-chip`, 'data-action': 'filter-status', 'data-status': s, title: `Show only ${s} turns` }, `${s} ${n.toLocaleString('en-US')}`));
  }
  if (hd.counts.collisions) counts.append(h('button', { type: 'button', class: 'badge collision-badge filter-chip', 'data-action': 'filter-status', 'data-status': 'collision' }, `⚠ ${hd.counts.collisions} terminal collision${hd.counts.collisions === 1 ? '' : 's'}`));
  if (hd.counts.malformed) counts.append(h('button', { type: 'button', class: 'badge problem filter-chip', 'data-action': 'filter-status', 'data-status': 'broken' }, `${hd.counts.malformed} broken line${hd.counts.malformed === 1 ? '' : 's'}`));
  const f = hd.findings;
  const findings = h(
    'div',
    { class: 'findings-summary' },
    h('span', { class: 'muted' }, 'Findings:'),
    f.error + f.warning + f.info === 0 ? h('span', { class: 'ok' }, ' none ✓') : null,
    f.error ? h('span', { class: 'sev-error' }, ` ${f.error} error${f.error === 1 ? '' : 's'}`) : null,
    f.warning ? h('span', { class: 'sev-warning' }, ` ${f.warning} warning${f.warning === 1 ? '' : 's'}`) : null,
    f.info ? h('span', { class: 'sev-info' }, ` ${f.info} info`) : null,
    hd.findingKinds.length ? h('span', { class: 'muted kinds' }, ' — ' + hd.findingKinds.slice(0, 6).map((k) => `${k.kind.replace(/_/g, ' ')} ${k.count}`).join(', ')) : null,
  );
  headerEl.append(title, meta, counts, findings, shards);
  if (hd.sessionFindings.length) {
    headerEl.append(h('ul', { class: 'findings session-findings' }, ...hd.sessionFindings.slice(0, 5).map((sf) => h('li', { class: `sev-${sf.severity}` }, sf.message))));
  }
}

function renderNotice(notice: Notice | null): void {
  noticeEl.replaceChildren();
  const parts: Node[] = [];
  if (notice) {
    parts.push(h('span', { class: `notice-text notice-${notice.severity}` }, notice.message));
    for (const a of notice.actions ?? []) {
      parts.push(h('button', { type: 'button', class: 'button', 'data-action': `notice-${a.kind}`, 'data-page': a.kind === 'page' ? a.page : null }, a.label));
    }
  }
  noticeEl.append(...parts);
  noticeEl.hidden = parts.length === 0;
  noticeEl.className = `notice${notice ? ` notice-${notice.severity}` : ''}`;
}

function updateCounts(): void {
  const total = rows.length;
  if (query) hitsEl.textContent = `${searchHits.toLocaleString('en-US')} match${searchHits === 1 ? '' : 'es'}`;
  else if (shown.length !== total) hitsEl.textContent = `${shown.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`;
  else hitsEl.textContent = '';
}

function setFollowButton(): void {
  followBtn.setAttribute('aria-pressed', followTail ? 'true' : 'false');
  followBtn.classList.toggle('on', followTail);
}

// ---- selection and keyboard -----------------------------------------------------------
let pendingFocus: string | null = null;

function select(i: number, align: 'nearest' | 'center' = 'nearest', focus = true): void {
  if (shown.length === 0) return;
  i = Math.max(0, Math.min(shown.length - 1, i));
  const key = rows[shown[i]].key;
  const prev = selectedKey;
  selectedKey = key;
  if (prev && prev !== key) live.get(prev)?.el.classList.remove('selected');
  const top = scroller.scrollTop;
  const height = scroller.clientHeight;
  const y0 = offsets[i];
  const y1 = offsets[i + 1] - GAP;
  if (align === 'center') scroller.scrollTop = Math.max(0, y0 - height / 3);
  else if (y0 < top) scroller.scrollTop = y0 - GAP;
  else if (y1 > top + height) scroller.scrollTop = y1 - height > y0 ? y0 - GAP : y1 - height + GAP;
  if (focus) pendingFocus = key;
  render();
}

function selectedIndex(): number {
  const i = shownIndexOfKey(selectedKey);
  if (i >= 0) return i;
  return shown.length ? indexAt(scroller.scrollTop) : -1;
}

function toggleExpand(key: string): void {
  if (expanded.has(key)) expanded.delete(key);
  else expanded.add(key);
  const anchor = captureAnchor();
  heights.delete(key);
  layout();
  restoreAnchor(anchor);
  pendingFocus = key;
  render();
}

function setFollow(on: boolean): void {
  followTail = on;
  setFollowButton();
  if (on) {
    scroller.scrollTop = scroller.scrollHeight;
    scheduleRender();
  }
  persistSoon();
}

document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  const inField = t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
  if (inField) {
    if (t === searchInput && e.key === 'Escape') {
      if (searchInput.value) {
        searchInput.value = '';
        setQuery('');
      } else focusList();
      e.preventDefault();
    } else if (t === searchInput && e.key === 'Enter') {
      applyQueryNow();
      focusList(true);
      e.preventDefault();
    }
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  switch (e.key) {
    case 'j':
    case 'ArrowDown':
      if (e.key === 'ArrowDown' && !t.closest('.card')) return;
      e.preventDefault();
      select(selectedIndex() + (shownIndexOfKey(selectedKey) >= 0 ? 1 : 0));
      break;
    case 'k':
    case 'ArrowUp':
      if (e.key === 'ArrowUp' && !t.closest('.card')) return;
      e.preventDefault();
      if (followTail) setFollow(false);
      select(selectedIndex() - 1);
      break;
    case 'Home':
      e.preventDefault();
      if (followTail) setFollow(false);
      select(0);
      break;
    case 'End':
      e.preventDefault();
      select(shown.length - 1);
      break;
    case '+':
    case '=':
    case '-':
    case '0':
    case 'c':
    case 'n': {
      const card = t.closest<HTMLElement>('.card.turn') ?? (selectedKey ? live.get(selectedKey)?.el.closest<HTMLElement>('.card.turn') : null);
      if (!card?.dataset.turnId || !feedbackEnabled) return;
      e.preventDefault();
      if (e.key === 'n') post({ type: MessageType.EditNote, turnId: card.dataset.turnId });
      else if (e.key === 'c') post({ type: MessageType.WriteCorrection, turnId: card.dataset.turnId });
      else sendFeedback(card.dataset.turnId, e.key === '-' ? -1 : e.key === '0' ? 0 : 1);
      break;
    }
    case '/':
      e.preventDefault();
      searchInput.focus();
      searchInput.select();
      break;
    case 'Enter':
    case ' ': {
      if (t.closest('button, a, summary')) return; // the control handles it
      const card = t.closest<HTMLElement>('.card');
      if (card?.dataset.key) {
        e.preventDefault();
        toggleExpand(card.dataset.key);
      }
      break;
    }
  }
});

function focusList(first = false): void {
  if (shown.length === 0) return;
  select(first ? 0 : Math.max(0, selectedIndex()));
}

// ---- clicks (one delegated listener; no inline handlers) -------------------------------
app.addEventListener('click', (e) => {
  const target = (e.target as HTMLElement).closest<HTMLElement>('[data-action]');
  const card = (e.target as HTMLElement).closest<HTMLElement>('.card');
  if (card?.dataset.key && card.dataset.key !== selectedKey) {
    const i = shownIndexOfKey(card.dataset.key);
    if (i >= 0) {
      live.get(selectedKey ?? '')?.el.classList.remove('selected');
      selectedKey = card.dataset.key;
      card.classList.add('selected');
      for (const l of live.values()) l.el.tabIndex = l.el === card ? 0 : -1;
    }
  }
  if (!target) return;
  switch (target.dataset.action) {
    case 'open':
      post({ type: MessageType.OpenLine, shard: target.dataset.shard ?? '', line: Number(target.dataset.line) || 1 });
      break;
    case 'copy': {
      const id = card?.dataset.turnId;
      if (id) post({ type: MessageType.CopyText, text: id, what: 'turn id' });
      break;
    }
    case 'expand':
      if (card?.dataset.key) toggleExpand(card.dataset.key);
      break;
    case 'fb-up':
      sendFeedback(card?.dataset.turnId, 1);
      break;
    case 'fb-down':
      sendFeedback(card?.dataset.turnId, -1);
      break;
    case 'fb-clear':
      sendFeedback(card?.dataset.turnId, 0);
      break;
    case 'fb-note':
      if (card?.dataset.turnId && feedbackEnabled) post({ type: MessageType.EditNote, turnId: card.dataset.turnId });
      break;
    case 'fb-correct':
      if (card?.dataset.turnId && feedbackEnabled) post({ type: MessageType.WriteCorrection, turnId: card.dataset.turnId });
      break;
    case 'filter-status': {
      const s = (target.dataset.status ?? '') as TimelineFilter['status'];
      setFilter({ status: filter.status === s ? '' : s });
      break;
    }
    case 'notice-openAsText':
      post({ type: MessageType.OpenAsText });
      break;
    case 'notice-loadWholeSession':
      post({ type: MessageType.LoadWholeSession });
      break;
    case 'notice-page':
      post({ type: MessageType.LoadPage, page: Number(target.dataset.page) || 0 });
      break;
  }
});

// ---- search and filters ---------------------------------------------------------------
let searchTimer: ReturnType<typeof setTimeout> | undefined;
searchInput.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(applyQueryNow, rows.length > 5000 ? 200 : 60);
});
function applyQueryNow(): void {
  clearTimeout(searchTimer);
  if (searchInput.value !== query) setQuery(searchInput.value);
}
function setQuery(q: string): void {
  query = q;
  searchInput.value = q;
  refilter();
}
statusSelect.addEventListener('change', () => setFilter({ status: statusSelect.value as TimelineFilter['status'] }));
findingsBox.addEventListener('change', () => setFilter({ findingsOnly: findingsBox.checked }));
feedbackBox.addEventListener('change', () => setFilter({ feedbackOnly: feedbackBox.checked }));
followBtn.addEventListener('click', () => setFollow(!followTail));
scroller.addEventListener('scroll', () => scheduleRender(), { passive: true });
scroller.addEventListener(
  'wheel',
  (e) => {
    if (e.deltaY < 0 && followTail) setFollow(false);
  },
  { passive: true },
);
window.addEventListener('resize', () => {
  heights.clear();
  layout();
  scheduleRender();
});

function setFilter(f: Partial<TimelineFilter>): void {
  filter = { ...filter, ...f };
  statusSelect.value = filter.status;
  findingsBox.checked = filter.findingsOnly;
  feedbackBox.checked = filter.feedbackOnly;
  refilter();
}

function refilter(): void {
  const keep = selectedKey;
  recomputeShown();
  const i = shownIndexOfKey(keep);
  if (i >= 0) {
    scroller.scrollTop = Math.max(0, offsets[i] - scroller.clientHeight / 3);
  } else {
    scroller.scrollTop = 0;
  }
  render();
}

// ---- live ages ------------------------------------------------------------------------
setInterval(() => {
  const now = nowSeconds();
  for (const el of spacer.querySelectorAll<HTMLElement>('[data-since]')) {
    el.textContent = formatDuration(now - Number(el.dataset.since));
  }
}, 15000);

// ---- persistence ----------------------------------------------------------------------
let persistTimer: ReturnType<typeof setTimeout> | undefined;
function persistSoon(): void {
  clearTimeout(persistTimer);
  persistTimer = setTimeout(() => {
    const a = captureAnchor();
    vscode.setState({ search: query, filter, followTail, expanded: [...expanded].slice(-200), topKey: a?.key ?? null, selectedKey });
  }, 300);
}

// ---- messages from the host -----------------------------------------------------------
function reindex(): void {
  indexByKey = new Map(rows.map((r, i) => [r.key, i]));
}

function revealTurn(turnId: string): void {
  const key = `t:${turnId}`;
  if (!indexByKey.has(key)) {
    pendingReveal = turnId;
    return;
  }
  pendingReveal = null;
  if (shownIndexOfKey(key) < 0) {
    query = '';
    searchInput.value = '';
    filter = { ...NO_FILTER };
    setFilter({});
  }
  if (followTail) setFollow(false);
  select(shownIndexOfKey(key), 'center');
  const el = live.get(key)?.el;
  if (el) {
    el.classList.add('flash');
    setTimeout(() => el.classList.remove('flash'), 1600);
  }
}

function onReset(m: Extract<ToWebview, { type: MessageType.Reset }>): void {
  generation = m.generation;
  header = m.header;
  rows = m.rows.slice();
  expectedTotal = m.total;
  reindex();
  for (const el of live.values()) el.el.remove();
  live.clear();
  heights.clear();
  loaded = rows.length >= expectedTotal;
  loadingEl.hidden = true;
  renderHeader();
  renderNotice(m.notice);
  recomputeShown();
  scroller.scrollTop = 0;
  render();
  afterRows();
}

function afterRows(): void {
  if (!loaded) return;
  if (pendingReveal) revealTurn(pendingReveal);
  else if (restoreTopKey) {
    const i = shownIndexOfKey(restoreTopKey);
    restoreTopKey = null;
    if (i >= 0) {
      scroller.scrollTop = offsets[i];
      render();
    }
  } else if (followTail) {
    scroller.scrollTop = scroller.scrollHeight;
    render();
  }
}

function onRows(m: Extract<ToWebview, { type: MessageType.Rows }>): void {
  if (m.generation !== generation || m.start !== rows.length) return;
  const anchor = captureAnchor();
  for (const r of m.rows) {
    indexByKey.set(r.key, rows.length);
    rows.push(r);
    if (passes(r)) shown.push(rows.length - 1);
  }
  if (query) searchHits = shown.length;
  loaded = rows.length >= expectedTotal;
  layout();
  updateCounts();
  restoreAnchor(followTail ? null : anchor);
  scheduleRender();
  afterRows();
}

function onPatch(m: Extract<ToWebview, { type: MessageType.Patch }>): void {
  if (m.generation !== generation) return;
  const anchor = captureAnchor();
  const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
  header = m.header;
  renderHeader();
  const byKey = new Map(rows.map((r) => [r.key, r]));
  for (const r of m.upserts) {
    if (byKey.has(r.key)) heights.delete(r.key);
    byKey.set(r.key, r);
  }
  if (m.order) {
    rows = m.order.map((k) => byKey.get(k)).filter((r): r is TimelineRow => r !== undefined);
  } else {
    rows = rows.map((r) => byKey.get(r.key)!);
    for (const r of m.upserts) if (!indexByKey.has(r.key)) rows.push(r);
  }
  reindex();
  expectedTotal = rows.length;
  loaded = true;
  recomputeShown();
  if (followTail || (atBottom && anchor === null)) scroller.scrollTop = scroller.scrollHeight;
  else restoreAnchor(anchor);
  render();
  if (pendingReveal) revealTurn(pendingReveal);
}

function handleRequest(id: number, req: WebviewRequest): void {
  switch (req.kind) {
    case 'setSearch':
      setQuery(req.text);
      break;
    case 'setFilter':
      setFilter(req.filter);
      break;
    case 'scroll':
      if (req.to === 'top') scroller.scrollTop = 0;
      else scroller.scrollTop = scroller.scrollHeight;
      render();
      break;
    case 'setFollowTail':
      setFollow(req.on);
      render();
      break;
    case 'key': {
      const i = shownIndexOfKey(`t:${req.turnId}`);
      if (i >= 0) {
        select(i, 'center');
        const el = live.get(`t:${req.turnId}`)?.el;
        el?.focus();
        el?.dispatchEvent(new KeyboardEvent('keydown', { key: req.key, bubbles: true, cancelable: true }));
      }
      break;
    }
    case 'snapshot':
      break;
  }
  // Answer after the browser has had a frame to settle (render + measure).
  requestAnimationFrame(() => {
    render();
    post({ type: MessageType.Reply, inReplyTo: id, result: snapshot() });
  });
}

function snapshot(): Snapshot {
  const cards = [...spacer.querySelectorAll<HTMLElement>('article.card')].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
  const keys = cards.map((c) => c.dataset.key ?? '');
  return {
    loaded,
    generation,
    totalRows: rows.length,
    shownRows: shown.length,
    renderedKeys: keys,
    renderedTurnIds: cards.filter((c) => c.classList.contains('turn')).map((c) => c.dataset.turnId ?? ''),
    collisionTurnIds: cards.filter((c) => c.classList.contains('collision') && c.querySelector('.collision-banner')).map((c) => c.dataset.turnId ?? ''),
    brokenLines: cards
      .filter((c) => c.classList.contains('line'))
      .map((c) => {
        const row = rows[indexByKey.get(c.dataset.key ?? '') ?? -1] as TimelineLineRow | undefined;
        return row ? `${row.problem}@${row.shard}:${row.line}` : '?';
      }),
    ownKeys: cards.filter((c) => c.classList.contains('own')).map((c) => c.dataset.key ?? ''),
    domElements: document.getElementsByTagName('*').length,
    searchHits,
    marks: spacer.querySelectorAll('mark').length,
    search: query,
    filter: { ...filter },
    followTail,
    scrollTop: scroller.scrollTop,
    scrollHeight: scroller.scrollHeight,
    selectedKey,
    headerText: headerEl.textContent ?? '',
    noticeText: noticeEl.hidden ? '' : (noticeEl.textContent ?? ''),
    feedback: cards
      .filter((c) => c.classList.contains('turn'))
      .flatMap((c) => {
        const fb = c.querySelector<HTMLElement>('.feedback');
        const rating = fb ? (['up', 'down', 'neutral'].find((r) => fb.classList.contains(`feedback-${r}`)) ?? '?') : null;
        return rating ? [`${rating}:${c.dataset.turnId ?? ''}`] : [];
      }),
    feedbackButtons: cards.filter((c) => c.querySelector('.fb-bar')).length,
  };
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const m = event.data;
  if (!m || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') return;
  switch (m.type) {
    case MessageType.Reset:
      onReset(m);
      break;
    case MessageType.Rows:
      onRows(m);
      break;
    case MessageType.Patch:
      onPatch(m);
      break;
    case MessageType.Reveal:
      revealTurn(m.turnId);
      break;
    case MessageType.Status:
      loadingEl.hidden = m.loading === null;
      loadingEl.textContent = m.loading ?? '';
      renderNotice(m.notice);
      break;
    case MessageType.Request:
      handleRequest(m.id, m.request);
      break;
    case MessageType.Capabilities:
      if (feedbackEnabled !== m.feedback) {
        feedbackEnabled = m.feedback;
        for (const l of live.values()) l.stamp = ''; // re-render with (or without) the buttons
        heights.clear();
        layout();
        scheduleRender();
      }
      break;
  }
});

post({ type: MessageType.Ready });
