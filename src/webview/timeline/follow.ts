/**
 * Follow tail: on while the list is scrolled to the bottom (new turns scroll into view as they
 * are appended), off as soon as the person scrolls up. Turns that arrive below the fold while
 * not following show a "N new ↓" pill that scrolls to them.
 *
 * Only the person's own scrolling turns following off: a scroll that comes within a moment of
 * a wheel, key, pointer or touch input. Scrolls the list makes itself (a reset, a re-measure,
 * a reveal) do not, and a reveal or an upward key turns it off explicitly.
 */

import type { Skeleton } from './chrome';
import { h } from './dom';
import type { TimelineState } from './state';
import type { VirtualList } from './virtualList';

/** How long after an input a scroll counts as the person's. */
const USER_SCROLL_MS = 600;
/** Within this many pixels of the end counts as the bottom. */
const BOTTOM_SLACK = 24;

export class FollowTail {
  private lastInput = -Infinity;
  private pointerDown = false;
  /** Turns that arrived below the fold since the person last was at the bottom. */
  private unseen = new Set<string>();

  constructor(
    private readonly state: TimelineState,
    private readonly list: VirtualList,
    private readonly ui: Skeleton,
    private readonly changed: () => void,
  ) {
    const input = (): void => void (this.lastInput = performance.now());
    ui.scroller.addEventListener(
      'wheel',
      (e) => {
        input();
        // Already at the end and scrolling on down: no scroll event comes, but the person wants the tail.
        if (e.deltaY > 0 && this.atBottom() && !this.state.followTail && this.state.loaded) this.set(true);
      },
      { passive: true },
    );
    ui.scroller.addEventListener('touchmove', input, { passive: true });
    ui.scroller.addEventListener('keydown', input);
    ui.scroller.addEventListener('pointerdown', () => {
      this.pointerDown = true;
      input();
    });
    window.addEventListener('pointerup', () => (this.pointerDown = false));
    ui.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.showButton();
  }

  atBottom(): boolean {
    const s = this.ui.scroller;
    return s.scrollTop + s.clientHeight >= s.scrollHeight - BOTTOM_SLACK;
  }

  /** Turns following on (scrolls to the end) or off. */
  set(on: boolean): void {
    this.state.followTail = on;
    this.showButton();
    if (on) {
      this.ui.scroller.scrollTop = this.ui.scroller.scrollHeight;
      this.clearUnseen();
      this.list.scheduleRender();
    }
    this.changed();
  }

  private onScroll(): void {
    const bottom = this.atBottom();
    if (bottom) this.clearUnseen();
    const now = performance.now();
    const byUser = this.pointerDown || now - this.lastInput < USER_SCROLL_MS;
    if (!byUser || !this.state.loaded) return;
    this.lastInput = now; // a smooth scroll's later events are still the person's

    if (bottom && !this.state.followTail) this.set(true);
    else if (!bottom && this.state.followTail) this.set(false);
  }

  /**
   * After a live change added rows (`added`: their keys): follow them, or count the turns among
   * them that sit below what is on screen.
   */
  afterPatch(added: readonly string[], wasAtBottom: boolean): void {
    if (this.state.followTail || (wasAtBottom && this.unseen.size === 0 && this.state.loaded)) {
      if (!this.state.followTail && added.length) this.set(true);
      else this.ui.scroller.scrollTop = this.ui.scroller.scrollHeight;
      return;
    }
    const fold = this.ui.scroller.scrollTop + this.ui.scroller.clientHeight;
    for (const key of added) {
      const i = this.state.shownIndexOfKey(key);
      if (key.startsWith('t:') && i >= 0 && this.state.offsets[i] >= fold) this.unseen.add(key);
    }
    this.showPill();
  }

  /** The pill was clicked: to the first unseen turn's end of the list, following again. */
  jump(): void {
    this.set(true);
  }

  get unseenCount(): number {
    return this.unseen.size;
  }

  private clearUnseen(): void {
    if (this.unseen.size === 0) return;
    this.unseen.clear();
    this.showPill();
  }

  private showPill(): void {
    const n = this.unseen.size;
    this.ui.newPill.hidden = n === 0;
    this.ui.newPill.replaceChildren(n === 1 ? '1 new turn ' : `${n} new turns `, h('span', { class: 'codicon codicon-arrow-down', 'aria-hidden': 'true' }));
    this.ui.newPill.title = 'Scroll to the newest turns and follow the tail';
  }

  private showButton(): void {
    this.ui.followBtn.setAttribute('aria-pressed', this.state.followTail ? 'true' : 'false');
    this.ui.followBtn.classList.toggle('on', this.state.followTail);
  }
}
