/**
 * A session as a live object: its shard readers (kept between refreshes, so a re-read after
 * an append parses only the new bytes), its sidecar, and the analysis derived from both.
 */

import * as path from 'path';
import type * as fs from 'fs';
import { promises as fsp } from 'fs';
import { analyzeSession, type AnalyzeOptions, type SessionAnalysis } from './analyze';
import type { ShardFile } from './discovery';
import { ShardReader, ReadBudget, DEFAULT_MAX_LINE_BYTES, type RefreshResult } from './shardReader';
import { readSidecar, readSidecarStamped, sidecarPath, type SidecarRead } from './sidecar';
import { newSidecarReuse, reuseBytes, type SidecarReuse } from './sidecarReuse';
import { RUN_JOURNAL_DIR_NAME, RunSummaryCache } from './runJournal';
import { attachUpstreamView, upstreamView } from './upstreamView';
import { IncrementalAnalyzer, type IncrementalRun } from './incrementalAnalysis';
import { lastCallMemo } from './pathMemo';

export interface SessionOptions {
  maxLineBytes?: number;
  /** Bytes of this session's shards read into memory at most, all shards together (default DEFAULT_MAX_SESSION_BYTES). */
  maxSessionBytes?: number;
  /** Compact events (core/compactEvent.ts: the parsed line is read back when asked); default true. */
  compact?: boolean;
  /**
   * Re-analyse incrementally after appends (core/incrementalAnalysis.ts): keeps what the last
   * analysis computed, for a journal analysed again and again (the extension's), and what a
   * rewrite of a large sidecar can reuse (core/sidecarReuse.ts); default false.
   */
  incremental?: boolean;
  /**
   * The journal is read once and analysed once (the CLI audit): its readers drop their interning
   * tables after the read (ReadOptions.readOnce). A later refresh still works, a little slower.
   */
  readOnce?: boolean;
  /** User-message text compact events keep in memory (UTF-16 units, default DEFAULT_MAX_INLINE_TEXT_CHARS); the rest is read back. */
  maxInlineTextChars?: number;
}

/**
 * Stats of a session's files a caller has just taken (path → stat, links followed; null: no such
 * file), so that a read does not stat them again: background summaries stat every file for their
 * fingerprint first (sessions/summaries.ts). A path not in the map is stat-ed as usual.
 */
export type StatHints = ReadonlyMap<string, fs.Stats | null>;

/** The key of StatHints for a session's run-journal folder (null: the caller saw no such folder). */
export const runJournalDirOf: (sessionsDir: string, sessionId: string) => string = lastCallMemo((sessionsDir, sessionId) =>
  path.join(sessionsDir, RUN_JOURNAL_DIR_NAME, sessionId),
);

export class SessionJournal {
  private readonly readers = new Map<string, ShardReader>();
  private sidecar: SidecarRead | null = null;
  private sidecarStamp = '';
  /** What a rewrite of a large sidecar can reuse of the last read (core/sidecarReuse.ts); journals read again and again only. */
  private readonly sidecarReuse: SidecarReuse | undefined;
  /** The session's run journals (`_run_journal/<sid>/`): the evidence of whether a turn was answered. */
  private readonly runs = new RunSummaryCache();
  private readonly maxLineBytes: number;
  private readonly budget: ReadBudget;
  private readonly compact: boolean;
  private readonly readOnce: boolean;
  private readonly incremental: IncrementalAnalyzer | null;

  constructor(
    readonly sessionsDir: string,
    readonly sessionId: string,
    options: SessionOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.budget = new ReadBudget(options.maxSessionBytes, options.maxInlineTextChars);
    this.compact = options.compact ?? true;
    this.readOnce = options.readOnce === true;
    this.incremental = options.incremental === true ? new IncrementalAnalyzer() : null;
    this.sidecarReuse = options.incremental === true ? newSidecarReuse() : undefined;
  }

  /** How the sidecar was last parsed: whole, in checked pieces, or only its new messages (for tests and the bench). */
  get lastSidecarParse(): SidecarReuse['last'] {
    return this.sidecarReuse?.last ?? null;
  }

  /** How the last `analyze()` was computed (incremental journals only; for tests and the bench). */
  get lastRun(): IncrementalRun | null {
    return this.incremental?.lastRun ?? null;
  }

