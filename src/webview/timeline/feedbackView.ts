/**
 * Curation on a turn card (the `curation` lane's part of the timeline): the 👎 reason as a
 * label, hermes-webui's own thumb next to ours, a "disagree" badge when reviewers (or hermes
 * against a reviewer) disagree, and the turn's correction, collapsed behind "Show correction".
 * Every journal- or reviewer-written string is inserted as text (`h()` makes text nodes).
 * Whether a correction is open is kept in the state's `expanded` set (key `correction:<row key>`),
 * so it survives re-renders and reloads.
 */

import { h } from './dom';
import type { TimelineState } from './state';
import type { VirtualList } from './virtualList';
import type { TimelineFeedback, TimelineTurnRow } from '../../shared/timelineModel';
import { formatTimestamp } from '../../shared/timelineFormat';
import css from './feedbackView.css';

// Styles (CSP: style-src with this script's nonce), like main.ts's.
{
  const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? '';
  const style = document.createElement('style');
  if (nonce) style.nonce = nonce;
  style.textContent = css;
  document.head.append(style);
}

const thumb = (r: 'up' | 'down') => h('span', { class: `codicon codicon-${r === 'up' ? 'thumbsup' : 'thumbsdown'}`, 'aria-hidden': 'true' });

/** Chips after our verdict: the 👎 reason, hermes-webui's thumb, "disagree". */
export function feedbackChips(f: TimelineFeedback): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (f.reason) out.push(h('span', { class: 'fb-reason', title: 'Why 👎 (the reason given)' }, f.reason));
  if (f.hermes) {
    const words = f.hermes.rating === 'up' ? 'thumbs up' : 'thumbs down';
    const when = f.hermes.at ? ` at ${formatTimestamp(f.hermes.at, true)} UTC` : '';
    out.push(
      h(
        'span',
        { class: `fb-hermes fb-hermes-${f.hermes.rating}`, title: `hermes-webui's own rating (feedback.jsonl): ${words}${when}` },
        thumb(f.hermes.rating),
        ' hermes-webui',
        f.hermes.reason ? h('span', { class: 'fb-reason' }, f.hermes.reason) : null,
      ),
    );
  }
  if (f.disagree) {
    const who = f.disagree.map((v) => `${v.reviewer} ${v.rating === 'up' ? '👍' : '👎'}`).join(', ');
    out.push(h('span', { class: 'badge fb-disagree', title: `Reviewers disagree: ${who}` }, 'disagree'));
  }
  return out;
}

/** The turn's correction, collapsed behind "Show correction"; null when it has none. */
export function correctionBlock(row: TimelineTurnRow, state: TimelineState): HTMLElement | null {
  const c = row.feedback?.correction;
  if (!c) return null;
  const open = state.expanded.has(correctionKey(row.key));
  const body = h(
    'div',
    { class: 'fb-correction-text', hidden: !open },
    h('div', { class: 'muted fb-correction-by' }, `Correction${c.reviewer ? ` by ${c.reviewer}` : ''} (trained instead of the answer above)`),
    h('div', { class: 'text' }, c.text),
  );
  return h(
    'div',
    { class: 'fb-correction' },
    h(
      'button',
      { type: 'button', class: 'link more', 'data-action': 'fb-toggle-correction', 'aria-expanded': open ? 'true' : 'false' },
      open ? 'Hide correction' : 'Show correction',
    ),
    body,
  );
}

function correctionKey(rowKey: string): string {
  return `correction:${rowKey}`;
}

/** Clicks on "Show correction": toggles it in place, remembers it, re-measures the list. */
export function installFeedbackView(app: HTMLElement, state: TimelineState, list: VirtualList): void {
  app.addEventListener('click', (e) => {
    const btn = (e.target as HTMLElement).closest<HTMLElement>('[data-action="fb-toggle-correction"]');
    const card = btn?.closest<HTMLElement>('.card');
    const key = card?.dataset.key;
    if (!btn || !card || !key) return;
    const k = correctionKey(key);
    const open = !state.expanded.has(k);
    if (open) state.expanded.add(k);
    else state.expanded.delete(k);
    btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    btn.textContent = open ? 'Hide correction' : 'Show correction';
    const body = card.querySelector<HTMLElement>('.fb-correction-text');
    if (body) body.hidden = !open;
    list.render(); // measures the card again and lays out the rows below it
  });
}
