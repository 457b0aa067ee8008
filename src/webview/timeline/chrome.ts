/**
 * The timeline's fixed parts: the skeleton (header, toolbar, notice, list), the session
 * header and the notice. Text from the journal goes in as text only.
 */

import { h } from './dom';
import type { TimelineHeader, TurnStatus } from '../../shared/timelineModel';
import type { Notice, RunUsageTotal } from '../../shared/timelineProtocol';
import { runTotalPart } from './runCards';
import { formatBytes, formatTimestamp } from '../../shared/timelineFormat';

/** The elements main.ts wires up. */
export interface Skeleton {
  app: HTMLElement;
  headerEl: HTMLElement;
  searchInput: HTMLInputElement;
  hitsEl: HTMLElement;
  statusSelect: HTMLSelectElement;
  findingsBox: HTMLInputElement;
  feedbackBox: HTMLInputElement;
  followBtn: HTMLButtonElement;
  /** "N new ↓": turns that arrived below the fold while not following the tail. */
  newPill: HTMLButtonElement;
  noticeEl: HTMLElement;
  spacer: HTMLElement;
  scroller: HTMLElement;
  emptyEl: HTMLElement;
  loadingEl: HTMLElement;
}

export function buildSkeleton(): Skeleton {
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
  const followBtn = h(
    'button',
    {
      class: 'toggle',
      id: 'follow',
      type: 'button',
      'aria-pressed': 'false',
      title: 'Keep the newest events in view as they are appended (on when the list is scrolled to the bottom, off when you scroll up)',
    },
    'Follow tail',
  );
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
  const newPill = h('button', { type: 'button', class: 'new-pill', id: 'new-pill', 'data-action': 'new-pill', hidden: true, 'aria-live': 'polite' });
  const listWrap = h('div', { class: 'list-wrap' }, scroller, newPill);
  const app = h('div', { class: 'app' }, headerEl, toolbar, noticeEl, loadingEl, emptyEl, listWrap);
  return { app, headerEl, searchInput, hitsEl, statusSelect, findingsBox, feedbackBox, followBtn, newPill, noticeEl, spacer, scroller, emptyEl, loadingEl };
}

export function renderHeader(headerEl: HTMLElement, hd: TimelineHeader | null, runTotal: RunUsageTotal | null = null): void {
  headerEl.replaceChildren();
  if (!hd) return;
  headerEl.append(h('h1', { class: 'title' }, hd.title || hd.sessionId), headerMeta(hd, runTotal), headerCounts(hd), headerFindings(hd), headerShards(hd));
  if (hd.sessionFindings.length) {
    headerEl.append(
      h('ul', { class: 'findings session-findings' }, ...hd.sessionFindings.slice(0, 5).map((sf) => h('li', { class: `sev-${sf.severity}` }, sf.message))),
    );
  }
}

/** Model, session id, size, time span, sidecar state, the runs' total usage. */
function headerMeta(hd: TimelineHeader, runTotal: RunUsageTotal | null): HTMLElement {
  return h(
    'div',
    { class: 'header-meta' },
    hd.model ? h('span', null, h('span', { class: 'muted' }, 'Model '), hd.modelProvider ? `${hd.modelProvider} / ${hd.model}` : hd.model) : null,
    h('span', null, h('span', { class: 'muted' }, 'Session '), hd.sessionId),
    h('span', null, `${hd.counts.events.toLocaleString('en-US')} events`),
    h('span', null, formatBytes(hd.totalBytes)),
    hd.firstActivity !== null ? h('span', null, `${formatTimestamp(hd.firstActivity)} – ${formatTimestamp(hd.lastActivity)}`) : null,
    hd.sidecar !== 'ok' ? h('span', { class: 'warn' }, hd.sidecar === 'missing' ? 'no sidecar (replies unknown)' : 'sidecar unreadable') : null,
    runTotalPart(runTotal),
  );
}

/** The shards, each a button that opens it. */
function headerShards(hd: TimelineHeader): HTMLElement {
  return h(
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
}

/** Review progress, then turns by status, collisions and broken lines as filter chips. */
function headerCounts(hd: TimelineHeader): HTMLElement {
  const counts = h(
    'div',
    { class: 'counts', 'aria-label': 'Turns by state' },
    h('span', { class: 'muted' }, `${hd.counts.turns.toLocaleString('en-US')} turns:`),
  );
  if (hd.review && hd.review.reviewable > 0)
    counts.prepend(
      h(
        'span',
        { class: 'badge review-progress', title: 'Completed turns with an answer that have 👍 or 👎' },
        `${hd.review.reviewed} of ${hd.review.reviewable} reviewed`,
      ),
    );
  const order: TurnStatus[] = ['completed', 'interrupted', 'live', 'open', 'dangling', 'recovered', 'other'];
  for (const s of order) {
    const n = hd.counts.byStatus[s];
    if (!n) continue;
    counts.append(
      h(
        'button',
        { type: 'button', class: `badge state state-${s} filter-chip`, 'data-action': 'filter-status', 'data-status': s, title: `Show only ${s} turns` },
        `${s} ${n.toLocaleString('en-US')}`,
      ),
    );
  }
  if (hd.counts.collisions)
    counts.append(
      h(
        'button',
        { type: 'button', class: 'badge collision-badge filter-chip', 'data-action': 'filter-status', 'data-status': 'collision' },
        h('span', { class: 'codicon codicon-warning', 'aria-hidden': 'true' }),
        ` ${hd.counts.collisions} terminal collision${hd.counts.collisions === 1 ? '' : 's'}`,
      ),
    );
  if (hd.counts.malformed)
    counts.append(
      h(
        'button',
        { type: 'button', class: 'badge problem filter-chip', 'data-action': 'filter-status', 'data-status': 'broken' },
        `${hd.counts.malformed} broken line${hd.counts.malformed === 1 ? '' : 's'}`,
      ),
    );
  return counts;
}

/** Findings by severity and the most frequent kinds. */
function headerFindings(hd: TimelineHeader): HTMLElement {
  const f = hd.findings;
  return h(
    'div',
    { class: 'findings-summary' },
    h('span', { class: 'muted' }, 'Findings:'),
    f.error + f.warning + f.info === 0 ? h('span', { class: 'ok' }, ' none ', h('span', { class: 'codicon codicon-pass', 'aria-hidden': 'true' })) : null,
    f.error ? h('span', { class: 'sev-error' }, ` ${f.error} error${f.error === 1 ? '' : 's'}`) : null,
    f.warning ? h('span', { class: 'sev-warning' }, ` ${f.warning} warning${f.warning === 1 ? '' : 's'}`) : null,
    f.info ? h('span', { class: 'sev-info' }, ` ${f.info} info`) : null,
    hd.findingKinds.length
      ? h(
          'span',
          { class: 'muted kinds' },
          ' — ' +
            hd.findingKinds
              .slice(0, 6)
              .map((k) => `${k.kind.replace(/_/g, ' ')} ${k.count}`)
              .join(', '),
        )
      : null,
  );
}

export function renderNotice(noticeEl: HTMLElement, notice: Notice | null): void {
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