  /**
   * Bytes the sidecar holds in memory, for the journal cache's bound: its size on disk for the parsed
   * sidecar (as shards count their size on disk for their events), plus the buffer a rewrite re-read reuses.
   */
  get sidecarBytes(): number {
    const parsed = this.sidecar?.status === 'ok' ? this.sidecar.sidecar.size : 0;
    return parsed + reuseBytes(this.sidecarReuse);
  }

  /** Replaces the set of shard files (from discovery); readers of kept shards keep their state. */
  setShards(files: readonly ShardFile[]): void {
    const keep = new Set(files.map((f) => f.name));
    for (const [name, reader] of [...this.readers]) {
      if (keep.has(name)) continue;
      reader.releaseBudget();
      this.readers.delete(name);
    }
    for (const f of files) {
      if (!this.readers.has(f.name))
        this.readers.set(
          f.name,
          new ShardReader(f.path, f.name, { maxLineBytes: this.maxLineBytes, budget: this.budget, compact: this.compact, readOnce: this.readOnce }),
        );
    }
  }

  get shardNames(): string[] {
    return [...this.readers.keys()].sort();
  }

  shardPath(name: string): string | undefined {
    return this.readers.get(name)?.contents.path;
  }

  /** Reads whatever changed on disk. Returns per-shard results and whether anything changed. `hints`: see StatHints. */
  async refresh(hints?: StatHints): Promise<{ changed: boolean; shards: Map<string, RefreshResult> }> {
    // Shards and the sidecar are read concurrently: each is its own file and its own reader,
    // and a session's reads are mostly waits on the file system, not CPU.
    const entries = [...this.readers];
    const runsMissing = hints?.get(runJournalDirOf(this.sessionsDir, this.sessionId)) === null;
    const [rs, sidecarChanged, runsChanged] = await Promise.all([
      Promise.all(entries.map(([, reader]) => reader.refresh(hints?.get(reader.contents.path)))),
      this.refreshSidecar(hints),
      this.runs.refresh(this.sessionsDir, this.sessionId, runsMissing),
    ]);
    const results = new Map<string, RefreshResult>();
    let changed = sidecarChanged || runsChanged;
    entries.forEach(([name], k) => {
      results.set(name, rs[k]);
      if (rs[k].mode !== 'none') changed = true;
    });
    return { changed, shards: results };
  }

  private async refreshSidecar(hints?: StatHints): Promise<boolean> {
    if (this.sidecar === null) {
      // First read: the read's own stat is the stamp (no separate stat round trip).
      const hint = hints?.get(sidecarPath(this.sessionsDir, this.sessionId));
      ({ read: this.sidecar, stamp: this.sidecarStamp } = await readSidecarStamped(this.sessionsDir, this.sessionId, hint, this.sidecarReuse));
      return true;
    }
    const p = sidecarPath(this.sessionsDir, this.sessionId);
    let stamp = 'missing';
    try {
      const st = await fsp.stat(p);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      // missing: stamp stays 'missing'
    }
    if (this.sidecar !== null && stamp === this.sidecarStamp) return false;
    this.sidecarStamp = stamp;
    this.sidecar = await readSidecar(this.sessionsDir, this.sessionId, this.sidecarReuse);
    return true;
  }

  analyze(options: AnalyzeOptions): SessionAnalysis {
    const shards = this.shardNames.map((n) => this.readers.get(n)!.contents);
    const sidecar = this.sidecar ?? { status: 'missing' as const, path: sidecarPath(this.sessionsDir, this.sessionId) };
    const context = { runs: this.runs.byRunId };
    if (this.incremental) return this.incremental.analyze(this.sessionId, shards, sidecar, options, context);
    return analyzeSession(this.sessionId, shards, sidecar, options, context);
  }
}

/** Analysis plus what hermes-webui's own reader and audit say about the session (`analysis.upstream`). */
export async function analyzeWithUpstream(journal: SessionJournal, options: AnalyzeOptions): Promise<SessionAnalysis> {
  const a = journal.analyze(options);
  attachUpstreamView(a, await upstreamView(a, (name) => journal.shardPath(name)));
  return a;
}

/** Convenience: a journal for a session whose shards live in `journalDir`. */
export function shardFilesFor(journalDir: string, names: readonly string[]): ShardFile[] {
  return names.map((name) => {
    const tilde = name.indexOf('~');
    return { name, path: path.join(journalDir, name), tag: tilde === -1 ? null : name.slice(tilde + 1, -'.jsonl'.length) };
  });
}
