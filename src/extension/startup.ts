/**
 * Time to rows: how long after VS Code starts `activate()` the Sessions view has rows, beside
 * how long VS Code's extension host had already been running when it called `activate()` (its
 * own start, which we cannot shorten). Logged to the output channel and kept on the api for the
 * extension-host test that prints it (never asserted as a duration: the machine decides those).
 */

import { performance } from 'perf_hooks';
import type { SessionStore } from './store';

export interface StartupTimes {
  /** The extension host process's age when activate() began (VS Code's own start), ms. */
  hostUptimeAtActivateMs: number;
  /** activate() began → the Sessions tree provider was registered, ms. */
  treeRegisteredMs?: number;
  /** activate() began → every command registered (activate() returns right after), ms. */
  activatedMs?: number;
  /** activate() began → the session list of every root was read (the tree's rows exist), ms. */
  rowsMs?: number;
  /** Sessions the tree had then. */
  sessions?: number;
  /** Resolves when `rowsMs` is set. */
  rows: Promise<void>;
}

export class StartupClock {
  private readonly t0 = performance.now();
  private done!: () => void;
  readonly times: StartupTimes = { hostUptimeAtActivateMs: Math.round(process.uptime() * 1000), rows: new Promise((r) => (this.done = r)) };

  since(): number {
    return Math.round(performance.now() - this.t0);
  }

  treeRegistered(): void {
    this.times.treeRegisteredMs = this.since();
  }

  activated(): void {
    this.times.activatedMs = this.since();
  }

  /** After the roots' first scan: counts the rows and logs the line. */
  rowsReady(store: SessionStore, log: (line: string) => void): void {
    this.times.rowsMs = this.since();
    this.times.sessions = store.roots().reduce((n, r) => n + store.index.sessions(r.id).length, 0);
    const t = this.times;
    log(
      `startup: the extension host had run ${t.hostUptimeAtActivateMs} ms before activate(); ` +
        `tree registered after ${t.treeRegisteredMs} ms, activate() done after ${t.activatedMs} ms, ` +
        `rows (${t.sessions} sessions) after ${t.rowsMs} ms`,
    );
    this.done();
  }
}
