/**
 * The virtual list: only the cards near the viewport are in the DOM (at most MAX_CARDS),
 * each positioned by the state's prefix sums of measured (or estimated) heights, so a
 * 100,000-event session keeps a bounded DOM. After a render the cards are measured; when a
 * height differs from its estimate the list is laid out again around an anchor (the row at
 * the top of the viewport) so what the reader looks at does not move.
 *
 * Hand-written rather than @tanstack/virtual-core: the measuring, anchoring and follow-tail
 * rules here are the whole of it (~150 lines), and the bench's first-render and DOM-bound
 * figures are tuned on it.
 */

import type { TimelineRow } from '../../shared/timelineModel';
import { GAP, type TimelineState } from './state';

const OVERSCAN_PX = 600;
export const MAX_CARDS = 60;

interface Live {
  el: HTMLElement;
  stamp: string;
}

export interface Anchor {
  key: string;
  delta: number;
}

export class VirtualList {
  private readonly live = new Map<string, Live>();
  private renderQueued = false;
  /** A card to focus after the next render. */
  pendingFocus: string | null = null;
  /** The shown rows in the DOM after the last render: [first, last]. */
  first = 0;
  last = -1;

  constructor(
    private readonly state: TimelineState,
    readonly scroller: HTMLElement,
    readonly spacer: HTMLElement,
    private readonly makeCard: (row: TimelineRow) => HTMLElement,
    /** After every render (empty text, persistence). */
    private readonly afterRender: () => void,
  ) {}

  /** The card element of a key, when it is in the DOM. */
  el(key: string | null): HTMLElement | undefined {
    return key === null ? undefined : this.live.get(key)?.el;
  }

  /** The cards in the DOM (any order). */
  cards(): HTMLElement[] {
    return [...this.live.values()].map((l) => l.el);
  }

  /** Drops every card (a new session generation). */
  clear(): void {
    for (const l of this.live.values()) l.el.remove();
    this.live.clear();
  }

  /** Every card is rebuilt on the next render (e.g. the capabilities changed). */
  invalidate(): void {
    for (const l of this.live.values()) l.stamp = '';
  }

  /** Recomputes offsets and the spacer's height. */
  layout(): void {
    this.spacer.style.height = `${this.state.layout()}px`;
  }

  scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  /** The anchor that keeps what the user is reading in place while heights change. */
  captureAnchor(): Anchor | null {
    const s = this.state;
    if (s.shown.length === 0) return null;
    const top = this.scroller.scrollTop;
    const i = s.indexAt(top);
    return { key: s.rowAt(i).key, delta: top - s.offsets[i] };
  }

