/**
 * Keys of the timeline: j/k and arrows move between cards, Home/End, Enter/Space expand,
 * `/` searches, `+` `-` `0` `n` give feedback on the selected card; Escape/Enter in the
 * search box. One listener on the document.
 */

import type { Skeleton } from './chrome';
import type { VirtualList } from './virtualList';
import type { TimelineState } from './state';

/** What the keys act on (main.ts provides it). */
export interface KeyActions {
  setQuery(q: string): void;
  applyQueryNow(): void;
  setFollow(on: boolean): void;
  /** + / = / - / 0 / n on a turn card. */
  feedbackKey(turnId: string, key: string): void;
}

export function installKeyboard(state: TimelineState, list: VirtualList, ui: Skeleton, act: KeyActions): void {
  const { searchInput } = ui;
  const focusList = (first = false): void => {
    if (state.shown.length === 0) return;
    list.select(first ? 0 : Math.max(0, list.selectedIndex()));
  };
  document.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement;
    const inField = t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
    if (inField) {
      if (t === searchInput && e.key === 'Escape') {
        if (searchInput.value) {
          searchInput.value = '';
          act.setQuery('');
        } else focusList();
        e.preventDefault();
      } else if (t === searchInput && e.key === 'Enter') {
        act.applyQueryNow();
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
        list.select(list.selectedIndex() + (state.shownIndexOfKey(state.selectedKey) >= 0 ? 1 : 0));
        break;
      case 'k':
      case 'ArrowUp':
        if (e.key === 'ArrowUp' && !t.closest('.card')) return;
        e.preventDefault();
        if (state.followTail) act.setFollow(false);
        list.select(list.selectedIndex() - 1);
        break;
      case 'Home':
        e.preventDefault();
        if (state.followTail) act.setFollow(false);
        list.select(0);
        break;
      case 'End':
        e.preventDefault();
        list.select(state.shown.length - 1);
        break;
      case '+':
      case '=':
      case '-':
      case '0':
      case 'c':
      case 'n': {
        const card = t.closest<HTMLElement>('.card.turn') ?? list.el(state.selectedKey)?.closest<HTMLElement>('.card.turn');
        if (!card?.dataset.turnId || !state.feedbackEnabled) return;
        e.preventDefault();
        act.feedbackKey(card.dataset.turnId, e.key);
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
          list.toggleExpand(card.dataset.key);
        }
        break;
      }
    }
  });
}
