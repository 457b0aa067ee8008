/**
 * The extension's view of every session: the core SessionIndex, fed by
 * - roots: `_turn_journal` folders found in the workspace, `botMemory.sessionDirectories`,
 *   and upstream's default location when it exists;
 * - folder watchers (Node fs.watch, see core/dirWatcher.ts) on each root's journal folder
 *   and sessions folder, debounced per path;
 * - a summary cache persisted in global storage, so a reopened window paints at once.
 */

import * as fs from 'fs';
import * as os from 'os';
import { atomicReplace, listRealFolders, lstatOrNull, readTextSync } from '../core/fsSafe';
import * as path from 'path';
import { REPAIR_LOG_NAME } from '../core/repair/log';
import * as vscode from 'vscode';
import { SessionIndex, type IndexChange, type Root, type RootSpec } from '../core/sessionIndex';
import { JOURNAL_DIR_NAME, parseShardFileName } from '../core/sessionId';
import { findSessionsFolders } from '../core/discovery';
import { RUN_JOURNAL_DIR_NAME } from '../core/runJournal';
import { runJournalDirOf } from '../core/session';
import { FEEDBACK_DIR_NAME } from '../core/feedback/record';
import { DirWatcher } from '../core/dirWatcher';
import { readSettings, upstreamDefaultDir, SECTION } from './config';
import { Disposable } from './dispose';

const CACHE_FILE = 'summary-cache.json';
const DEBOUNCE_MS = 150;
/**
 * Run-journal folders (`_run_journal/<sid>/`) watched at most, per window: the sessions whose run folder
 * appeared or whose turn journal changed while the window is open (the ones being written), most recent
 * last. A run written before the window opened is seen by the summaries' fingerprint (validateCached).
 */
const MAX_RUN_WATCHERS = 64;

