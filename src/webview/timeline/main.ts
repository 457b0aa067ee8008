/**
 * The turn timeline webview: wiring only. The state (pure, tested in Node) is ./state, the
 * virtual list ./virtualList, the cards ./cards, the header/toolbar ./chrome, the keys
 * ./keyboard, the test requests ./testHooks. Messages go through the shared MessageHandler.
 * Journal text is untrusted: it is only ever inserted as text.
 */

import css from './timeline.css';
import { installFeedbackView } from './feedbackView';
import { buildSkeleton, renderHeader, renderNotice } from './chrome';
import { Cards } from './cards';
import { FollowTail } from './follow';
import { installKeyboard } from './keyboard';
import { TimelineState } from './state';
import { runRequest } from './testHooks';
import { VirtualList } from './virtualList';
import { MessageHandler } from '../../shared/messageHandler';
import { formatDuration } from '../../shared/timelineFormat';
import { NO_FILTER, type TimelineFilter, type TimelineRow, type TimelineTurnRow } from '../../shared/timelineModel';
import { MessageType, type FromWebview, type PatchMessage, type PersistedState, type ToWebview, type WindowRowsMessage } from '../../shared/timelineProtocol';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): PersistedState | undefined;
  setState(state: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

// Styles (CSP: style-src with this script's nonce).
{
  const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? '';
  const style = document.createElement('style');
  if (nonce) style.nonce = nonce;
  style.textContent = css;
  document.head.append(style);
}

const state = new TimelineState(vscode.getState());
const ui = buildSkeleton();
const cards = new Cards(state, needRunUsage);
const list = new VirtualList(
  state,
  ui.scroller,
  ui.spacer,
  (row) => (row.stub ? cards.stubCard(row) : row.kind === 'turn' ? cards.turnCard(row) : cards.lineCard(row)),
  afterRender,
);
document.body.append(ui.app);
const follow = new FollowTail(state, list, ui, () => persistSoon());

const host = new MessageHandler<FromWebview, ToWebview>(onHostMessage, (m) => vscode.postMessage(m));
const post = (m: Parameters<typeof host.sendEvent>[0]): void => host.sendEvent(m);

ui.searchInput.value = state.query;
ui.statusSelect.value = state.filter.status;
ui.findingsBox.checked = state.filter.findingsOnly;
ui.feedbackBox.checked = state.filter.feedbackOnly;

function afterRender(): void {
  // A windowed session: ask for the rows now in the DOM that are placeholders or out of date.
  const keys = state.needRows(list.first, list.last);
  if (keys.length) post({ type: MessageType.NeedRows, generation: state.generation, keys });
  ui.emptyEl.hidden = !(state.loaded && state.shown.length === 0);
  ui.emptyEl.textContent = state.rows.length === 0 ? 'This session has no turns yet.' : 'No turns match the search and filters.';
  persistSoon();
}

function updateCounts(): void {
  ui.hitsEl.textContent = state.countsText();
}

function setFollow(on: boolean): void {
  follow.set(on);
}

/** Selects the next rateable (completed, answered) turn without 👍/👎 after `turnId`, wrapping; false when there is none. */
function advanceFrom(turnId: string): boolean {
  const isTurn = (i: number) => state.rows[i]?.kind === 'turn';
  const cur = state.shown.findIndex((i) => isTurn(i) && (state.rows[i] as TimelineTurnRow).turnId === turnId);
  const order = cur < 0 ? state.shown : [...state.shown.slice(cur + 1), ...state.shown.slice(0, cur)];
  const next = order.find((i) => {
    const r = state.rows[i];
    return (
      r.kind === 'turn' &&
      r.turnId !== turnId &&
      r.state === 'completed' &&
      r.replyIndex !== null &&
      r.feedback?.rating !== 'up' &&
      r.feedback?.rating !== 'down'
    );
  });
  if (next === undefined) return false;
  list.select(state.shown.indexOf(next), 'center');
  return true;
}

function sendFeedback(turnId: string | undefined, value: 1 | -1 | 0): void {
  if (turnId && state.feedbackEnabled) post({ type: MessageType.SetFeedback, turnId, value });
}

// ---- search and filters ---------------------------------------------------------------
let searchTimer: ReturnType<typeof setTimeout> | undefined;
function applyQueryNow(): void {
  clearTimeout(searchTimer);
  if (ui.searchInput.value !== state.query) setQuery(ui.searchInput.value);
}
function setQuery(q: string): void {
  ui.searchInput.value = q;
  state.setQuery(q);
  askSearch();
  afterFilter();
}
/** A windowed session searches on the host (its text is there); the answer arrives as SearchResult. */
function askSearch(): void {
  if (state.windowed && state.query) {
    state.searchPending = state.query;
    post({ type: MessageType.Search, generation: state.generation, query: state.query });
  }
}
function setFilter(f: Partial<TimelineFilter>): void {
  state.setFilter(f);
  ui.statusSelect.value = state.filter.status;
  ui.findingsBox.checked = state.filter.findingsOnly;
  ui.feedbackBox.checked = state.filter.feedbackOnly;
  afterFilter();
}
/** After the shown rows changed: keep the selection in view (or go to the top). */
function afterFilter(): void {
  list.layout();
  updateCounts();
  const i = state.shownIndexOfKey(state.selectedKey);
  ui.scroller.scrollTop = i >= 0 ? Math.max(0, state.offsets[i] - ui.scroller.clientHeight / 3) : 0;
  list.render();
}

ui.searchInput.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(applyQueryNow, state.rows.length > 5000 ? 200 : 60);
});
ui.statusSelect.addEventListener('change', () => setFilter({ status: ui.statusSelect.value as TimelineFilter['status'] }));
ui.findingsBox.addEventListener('change', () => setFilter({ findingsOnly: ui.findingsBox.checked }));
ui.feedbackBox.addEventListener('change', () => setFilter({ feedbackOnly: ui.feedbackBox.checked }));
ui.followBtn.addEventListener('click', () => setFollow(!state.followTail));
ui.scroller.addEventListener('scroll', () => list.scheduleRender(), { passive: true });
window.addEventListener('resize', () => {
  state.heights.clear();
  list.layout();
  list.scheduleRender();
});

