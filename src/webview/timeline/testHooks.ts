/**
 * What the host's tests can ask the webview (`Request` → `Reply` via MessageHandler): a
 * snapshot of what is in the DOM, and a few actions (search, filter, scroll, follow tail, a
 * real keydown on a card). Used by test/extension and test/ui; harmless in normal use.
 */

import type { Skeleton } from './chrome';
import type { TimelineState } from './state';
import type { VirtualList } from './virtualList';
import type { TimelineLineRow, TimelineFilter } from '../../shared/timelineModel';
import type { Snapshot, WebviewRequest } from '../../shared/timelineProtocol';

export interface HookActions {
  setQuery(q: string): void;
  setFilter(f: Partial<TimelineFilter>): void;
  setFollow(on: boolean): void;
  toggleRun(turnId: string): void;
}

/** Carries out a request, then (after a frame, so the browser has rendered and measured) snapshots. */
export function runRequest(req: WebviewRequest, state: TimelineState, list: VirtualList, ui: Skeleton, act: HookActions): Promise<Snapshot> {
  switch (req.kind) {
    case 'setSearch':
      act.setQuery(req.text);
      break;
    case 'setFilter':
      act.setFilter(req.filter);
      break;
    case 'scroll':
      ui.scroller.scrollTop = req.to === 'top' ? 0 : ui.scroller.scrollHeight;
      list.render();
      break;
    case 'setFollowTail':
      act.setFollow(req.on);
      list.render();
      break;
    case 'key': {
      const key = `t:${req.turnId}`;
      const i = state.shownIndexOfKey(key);
      if (i < 0) break;
      list.select(i, 'center');
      // A windowed session's card may be a placeholder until its row arrives.
      return untilSettled(state, list).then(() => {
        const el = list.el(key);
        el?.focus();
        el?.dispatchEvent(new KeyboardEvent('keydown', { key: req.key, bubbles: true, cancelable: true }));
        return afterFrame(state, list, ui);
      });
    }
    case 'toggleRun': {
      const i = state.shownIndexOfKey(`t:${req.turnId}`);
      if (i >= 0) list.select(i, 'center', false);
      act.toggleRun(req.turnId);
      return untilRunSettled(state, req.turnId).then(() => afterFrame(state, list, ui));
    }
    case 'snapshot':
      break;
  }
  return afterFrame(state, list, ui);
}

/** Resolves when the run's page has arrived (or the run was closed), at most after 10 s. */
function untilRunSettled(state: TimelineState, turnId: string): Promise<void> {
  const until = Date.now() + 10_000;
  return new Promise((resolve) => {
    const look = () => {
      if (!state.runs.open.get(turnId)?.loading || Date.now() > until) resolve();
      else setTimeout(look, 30);
    };
    look();
  });
}

/** After a frame, once a windowed session's rows and search asked for have arrived (at most 10 s). */
function untilSettled(state: TimelineState, list: VirtualList): Promise<void> {
  const until = Date.now() + 10_000;
  return new Promise((resolve) => {
    const step = () =>
      requestAnimationFrame(() => {
        list.render();
        if (state.busy() && Date.now() < until) setTimeout(step, 20);
        else resolve();
      });
    step();
  });
}

function afterFrame(state: TimelineState, list: VirtualList, ui: Skeleton): Promise<Snapshot> {
  return untilSettled(state, list).then(() => snapshot(state, ui));
}

export function snapshot(state: TimelineState, ui: Skeleton): Snapshot {
  const cards = [...ui.spacer.querySelectorAll<HTMLElement>('article.card')].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
  const keys = cards.map((c) => c.dataset.key ?? '');
  return {
    loaded: state.loaded,
    generation: state.generation,
    totalRows: state.rows.length,
    shownRows: state.shown.length,
    renderedKeys: keys,
    renderedTurnIds: cards.filter((c) => c.classList.contains('turn')).map((c) => c.dataset.turnId ?? ''),
    windowed: state.windowed,
    stubCards: cards.filter((c) => c.classList.contains('stub')).length,
    collisionTurnIds: cards.filter((c) => c.classList.contains('collision') && c.querySelector('.collision-banner')).map((c) => c.dataset.turnId ?? ''),
    brokenLines: cards
      .filter((c) => c.classList.contains('line'))
      .map((c) => {
        const row = state.rowByKey(c.dataset.key ?? '') as TimelineLineRow | undefined;
        return row ? `${row.problem}@${row.shard}:${row.line}` : '?';
      }),
    ownKeys: cards.filter((c) => c.classList.contains('own')).map((c) => c.dataset.key ?? ''),
    domElements: document.getElementsByTagName('*').length,
    searchHits: state.searchHits,
    marks: ui.spacer.querySelectorAll('mark').length,
    search: state.query,
    filter: { ...state.filter },
    followTail: state.followTail,
    scrollTop: ui.scroller.scrollTop,
    scrollHeight: ui.scroller.scrollHeight,
    selectedKey: state.selectedKey,
    headerText: ui.headerEl.textContent ?? '',
    noticeText: ui.noticeEl.hidden ? '' : (ui.noticeEl.textContent ?? ''),
    feedback: cards
      .filter((c) => c.classList.contains('turn'))
      .flatMap((c) => {
        const fb = c.querySelector<HTMLElement>('.feedback');
        const rating = fb ? (['up', 'down', 'neutral'].find((r) => fb.classList.contains(`feedback-${r}`)) ?? '?') : null;
        return rating ? [`${rating}:${c.dataset.turnId ?? ''}`] : [];
      }),
    feedbackButtons: cards.filter((c) => c.querySelector('.fb-bar')).length,
    newPill: ui.newPill.hidden ? '' : (ui.newPill.textContent ?? ''),
    runUsage: cards.flatMap((c) => {
      const u = c.querySelector('.card-head .run-usage');
      return u ? [`${c.dataset.turnId ?? ''}:${u.textContent ?? ''}`] : [];
    }),
    runTotal: ui.headerEl.querySelector('.run-total')?.textContent ?? '',
    openRuns: cards.flatMap((c) => {
      const items = c.querySelectorAll<HTMLElement>('.run-items .run-item');
      return c.querySelector('.run-items') ? [`${c.dataset.turnId ?? ''}:${[...items].map((i) => i.dataset.kind).join(',')}`] : [];
    }),
  };
}