export class SessionStore extends Disposable {
  readonly index: SessionIndex;
  private readonly changeEmitter = this._register(new vscode.EventEmitter<IndexChange>());
  /** Fires when a root's list or a session's content changed. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly rootsEmitter = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeRoots = this.rootsEmitter.event;
  private readonly fileEmitter = this._register(new vscode.EventEmitter<{ path: string; kind: 'created' | 'changed' | 'deleted' }>());
  /** Fires after a watched file's change has been applied to the index. */
  readonly onDidProcessFileChange = this.fileEmitter.event;
  private watchers = new Map<string, DirWatcher[]>();
  /** `_run_journal/<sid>/` watchers by folder path (LRU: insertion order), see MAX_RUN_WATCHERS. */
  private runWatchers = new Map<string, DirWatcher>();
  private pendingPaths = new Map<string, { kind: 'created' | 'changed' | 'deleted'; timer: NodeJS.Timeout }>();
  private saveTimer: NodeJS.Timeout | undefined;
  private ready: Promise<void> = Promise.resolve();
  /** Paths created in the workspace since the last look (see workspaceCreated). */
  private readonly createdPaths = new Set<string>();
  private createdTimer: ReturnType<typeof setTimeout> | undefined;
  /** A reload waiting for the one running (see reloadRoots). */
  private queuedReload: Promise<void> | undefined;
  private readonly extraRoots = new Set<string>();
  private workerErrorReported = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log?: vscode.LogOutputChannel,
  ) {
    super();
    const s = readSettings();
    this.index = new SessionIndex({
      maxLineBytes: s.maxLineBytes,
      staleAfterMinutes: s.staleAfterMinutes,
      hermesFeedback: hermesFeedbackSetting(),
      // Cold summaries on a worker thread (core/sessions/summaryPool.ts), off the extension host's; this bundle's sibling.
      summaryWorker: path.join(__dirname, 'summaryWorker.js'),
    });
    this.loadCache();
    const sub = this.index.onDidChange((c) => {
      this.changeEmitter.fire(c);
      this.scheduleSave();
    });
    this._register({ dispose: () => sub.dispose() });
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(SECTION)) return;
        const n = readSettings();
        this.index.configure({ maxLineBytes: n.maxLineBytes, staleAfterMinutes: n.staleAfterMinutes, hermesFeedback: hermesFeedbackSetting() });
        if (e.affectsConfiguration(`${SECTION}.sessionDirectories`)) void this.reloadRoots();
        else if (e.affectsConfiguration(`${SECTION}.feedback.hermesFeedbackFile`)) {
          this.disposeWatchers(); // the hermes file's folder is watched too
          this.syncWatchers();
        }
      }),
    );
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => void this.reloadRoots()));
    // A journal folder made in the workspace after start-up (a bot that starts writing, a folder copied in): a root.
    // Every creation, as VS Code reports only the top folder of a tree made at once.
    const created = this._register(vscode.workspace.createFileSystemWatcher('**/*', false, true, true));
    this._register(created.onDidCreate((uri) => this.workspaceCreated(uri)));
    this._register({ dispose: () => this.disposeWatchers() });
    this._register({ dispose: () => clearTimeout(this.createdTimer) });
    this._register({ dispose: () => this.flushCache() });
    this._register({ dispose: () => this.index.dispose() }); // the summary workers terminate
  }

  /** Resolves once roots are known and listed (summaries continue in the background). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  roots(): Root[] {
    return this.index.roots();
  }

  /**
   * Re-reads which folders are roots. Reloads run one at a time, the newest last (an older one
   * finishing after a newer one would put back the roots it saw); calls while one waits share it.
   */
  reloadRoots(): Promise<void> {
    if (this.queuedReload) return this.queuedReload;
    const run = this.ready
      .catch(() => undefined)
      .then(() => {
        this.queuedReload = undefined;
        return this.doReloadRoots();
      });
    this.queuedReload = run;
    this.ready = run;
    return run;
  }

  /** Something created in the workspace: looked at (once per burst) for a journal folder that is not a root yet. */
  private workspaceCreated(uri: vscode.Uri): void {
    const p = uri.fsPath;
    if (uri.scheme !== 'file' || /[\\/](?:node_modules|\.git)(?:[\\/]|$)/.test(p) || this.createdPaths.size >= 256) return;
    if (this.index.roots().some((r) => p.startsWith(r.sessionsDir + path.sep))) return; // a root's own files: its watchers see them
    this.createdPaths.add(p);
    this.createdTimer ??= setTimeout(() => void this.checkCreated(), 300);
  }

  private async checkCreated(): Promise<void> {
    this.createdTimer = undefined;
    const paths = [...this.createdPaths];
    this.createdPaths.clear();
    // A reload under way (often the one that made the folder a root) settles first: a second one would only redo it.
    await this.ready.catch(() => undefined);
    const known = new Set(this.index.roots().map((r) => r.sessionsDir));
    for (const p of paths) {
      if ((await sessionsFoldersAt(p)).some((d) => !known.has(d))) {
        await this.reloadRoots();
        return;
      }
    }
  }

  /** A folder opened for this window only (e.g. the demo), besides settings and workspace. */
  async addTransientRoot(dir: string): Promise<void> {
    if (this.extraRoots.has(dir)) return;
    this.extraRoots.add(dir);
    // Only the new root is listed and watched; the others stay as they are.
    await this.ready;
    const specs: RootSpec[] = [...this.index.roots().map(({ sessionsDir, source }) => ({ sessionsDir, source })), { sessionsDir: dir, source: 'other' }];
    await this.index.setRoots(specs);
    this.syncWatchers();
    this.rootsEmitter.fire();
    const added = this.index.roots().find((r) => r.sessionsDir === dir || r.journalDir === dir);
    if (added) this.index.summarizeInBackground(added.id);
  }

  private async doReloadRoots(): Promise<void> {
    const specs: RootSpec[] = [];
    for (const dir of await findWorkspaceJournals()) specs.push({ sessionsDir: dir, source: 'workspace' });
    for (const dir of readSettings().sessionDirectories) specs.push({ sessionsDir: dir, source: 'setting' });
    for (const dir of this.extraRoots) specs.push({ sessionsDir: dir, source: 'other' });
    const def = upstreamDefaultDir();
    if (fs.existsSync(path.join(def, JOURNAL_DIR_NAME))) specs.push({ sessionsDir: def, source: 'default' });
    await this.index.setRoots(specs);
    for (const r of this.index.roots()) await this.index.validateCached(r.id);
    this.syncWatchers();
    this.rootsEmitter.fire();
    for (const r of this.index.roots()) this.index.summarizeInBackground(r.id);
    void this.index.whenBackgroundIdle().then(() => this.reportWorkerError());
  }

  /** Once: the summary workers stopped serving, so summaries are computed on the extension host's thread. */
  private reportWorkerError(): void {
    const e = this.index.summaryWorkerError;
    if (e === null || this.workerErrorReported) return;
    this.workerErrorReported = true;
    this.log?.warn(`Sessions view: summaries are computed on the extension host's thread (the summary worker failed: ${e})`);
  }

  async refreshAll(): Promise<void> {
    await this.reloadRoots();
    await Promise.all(this.index.roots().map((r) => this.index.scan(r.id)));
  }

  private syncWatchers(): void {
    const ids = new Set(this.index.roots().map((r) => r.id));
    for (const [id, ws] of this.watchers) {
      if (!ids.has(id)) {
        ws.forEach((w) => w.dispose());
        this.watchers.delete(id);
      }
    }
    for (const root of this.index.roots()) {
      const existing = this.watchers.get(root.id);
      if (existing) {
        existing.forEach((w) => w.arm()); // a journal folder that appeared since
        continue;
      }
      const onError = (m: string) => this.log?.warn(m);
      const journal = new DirWatcher(
        root.journalDir,
        (file, kind) => {
          if (!file.endsWith('.jsonl')) return;
          const shard = parseShardFileName(path.basename(file));
          // A session being written: its runs too (once per burst of events, not per raw event).
          if (shard.ok && !this.pendingPaths.has(file)) this.watchRuns(root.sessionsDir, shard.sessionId);
          this.queue(file, kind);
        },
        onError,
      );
      // Run journals (`_run_journal/<sid>/<run>.jsonl`): a session folder appearing or going, then that folder's files.
      const runsDir = path.join(root.sessionsDir, RUN_JOURNAL_DIR_NAME);
      const runs = new DirWatcher(
        runsDir,
        (file, kind) => {
          if (kind !== 'deleted') this.watchRuns(root.sessionsDir, path.basename(file), true);
          this.queue(file, kind);
        },
        onError,
      );
      // Reviewers' feedback (_turn_feedback/<sid>.jsonl), from this window or another process.
      const feedback = new DirWatcher(root.feedbackDir, (file, kind) => file.endsWith('.jsonl') && this.queue(file, kind), onError);
      const sessions = new DirWatcher(
        root.sessionsDir,
        (file, kind) => {
          if (path.basename(file) === JOURNAL_DIR_NAME) {
            journal.arm();
            this.queue(file, kind);
          } else if (path.basename(file) === FEEDBACK_DIR_NAME) {
            feedback.arm();
            this.queue(file, kind);
          } else if (path.basename(file) === RUN_JOURNAL_DIR_NAME) {
            // Appeared: its session folders (new, so few) are watched; every summary is checked against it.
            if (kind !== 'deleted' && lstatOrNull(runsDir)?.isDirectory() && runs.arm()) {
              for (const sid of listRealFolders(runsDir)) this.watchRuns(root.sessionsDir, sid);
            }
            this.queue(file, kind);
          } else if (file.endsWith('.json') || path.basename(file) === REPAIR_LOG_NAME) {
            this.queue(file, kind);
          }
        },
        onError,
      );
      // hermes-webui's own thumbs (feedback.jsonl, by default beside the sessions folder): only that file.
      const hermesFile = this.index.hermesFeedbackPath(root.id);
      const hermes = hermesFile ? [new DirWatcher(path.dirname(hermesFile), (file, kind) => file === hermesFile && this.queue(file, kind), onError)] : [];
      this.watchers.set(root.id, [journal, feedback, sessions, runs, ...hermes]);
    }
  }

  /**
   * Watches a session's run-journal folder (a real folder only: a link is never followed), the most
   * recently active MAX_RUN_WATCHERS of them; the oldest is let go. `appeared`: the folder was
   * just (re)created, so a watch that looks active may be of a folder deleted since (`arm` checks).
   */
  private watchRuns(sessionsDir: string, sessionId: string, appeared = false): void {
    const dir = runJournalDirOf(sessionsDir, sessionId);
    const had = this.runWatchers.get(dir);
    if (had) {
      this.runWatchers.delete(dir); // re-inserted: most recent last
      this.runWatchers.set(dir, had);
      if (had.active && !appeared) return;
    }
    if (!lstatOrNull(dir)?.isDirectory()) return;
    if (had) {
      had.arm();
      return;
    }
    const w = new DirWatcher(
      dir,
      (file, kind) => file.endsWith('.jsonl') && this.queue(file, kind),
      (m) => this.log?.warn(m),
    );
    this.runWatchers.set(dir, w);
    while (this.runWatchers.size > MAX_RUN_WATCHERS) {
      const [oldest, ow] = this.runWatchers.entries().next().value as [string, DirWatcher];
      ow.dispose();
      this.runWatchers.delete(oldest);
    }
  }

  private queue(p: string, kind: 'created' | 'changed' | 'deleted'): void {
    this.log?.trace(`file ${kind}: ${p}`);
    const prev = this.pendingPaths.get(p);
    if (prev) clearTimeout(prev.timer);
    // A create or delete within the window wins over a change.
    const k = prev && prev.kind !== 'changed' && kind === 'changed' ? prev.kind : kind;
    const timer = setTimeout(() => {
      this.pendingPaths.delete(p);
      this.index
        .fileChanged(p, k)
        .then(
          (known) => known || this.log?.trace(`ignored change outside every root: ${p}`),
          (err) => this.log?.error(`refreshing after a change to ${p} failed: ${err instanceof Error ? err.message : String(err)}`),
        )
        .finally(() => this.fileEmitter.fire({ path: p, kind: k }));
    }, DEBOUNCE_MS);
    this.pendingPaths.set(p, { kind: k, timer });
  }

  private disposeWatchers(): void {
    for (const ws of this.watchers.values()) ws.forEach((w) => w.dispose());
    this.watchers.clear();
    for (const w of this.runWatchers.values()) w.dispose();
    this.runWatchers.clear();
    for (const p of this.pendingPaths.values()) clearTimeout(p.timer);
    this.pendingPaths.clear();
  }

  // ---- persisted summary cache ------------------------------------------------------

  private cachePath(): string {
    return path.join(this.context.globalStorageUri.fsPath, CACHE_FILE);
  }

  private loadCache(): void {
    try {
      this.index.importCache(JSON.parse(readTextSync(this.cachePath())));
    } catch {
      // no cache yet, or unreadable: start cold
    }
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.flushCache();
    }, 2000);
  }

  private flushCache(): void {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    try {
      fs.mkdirSync(path.dirname(this.cachePath()), { recursive: true, mode: 0o700 }); // VS Code's own global storage folder
      atomicReplace(this.cachePath(), JSON.stringify(this.index.exportCache()), { mode: 0o600 });
    } catch {
      // A cache is an optimisation; failing to write it loses nothing.
    }
  }
}