installKeyboard(state, list, ui, {
  setQuery,
  applyQueryNow,
  setFollow,
  feedbackKey: (turnId, key) => {
    if (key === 'n') post({ type: MessageType.EditNote, turnId });
    else if (key === 'c') {
      post({ type: MessageType.WriteCorrection, turnId });
      advanceFrom(turnId);
    } else if (key === '0') sendFeedback(turnId, 0);
    else if (state.feedbackEnabled) {
      // Rating moves on: the next unrated answered turn here, else the next session in the queue.
      const moved = advanceFrom(turnId);
      post({ type: MessageType.SetFeedback, turnId, value: key === '-' ? -1 : 1, ...(moved ? {} : { nextSession: true }) });
    }
  },
});

installFeedbackView(ui.app, state, list); // "Show correction" on turn cards

// ---- clicks (one delegated listener; no inline handlers) -------------------------------
ui.app.addEventListener('click', (e) => {
  const target = (e.target as HTMLElement).closest<HTMLElement>('[data-action]');
  const card = (e.target as HTMLElement).closest<HTMLElement>('.card');
  if (card) list.selectCard(card);
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
      if (card?.dataset.key) list.toggleExpand(card.dataset.key);
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
      if (card?.dataset.turnId && state.feedbackEnabled) post({ type: MessageType.EditNote, turnId: card.dataset.turnId });
      break;
    case 'fb-correct':
      if (card?.dataset.turnId && state.feedbackEnabled) post({ type: MessageType.WriteCorrection, turnId: card.dataset.turnId });
      break;
    case 'filter-status': {
      const s = (target.dataset.status ?? '') as TimelineFilter['status'];
      setFilter({ status: state.filter.status === s ? '' : s });
      break;
    }
    case 'new-pill':
      follow.jump();
      break;
    case 'run-toggle':
      if (card?.dataset.turnId) toggleRun(card.dataset.turnId);
      break;
    case 'run-more':
      if (card?.dataset.turnId && state.runs.loadingMore(card.dataset.turnId)) {
        post({ type: MessageType.LoadRun, turnId: card.dataset.turnId, more: true });
        rerenderRuns();
      }
      break;
    case 'run-count-all':
      post({ type: MessageType.NeedRunUsage, turnIds: [], all: true });
      break;
    case 'link':
      e.preventDefault();
      post({ type: MessageType.OpenLink, href: target.dataset.href ?? '' });
      break;
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

// ---- the runs behind turns ------------------------------------------------------------
let usageAsk: string[] = [];
/** Cards on screen ask for their run's usage; asked in one message per frame. */
function needRunUsage(turnId: string): void {
  if (usageAsk.push(turnId) > 1) return;
  requestAnimationFrame(() => {
    const turnIds = usageAsk;
    usageAsk = [];
    post({ type: MessageType.NeedRunUsage, turnIds });
  });
}

function toggleRun(turnId: string): void {
  const key = `t:${turnId}`;
  const anchor = list.captureAnchor();
  if (state.runs.toggle(turnId)) post({ type: MessageType.LoadRun, turnId, more: false });
  state.heights.delete(key);
  list.layout();
  list.restoreAnchor(anchor);
  list.pendingFocus = key;
  list.render();
}

/** An open run read to its end that grew since (a live turn): read it again. */
function refreshOpenRuns(upserts: readonly TimelineRow[]): void {
  for (const r of upserts) {
    const open = r.kind === 'turn' && r.run ? state.runs.open.get(r.turnId) : undefined;
    if (r.kind !== 'turn' || !r.run || !open || open.loading || open.more || open.size === r.run.size) continue;
    open.loading = true;
    post({ type: MessageType.LoadRun, turnId: r.turnId, more: false });
  }
}

/** Run data changed for some cards: rebuild them (their stamps changed), keep the reader's place. */
function rerenderRuns(header = false): void {
  const anchor = list.captureAnchor();
  if (header) renderHeader(ui.headerEl, state.header, state.runs.total);
  list.render();
  list.restoreAnchor(anchor);
}

// ---- live ages ------------------------------------------------------------------------
setInterval(() => {
  const now = Date.now() / 1000;
  for (const el of ui.spacer.querySelectorAll<HTMLElement>('[data-since]')) el.textContent = formatDuration(now - Number(el.dataset.since));
}, 15000);

// ---- persistence ----------------------------------------------------------------------
let persistTimer: ReturnType<typeof setTimeout> | undefined;
function persistSoon(): void {
  clearTimeout(persistTimer);
  persistTimer = setTimeout(() => vscode.setState(state.persisted(list.captureAnchor()?.key ?? null)), 300);
}

// ---- messages from the host -----------------------------------------------------------
function revealTurn(turnId: string): void {
  const key = `t:${turnId}`;
  if (!state.hasKey(key)) {
    state.pendingReveal = turnId;
    return;
  }
  state.pendingReveal = null;
  if (state.shownIndexOfKey(key) < 0) {
    state.query = '';
    ui.searchInput.value = '';
    state.filter = { ...NO_FILTER };
    setFilter({});
  }
  if (state.followTail) setFollow(false);
  list.select(state.shownIndexOfKey(key), 'center');
  const el = list.el(key);
  if (el) {
    el.classList.add('flash');
    setTimeout(() => el.classList.remove('flash'), 1600);
  }
}

/** Once every row is there: a pending reveal, the restored scroll position, or the tail. */
function afterRows(): void {
  if (!state.loaded) return;
  if (state.pendingReveal) revealTurn(state.pendingReveal);
  else if (state.restoreTopKey) {
    const i = state.shownIndexOfKey(state.restoreTopKey);
    state.restoreTopKey = null;
    if (i >= 0) {
      ui.scroller.scrollTop = state.offsets[i];
      list.render();
    }
  } else if (state.followTail) {
    ui.scroller.scrollTop = ui.scroller.scrollHeight;
    list.render();
  }
}

/** A live change: rows replaced or added (or, windowed, a new outline), the reader kept in place or following the tail. */
function onPatch(m: PatchMessage): void {
  const anchor = list.captureAnchor();
  const wasAtBottom = follow.atBottom();
  const added = m.outline ? m.outline.keys.filter((k) => !state.hasKey(k)) : m.upserts.filter((r) => !state.hasKey(r.key)).map((r) => r.key);
  if (!state.applyPatch(m)) return;
  if (m.outline) askSearch(); // new rows may match
  refreshOpenRuns(m.upserts);
  renderHeader(ui.headerEl, state.header, state.runs.total);
  list.layout();
  updateCounts();
  list.restoreAnchor(state.followTail ? null : anchor);
  follow.afterPatch(added, wasAtBottom);
  list.render();
  if (state.pendingReveal) revealTurn(state.pendingReveal);
}

/** Windowed: rows that came into view arrived in place of their placeholders. */
function onWindowRows(m: WindowRowsMessage): void {
  const anchor = list.captureAnchor();
  if (!state.applyWindowRows(m)) return;
  refreshOpenRuns(m.rows);
  list.layout();
  list.restoreAnchor(state.followTail ? null : anchor);
  list.render();
}

function onHostMessage(m: ToWebview): Promise<FromWebview | undefined> | undefined {
  switch (m.type) {
    case MessageType.Reset:
      state.applyReset(m);
      list.clear();
      list.layout();
      ui.loadingEl.hidden = true;
      renderHeader(ui.headerEl, state.header, state.runs.total);
      renderNotice(ui.noticeEl, m.notice);
      updateCounts();
      ui.scroller.scrollTop = 0;
      list.render();
      afterRows();
      askSearch();
      break;
    case MessageType.Rows: {
      const anchor = list.captureAnchor();
      if (!state.applyRows(m)) break;
      list.layout();
      updateCounts();
      list.restoreAnchor(state.followTail ? null : anchor);
      list.scheduleRender();
      afterRows();
      break;
    }
    case MessageType.Patch:
      onPatch(m);
      break;
    case MessageType.Reveal:
      revealTurn(m.turnId);
      break;
    case MessageType.WindowRows:
      onWindowRows(m);
      break;
    case MessageType.SearchResult:
      if (state.applySearch(m)) afterFilter();
      break;
    case MessageType.Status:
      ui.loadingEl.hidden = m.loading === null;
      ui.loadingEl.textContent = m.loading ?? '';
      renderNotice(ui.noticeEl, m.notice);
      break;
    case MessageType.Request:
      return runRequest(m.request, state, list, ui, { setQuery, setFilter, setFollow, toggleRun }).then((result) => ({ type: MessageType.Reply, result }));
    case MessageType.RunPage:
      state.runs.applyPage(m.page, m.append);
      rerenderRuns();
      break;
    case MessageType.RunUsage:
      state.runs.applyUsage(m);
      rerenderRuns(true);
      break;
    case MessageType.Capabilities:
      if (state.feedbackEnabled !== m.feedback) {
        state.feedbackEnabled = m.feedback;
        list.invalidate(); // re-render with (or without) the buttons
        state.heights.clear();
        list.layout();
        list.scheduleRender();
      }
      break;
  }
  return undefined;
}

window.addEventListener('message', (event: MessageEvent<unknown>) => void host.handleMessage(event.data));

post({ type: MessageType.Ready });