  restoreAnchor(a: Anchor | null): void {
    if (this.state.followTail) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      return;
    }
    if (!a) return;
    const i = this.state.shownIndexOfKey(a.key);
    if (i >= 0) {
      const want = this.state.offsets[i] + a.delta;
      if (Math.abs(this.scroller.scrollTop - want) > 1) this.scroller.scrollTop = want;
    }
  }

  render(): void {
    const s = this.state;
    if (!s.loaded && s.rows.length === 0) return;
    for (let pass = 0; pass < 3; pass++) {
      const top = this.scroller.scrollTop;
      const height = this.scroller.clientHeight || window.innerHeight;
      const { first, last } = s.window(top, height, OVERSCAN_PX, MAX_CARDS);
      this.sync(first, last);
      // Measure; when real heights differ from the estimates, lay out again around the anchor.
      let changed = false;
      for (let i = first; i <= last; i++) {
        const key = s.rowAt(i).key;
        if (s.setMeasured(key, this.live.get(key)!.el.offsetHeight)) changed = true;
      }
      if (!changed) break;
      const anchor = this.captureAnchor();
      this.layout();
      for (let i = first; i <= last; i++) {
        const l = this.live.get(s.rowAt(i).key);
        if (l) l.el.style.transform = `translateY(${s.offsets[i]}px)`;
      }
      this.restoreAnchor(anchor);
    }
    this.spacer.setAttribute('aria-busy', s.loaded ? 'false' : 'true');
    if (this.pendingFocus) {
      this.el(this.pendingFocus)?.focus({ preventScroll: true });
      this.pendingFocus = null;
    }
    this.afterRender();
  }

  /** Makes the DOM hold exactly the cards of shown rows [first, last], each where it belongs. */
  private sync(first: number, last: number): void {
    const s = this.state;
    this.first = first;
    this.last = last;
    const want = new Set<string>();
    for (let i = first; i <= last; i++) want.add(s.rowAt(i).key);
    for (const [key, l] of this.live) {
      if (!want.has(key)) {
        l.el.remove();
        this.live.delete(key);
      }
    }
    for (let i = first; i <= last; i++) {
      const row = s.rowAt(i);
      const runStamp = row.kind === 'turn' ? s.runs.stamp(row.turnId) : 0;
      const stamp = `${row.version}|${s.expanded.has(row.key) ? 1 : 0}|${s.query}|${row.key === s.selectedKey ? 1 : 0}|${runStamp}`;
      let l = this.live.get(row.key);
      if (!l || l.stamp !== stamp) {
        const el = this.makeCard(row);
        if (l) l.el.replaceWith(el);
        else this.spacer.append(el);
        l = { el, stamp };
        this.live.set(row.key, l);
      }
      l.el.style.transform = `translateY(${s.offsets[i]}px)`;
      l.el.setAttribute('aria-posinset', String(i + 1));
      l.el.setAttribute('aria-setsize', String(s.shown.length));
      l.el.dataset.index = String(i);
      l.el.tabIndex = row.key === s.selectedKey || (s.selectedKey === null && i === first) ? 0 : -1;
    }
  }

  /**
   * Selects shown row i, scrolls it into view ('nearest' or a third from the top) and
   * focuses its card after the render.
   */
  select(i: number, align: 'nearest' | 'center' = 'nearest', focus = true): void {
    const s = this.state;
    if (s.shown.length === 0) return;
    i = Math.max(0, Math.min(s.shown.length - 1, i));
    const key = s.rowAt(i).key;
    const prev = s.selectedKey;
    s.selectedKey = key;
    if (prev && prev !== key) this.el(prev)?.classList.remove('selected');
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight;
    const y0 = s.offsets[i];
    const y1 = s.offsets[i + 1] - GAP;
    if (align === 'center') this.scroller.scrollTop = Math.max(0, y0 - height / 3);
    else if (y0 < top) this.scroller.scrollTop = y0 - GAP;
    else if (y1 > top + height) this.scroller.scrollTop = y1 - height > y0 ? y0 - GAP : y1 - height + GAP;
    if (focus) this.pendingFocus = key;
    this.render();
  }

  /** The selected row's position, or the row at the top of the viewport. */
  selectedIndex(): number {
    const i = this.state.shownIndexOfKey(this.state.selectedKey);
    if (i >= 0) return i;
    return this.state.shown.length ? this.state.indexAt(this.scroller.scrollTop) : -1;
  }

  /** Marks a clicked card selected without scrolling. */
  selectCard(card: HTMLElement): void {
    const key = card.dataset.key;
    if (!key || key === this.state.selectedKey || this.state.shownIndexOfKey(key) < 0) return;
    this.el(this.state.selectedKey)?.classList.remove('selected');
    this.state.selectedKey = key;
    card.classList.add('selected');
    for (const l of this.live.values()) l.el.tabIndex = l.el === card ? 0 : -1;
  }

  toggleExpand(key: string): void {
    const anchor = this.captureAnchor();
    this.state.toggleExpanded(key);
    this.layout();
    this.restoreAnchor(anchor);
    this.pendingFocus = key;
    this.render();
  }
}
