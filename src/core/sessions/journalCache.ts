/**
 * Full journals (every event in memory) kept only for a small LRU of the sessions someone is
 * looking at; for those a change re-reads only the appended bytes.
 */

import type { AnalyzeOptions, SessionAnalysis } from '../analyze';
import type { DiscoveredSession } from '../discovery';
import { SessionJournal, type StatHints } from '../session';
import { deleteRoot, key } from './keys';

export interface JournalLimits {
  maxLineBytes: number;
  /** How many full journals to keep. */
  keepJournals: number;
  /** Total bytes of the journals kept, their shards and sidecars (the most recently used one is always kept). */
  keepJournalBytes: number;
}

/** An analysis younger than this (seconds) is reused when nothing changed on disk. */
const REANALYZE_AFTER_SECONDS = 30;

export class JournalCache {
  private readonly journals = new Map<string, SessionJournal>(); // LRU: insertion order
  private readonly analyses = new Map<string, SessionAnalysis>();
  private readonly analysisTimes = new WeakMap<SessionAnalysis, number>();

  has(rootId: string, sessionId: string): boolean {
    return this.journals.has(key(rootId, sessionId));
  }

  /** The last analysis kept, without touching the disk. */
  lastAnalysis(rootId: string, sessionId: string): SessionAnalysis | undefined {
    return this.analyses.get(key(rootId, sessionId));
  }

  /**
   * Reads what changed of a session (everything, for a journal not kept) and analyses it;
   * `keep` keeps the journal (most recently used) and evicts beyond the limits. `hints`: see StatHints.
   */
  async analyze(
    rootId: string,
    sessionsDir: string,
    found: DiscoveredSession,
    keep: boolean,
    limits: JournalLimits,
    now: number,
    options: AnalyzeOptions,
    hints?: StatHints,
  ): Promise<SessionAnalysis> {
    const k = key(rootId, found.sessionId);
    let journal = this.journals.get(k);
    if (journal)
      this.journals.delete(k); // re-inserted below: most recently used last
    else journal = new SessionJournal(sessionsDir, found.sessionId, { maxLineBytes: limits.maxLineBytes, incremental: keep });
    journal.setShards(found.shards);
    const { changed } = await journal.refresh(hints);
    let analysis = this.analyses.get(k);
    if (!analysis || changed || now - (this.analysisTimes.get(analysis) ?? 0) > REANALYZE_AFTER_SECONDS) {
      analysis = journal.analyze(options);
      this.analysisTimes.set(analysis, now);
    }
    if (keep) {
      this.journals.set(k, journal);
      this.analyses.set(k, analysis);
      this.evict(limits);
    }
    return analysis;
  }

  private evict(limits: JournalLimits): void {
    // Shard bytes, plus the sidecar's: its parsed messages and the buffer a rewrite re-read reuses (sidecarReuse.ts).
    const size = (k: string) => (this.analyses.get(k)?.shards.reduce((n, sh) => n + sh.size, 0) ?? 0) + (this.journals.get(k)?.sidecarBytes ?? 0);
    let bytes = 0;
    for (const k of this.journals.keys()) bytes += size(k);
    while (this.journals.size > 1 && (this.journals.size > limits.keepJournals || bytes > limits.keepJournalBytes)) {
      const oldest = this.journals.keys().next().value as string;
      bytes -= size(oldest);
      this.journals.delete(oldest);
      this.analyses.delete(oldest);
    }
  }

  delete(rootId: string, sessionId: string): void {
    this.journals.delete(key(rootId, sessionId));
    this.analyses.delete(key(rootId, sessionId));
  }

  deleteRoot(rootId: string): void {
    deleteRoot(this.journals, rootId);
    deleteRoot(this.analyses, rootId);
  }

  clear(): void {
    this.journals.clear();
    this.analyses.clear();
  }
}
