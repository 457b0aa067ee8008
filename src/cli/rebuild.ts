/** `bot-memory-audit rebuild <sessionsDir> [--db path]` and `rebuild --from-log file.jsonl`. */

import * as fs from 'fs';
import * as path from 'path';
import { resolveSessionsDir, DiscoveryError } from '../core/discovery';
import { DEFAULT_INDEX_NAME, logIndexPath } from '../core/sqlite/schema';
import { rebuildIndex, RebuildCancelled, type RebuildProgress, type RebuildResult } from '../core/sqlite/rebuild';
import { TargetBusyError } from '../core/sqlite/lock';
import { nativeAvailable } from '../core/sqlite/engine';
import { peakRssBytes } from '../core/peakRss';
import { UsageError, dim, err, numberOption, out, parse, yellow } from './io';

export const REBUILD_USAGE = `  rebuild <sessionsDir>  Rebuild the SQLite index of everything the journals say (docs/sqlite.md).
      --db PATH                 the database (default <sessionsDir>/${DEFAULT_INDEX_NAME})
      --from-log FILE           replay a downloaded GitHub interaction log instead of a sessions folder
                                (default database: the log's name with .sqlite, beside it)
      --full                    rebuild from scratch even when only appends happened
      --inline-raw              store each event's line in events.raw (default: NULL, the line is read from
                                its shard at events.offset, events.length: the index is ~half the size)
      --force                   replace the index even if another program holds it open
      --json                    print the result as one JSON object
      --progress-json           progress as JSON lines on stderr (for the extension)
      --engine native|wasm      the SQLite engine (default: node:sqlite where this Node has it, else wasm)
      --trace                   each phase's time on stderr
      --now, --stale-after-minutes, --max-line-bytes   as for audit`;

/** What tests inject into a rebuild run in a child process (test/support/rebuildChild.ts): never set by the CLI itself. */
export interface RebuildTestHooks {
  checkpoint?: (name: string) => void;
  cacheSize?: number;
}