/** `botMemory.feedback.hermesFeedbackFile`: '' = beside each sessions folder, 'off', or a path (`~` expanded). */
function hermesFeedbackSetting(): string {
  const v = vscode.workspace.getConfiguration(SECTION).get<unknown>('feedback.hermesFeedbackFile', '');
  if (typeof v !== 'string') return '';
  return v.trim().replace(/^~(?=$|[\\/])/, os.homedir());
}

/** The sessions folders a created path makes: a shard, a journal folder, or a folder holding them (2 levels down). */
async function sessionsFoldersAt(p: string): Promise<string[]> {
  const st = lstatOrNull(p);
  if (!st) return [];
  if (st.isFile()) return p.endsWith('.jsonl') && path.basename(path.dirname(p)) === JOURNAL_DIR_NAME ? [path.dirname(path.dirname(p))] : [];
  if (!st.isDirectory()) return [];
  return path.basename(p) === JOURNAL_DIR_NAME ? [path.dirname(p)] : findSessionsFolders(p, 2, 200);
}

/** Sessions folders of every `_turn_journal` folder in the workspace (node_modules and .git skipped). */
async function findWorkspaceJournals(): Promise<string[]> {
  if (!vscode.workspace.workspaceFolders?.length) return [];
  const files = await vscode.workspace.findFiles(`**/${JOURNAL_DIR_NAME}/*.jsonl`, '{**/node_modules/**,**/.git/**}', 20000);
  const dirs = new Set<string>();
  for (const f of files) if (f.scheme === 'file') dirs.add(path.dirname(path.dirname(f.fsPath)));
  // Empty journal folders count too, and the file search can answer before its index is ready
  // (seen at start-up under load: no files at all): a bounded walk of each workspace folder.
  for (const wf of vscode.workspace.workspaceFolders) {
    if (wf.uri.scheme !== 'file') continue;
    for (const dir of await findSessionsFolders(wf.uri.fsPath)) dirs.add(dir);
  }
  return [...dirs].sort();
}