export async function runRebuild(argv: string[], hooks: RebuildTestHooks = {}): Promise<number> {
  const { values, dir, db, engine } = parseRebuildArgs(argv);
  const progress = progressReporter(values['progress-json'], process.stderr.isTTY === true && !values['progress-json'] && !values.json);
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let result: RebuildResult;
  try {
    result = await rebuildIndex({
      sessionsDir: dir,
      fromLog: values['from-log'],
      db,
      full: values.full,
      inlineRaw: values['inline-raw'],
      force: values.force,
      now: numberOption(values.now, 'now', 0),
      staleAfterMinutes: numberOption(values['stale-after-minutes'], 'stale-after-minutes', 0),
      maxLineBytes: numberOption(values['max-line-bytes'], 'max-line-bytes', 1),
      signal: controller.signal,
      // This bundle is also the rebuild worker (main.ts).
      workerScript: __filename,
      onProgress: progress.onProgress,
      engine,
      trace: values.trace,
      checkpoint: hooks.checkpoint,
      cacheSize: hooks.cacheSize,
    });
  } catch (e) {
    progress.endLine();
    return reportFailure(e, progress.emit);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  progress.endLine();
  progress.emit({ type: 'done', ...result });
  printResult(result, values.json);
  return 0;
}

/** The options, the sessions folder and the database to write; usage errors thrown. */
function parseRebuildArgs(argv: string[]) {
  const { values, positionals } = parse(
    argv,
    {
      db: { type: 'string' },
      'from-log': { type: 'string' },
      full: { type: 'boolean', default: false },
      'inline-raw': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'progress-json': { type: 'boolean', default: false },
      'stale-after-minutes': { type: 'string' },
      'max-line-bytes': { type: 'string' },
      now: { type: 'string' },
      engine: { type: 'string' },
      trace: { type: 'boolean', default: false },
    },
    { min: 0, max: 1, names: '<sessionsDir>' },
  );
  const dir = positionals[0];
  const engine = values.engine;
  if (engine !== undefined && engine !== 'native' && engine !== 'wasm') throw new UsageError(`--engine must be native or wasm, not ${engine}`);
  if (engine === 'native' && !nativeAvailable())
    throw new UsageError(`--engine native needs node:sqlite (Node >= 22.5); this is Node ${process.versions.node}`);
  return { values, dir, db: indexTarget(values['from-log'], dir, values.db), engine: engine as 'native' | 'wasm' | undefined };
}

/** Progress as JSON lines on stderr (--progress-json), or one line redrawn on a terminal. */
function progressReporter(json: boolean, tty: boolean) {
  let lastLine = '';
  const emit = (o: object): void => {
    if (json) err(JSON.stringify(o) + '\n');
  };
  return {
    emit,
    onProgress: (p: RebuildProgress): void => {
      emit({ type: 'progress', ...p });
      if (tty) {
        lastLine = `\r${dim(`${p.phase}: ${p.sessionsDone}/${p.sessionsTotal} sessions, ${p.events} events`)}`;
        err(lastLine);
      }
    },
    /** Ends the redrawn line, if one was drawn. */
    endLine: (): void => {
      if (tty && lastLine) err('\n');
      lastLine = '';
    },
  };
}

/** A busy target or a cancelled run: a message and exit code 1; anything else is thrown on. */
function reportFailure(e: unknown, emit: (o: object) => void): number {
  if (e instanceof TargetBusyError) {
    emit({ type: 'error', busy: true, forceable: e.forceable, message: e.message });
    err(`bot-memory-audit rebuild: ${e.message}\n`);
    return 1;
  }
  if (e instanceof RebuildCancelled) {
    emit({ type: 'error', cancelled: true, message: 'cancelled; the previous index is unchanged' });
    err('bot-memory-audit rebuild: cancelled; the previous index is unchanged\n');
    return 1;
  }
  if (e instanceof DiscoveryError) throw new Error(e.message, { cause: e });
  throw e;
}

/** The index file to write, after checking the source exists: a sessions folder or (--from-log) an interaction log. */
function indexTarget(fromLog: string | undefined, dir: string | undefined, db: string | undefined): string {
  if (fromLog === undefined && dir === undefined) throw new UsageError('missing <sessionsDir> (or --from-log FILE)');
  if (fromLog !== undefined && dir !== undefined) throw new UsageError('give a sessions folder or --from-log, not both');
  if (fromLog !== undefined) {
    if (!fs.existsSync(fromLog) || !fs.statSync(fromLog).isFile()) throw new Error(`cannot read the interaction log ${fromLog}: no such file`);
    return db ?? logIndexPath(fromLog);
  }
  const { sessionsDir } = resolveSessionsDir(dir!);
  if (!fs.existsSync(sessionsDir) || !fs.statSync(sessionsDir).isDirectory()) throw new Error(`cannot read sessions folder ${sessionsDir}: no such folder`);
  return db ?? path.join(sessionsDir, DEFAULT_INDEX_NAME);
}

/** The result on stdout: one JSON object (--json), else a short report. */
function printResult(result: RebuildResult, json: boolean): void {
  if (json) {
    const ru = process.resourceUsage(); // every thread of the process (the rebuild workers too)
    out(JSON.stringify({ ...result, peakRssMb: Math.round(peakRssBytes() / 1048576), cpuMs: Math.round((ru.userCPUTime + ru.systemCPUTime) / 1000) }) + '\n');
    return;
  }
  const c = result.counts;
  const how =
    result.mode === 'incremental'
      ? `incremental: ${result.sessionsRedone} session(s) redone, ${result.eventsAdded} new events`
      : `full${result.reason ? `: ${result.reason}` : ''}`;
  out(`Rebuilt ${result.db} (${how}) in ${(result.elapsedMs / 1000).toFixed(1)} s, ${(result.bytes / 1024 / 1024).toFixed(1)} MB\n`);
  out(
    `  ${c.sessions} sessions, ${c.events} events, ${c.turns} turns, ${c.collisions} collisions, ${c.malformed} malformed lines, ` +
      `${c.findings} findings, ${c.feedback} feedback records\n`,
  );
  if (c.malformed > 0) out(yellow(`  ${c.malformed} malformed line(s) indexed in the malformed and findings tables\n`));
}
