/**
 * One open timeline editor: its webview, the session it shows, and the live link to the
 * SessionIndex. The webview is told nothing before it says `ready`; every later `ready`
 * (it is recreated when hidden, retainContextWhenHidden is off) gets a fresh Reset.
 */

import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { analyzeSession, type SessionAnalysis } from '../../core/analyze';
import { JOURNAL_DIR_NAME } from '../../core/sessionId';
import type { SessionRef } from '../../core/sessionIndex';
import { readSidecar } from '../../core/sidecar';
import { TimelineIndex, WINDOW_MIN_ROWS } from '../../core/timelineModel';
import { formatBytes } from '../../shared/timelineFormat';
import { deferred, MessageHandler, type Deferred } from '../../shared/messageHandler';
import {
  MessageType,
  type FromWebview,
  type Notice,
  type PageInfo,
  type ReplyMessage,
  type SetFeedbackMessage,
  type WriteCorrectionMessage,
  type EditNoteMessage,
  type Snapshot,
  type ToWebview,
  type WebviewRequest,
} from '../../shared/timelineProtocol';
import { Disposable } from '../dispose';
import { Commands } from '../commandIds';
import { timelineFeedbackOf } from '../../core/feedback/latest';
import { pickReason } from '../feedback/reasons';
import { readSettings } from '../config';
import type { Services } from '../services';
import { TimelineFeed } from './feed';
import { AUTO_TOTAL_RUNS, TimelineRuns } from './runs';
import { readShardPage, type PageStart } from './pagedShard';
import { openShardAtLine } from '../openShard';
import { timelineSettings } from './util';
import { notifyWarning } from '../untrustedText';

export class TimelineController extends Disposable {
  private ready = false;
  /** Settles when the webview has first said `ready` (a webview recreated after being hidden says it again and gets a fresh Reset). */
  private readonly readyGate: Deferred<void> = deferred<void>();
  private readonly messages: MessageHandler<ToWebview, FromWebview>;
  private readonly feed = new TimelineFeed();
  private readonly runs = new TimelineRuns();
  private session: SessionRef | undefined;
  /** The shown session's timeline (rows built when sent). */
  private model: TimelineIndex | undefined;
  /** The webview was last sent the session windowed (an outline, rows on demand). */
  private windowed = false;
  /** Sent with every Reset while the session is shown in pages. */
  private notice: Notice | null = null;
  private pageInfo: PageInfo | null = null;
  private mode: 'full' | 'paged' = 'full';
  private loadWhole = false;
  private pages: PageStart[] = [{ byte: 0, line: 1 }];
  private pageIndex = 0;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private dirty = false;
  private pendingReveal: string | undefined;
  private loadPromise: Promise<void> | undefined;
  private readonly onDidDisposeEmitter = this._register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this.onDidDisposeEmitter.event;

  constructor(
    private readonly services: Services,
    readonly uri: vscode.Uri,
    readonly panel: vscode.WebviewPanel,
  ) {
    super();
    const distWebview = vscode.Uri.joinPath(services.context.extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [distWebview] };
    panel.webview.html = this.html(panel.webview, distWebview);
    this.messages = new MessageHandler<ToWebview, FromWebview>(
      (m) => this.onMessage(m),
      (m) => {
        if (!this.isDisposed) void this.panel.webview.postMessage(m);
      },
    );
    this._register(panel.webview.onDidReceiveMessage((m: unknown) => void this.messages.handleMessage(m)));
    this._register(panel.onDidDispose(() => this.dispose()));
    this._register(
      services.store.onDidChange((c) => {
        if (!this.session || c.rootId !== this.session.rootId) return;
        if (c.sessions === 'all' || c.sessions.includes(this.session.sessionId)) this.scheduleRefresh();
      }),
    );
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('botMemory.timeline.maxSessionMB')) void this.reload();
      }),
    );
    this._register(
      panel.onDidChangeViewState(() => {
        if (panel.visible && this.dirty) this.scheduleRefresh();
      }),
    );
    this._register({
      dispose: () => {
        clearTimeout(this.refreshTimer);
        this.messages.rejectAll('the timeline editor was closed');
      },
    });
    this.loadPromise = this.load();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.onDidDisposeEmitter.fire();
    super.dispose();
  }

  get sessionRef(): SessionRef | undefined {
    return this.session;
  }

  get shardName(): string {
    return path.basename(this.uri.fsPath);
  }

  /** Scrolls to and highlights a turn (now, or once the session is shown). */
  reveal(turnId: string): void {
    this.pendingReveal = turnId;
    this.flushReveal();
  }

  private flushReveal(): void {
    if (!this.ready || !this.model || this.pendingReveal === undefined) return;
    this.post({ type: MessageType.Reveal, turnId: this.pendingReveal });
    this.pendingReveal = undefined;
  }

  /** Asks the webview (after it has rendered the session) and returns what it rendered. */
  async request(request: WebviewRequest, timeoutMs = 10000): Promise<Snapshot> {
    const deadline = Date.now() + timeoutMs;
    await this.loadPromise;
    await this.whenReady(timeoutMs);
    const timeout = Math.max(100, deadline - Date.now());
    const reply = await this.messages.sendRequest<ReplyMessage>({ type: MessageType.Request, request }, timeout, `"${request.kind}"`);
    return reply.result;
  }

  /** Resolves once the webview has said `ready` (rejects after `timeoutMs`). */
  whenReady(timeoutMs = 10000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the timeline webview did not become ready')), timeoutMs);
    });
    return Promise.race([this.readyGate.promise, timeout]).finally(() => clearTimeout(timer));
  }

  // ---- loading --------------------------------------------------------------------------

  private async reload(): Promise<void> {
    this.loadPromise = this.load();
    await this.loadPromise;
  }

  private async load(): Promise<void> {
    try {
      this.session = await this.locate();
      if (this.session) this.setTitle(this.services.store.index.cachedSummary(this.session.rootId, this.session.sessionId)?.title ?? null);
      if (!this.session) {
        this.model = undefined;
        this.sendStatus(null, {
          severity: 'error',
          message:
            `${this.shardName} is not a turn journal shard this extension can read ` +
            '(a shard is _turn_journal/<session id>.jsonl or <session id>~<tag>.jsonl).',
          actions: [{ kind: 'openAsText', label: 'Open as Text' }],
        });
        return;
      }
      const size = await this.sessionBytes(this.session);
      const limit = timelineSettings().maxSessionBytes;
      if (size > limit && !this.loadWhole) {
        this.mode = 'paged';
        await this.loadPage(this.pageIndex, size, limit);
      } else {
        this.mode = 'full';
        this.notice = null;
        this.pageInfo = null;
        await this.loadFull();
      }
    } catch (err) {
      this.services.output.error(`Timeline: loading ${this.uri.fsPath} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      this.sendStatus(null, {
        severity: 'error',
        message: `Could not load the session: ${err instanceof Error ? err.message : String(err)}`,
        actions: [{ kind: 'openAsText', label: 'Open as Text' }],
      });
    }
  }

  private async locate(): Promise<SessionRef | undefined> {
    const { store } = this.services;
    await store.whenReady();
    const fsPath = this.uri.fsPath;
    let loc = store.index.locate(fsPath);
    if (!loc && path.basename(path.dirname(fsPath)) === JOURNAL_DIR_NAME) {
      await store.addTransientRoot(path.dirname(path.dirname(fsPath)));
      loc = store.index.locate(fsPath);
    }
    if (!loc) return undefined;
    // The session must actually hold this shard (discovery may have skipped it).
    const root = store.index.root(loc.rootId);
    const found = root?.sessions.get(loc.sessionId);
    if (!found) {
      if (root) await store.index.scan(root.id);
      if (!store.index.root(loc.rootId)?.sessions.get(loc.sessionId)) return undefined;
    }
    return loc;
  }

  private shardFiles(ref: SessionRef): { name: string; path: string }[] {
    return this.services.store.index.root(ref.rootId)?.sessions.get(ref.sessionId)?.shards ?? [];
  }

  private async sessionBytes(ref: SessionRef): Promise<number> {
    const sizes = await Promise.all(
      this.shardFiles(ref).map((s) =>
        fsp.stat(s.path).then(
          (st) => st.size,
          () => 0,
        ),
      ),
    );
    return sizes.reduce((a, b) => a + b, 0);
  }

  private async loadFull(): Promise<void> {
    const ref = this.session!;
    this.sendStatus('Reading the session…', null);
    const analysis = await this.services.store.index.analyze(ref.rootId, ref.sessionId);
    if (!analysis) {
      this.sendStatus(null, {
        severity: 'error',
        message: `Session ${ref.sessionId} is gone (its shards were removed).`,
        actions: [{ kind: 'openAsText', label: 'Open as Text' }],
      });
      return;
    }
    this.model = this.build(analysis);
    this.sendReset();
  }

  private async loadPage(index: number, sessionBytes: number, limit: number): Promise<void> {
    const ref = this.session!;
    const pageBytes = Math.max(1024, Math.min(16 * 1024 * 1024, Math.floor(limit / 4)));
    index = Math.max(0, Math.min(index, this.pages.length - 1));
    this.sendStatus(`Reading page ${index + 1}…`, null);
    const root = this.services.store.index.root(ref.rootId)!;
    const page = await readShardPage(this.uri.fsPath, this.shardName, this.pages[index], pageBytes, readSettings().maxLineBytes);
    if (page.next && this.pages.length === index + 1) this.pages.push(page.next);
    this.pageIndex = index;
    const sidecar = await readSidecar(root.sessionsDir, ref.sessionId);
    const analysis = analyzeSession(ref.sessionId, [page.contents], sidecar, this.services.store.index.analyzeOptions());
    await this.services.store.index.refreshFeedback(ref.rootId, ref.sessionId);
    this.model = this.build(analysis);
    const shardCount = this.shardFiles(ref).length;
    this.pageInfo = {
      page: index,
      pages: this.pages.length,
      more: page.next !== null,
      shard: this.shardName,
      fromLine: page.start.line,
      toLine: page.lastLine,
      fromByte: page.start.byte,
      toByte: page.endByte,
      shardBytes: page.fileSize,
    };
    const actions: Notice['actions'] = [];
    if (index > 0) actions.push({ kind: 'page', label: '← Previous page', page: index - 1 });
    if (page.next) actions.push({ kind: 'page', label: 'Next page →', page: index + 1 });
    actions.push({ kind: 'loadWholeSession', label: 'Load the whole session' }, { kind: 'openAsText', label: 'Open as Text' });
    this.notice = {
      severity: 'warning',
      message:
        `This session is ${formatBytes(sessionBytes)}${shardCount > 1 ? ` in ${shardCount} shards` : ''}, ` +
        `above the limit of ${formatBytes(limit)} (setting botMemory.timeline.maxSessionMB). ` +
        `Showing page ${index + 1}${page.next ? '' : ` of ${this.pages.length}`} of ${this.shardName}: ` +
        `lines ${page.start.line.toLocaleString('en-US')}–${page.lastLine.toLocaleString('en-US')} ` +
        `(${formatBytes(page.start.byte)}–${formatBytes(page.endByte)} of ${formatBytes(page.fileSize)}), ` +
        'read on its own: other shards, collisions across pages and glued-line recovery are not shown.',
      actions,
    };
    this.sendReset();
  }

  /**
   * The tab says which session this is: its title (untrusted text, shown as plain text: one
   * line, no control or invisible characters, at most 60 characters), else its id; never the
   * shard's hex name.
   */
  private setTitle(title: string | null): void {
    const id = this.session?.sessionId;
    if (!id) return;
    const clean = (title ?? '')
      .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    const text = clean ? (clean.length > 60 ? `${clean.slice(0, 59)}…` : clean) : id;
    if (this.panel.title !== text) this.panel.title = text;
  }

  private build(analysis: SessionAnalysis): TimelineIndex {
    this.setTitle(analysis.title);
    const ref = this.session;
    const index = this.services.store.index;
    const feedback = ref ? index.feedback(ref.rootId, ref.sessionId) : undefined;
    // Curation beside our rating: hermes-webui's own thumbs and the turn's correction.
    const hermes = ref ? index.hermesFeedback(ref.rootId, ref.sessionId) : undefined;
    const corrections = ref ? index.feedbackFile(ref.rootId, ref.sessionId)?.latestCorrections() : undefined;
    const model = new TimelineIndex(analysis, {
      openedShard: this.shardName,
      now: index.analyzeOptions().now,
      feedback: (turnId) => timelineFeedbackOf(feedback?.get(turnId), { hermes: hermes?.get(turnId), correction: corrections?.get(turnId) }),
    });
    const root = ref ? index.root(ref.rootId) : undefined;
    if (ref && root) this.runs.update(root.sessionsDir, ref.sessionId, model.runRefs());
    return model;
  }

  /** A small session's run total is counted without being asked (each run's tail only, cached). */
  private countRunsSoon(): void {
    if (this.runs.runCount === 0 || this.runs.runCount > AUTO_TOTAL_RUNS) return;
    void this.runs.usages([], true).then(
      (m) => this.ready && !this.isDisposed && this.post(m),
      (err) => this.services.output.error(`Timeline: reading run usage failed: ${String(err)}`),
    );
  }

  // ---- live updates ---------------------------------------------------------------------

  private scheduleRefresh(): void {
    if (this.mode !== 'full' || !this.model) return;
    if (!this.panel.visible) {
      this.dirty = true;
      return;
    }
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), 60);
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) {
      await this.refreshing;
    }
    this.refreshing = this.doRefresh().finally(() => (this.refreshing = undefined));
    await this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const ref = this.session;
    if (!ref || this.isDisposed) return;
    this.dirty = false;
    const analysis = await this.services.store.index.analyze(ref.rootId, ref.sessionId);
    if (!analysis || this.isDisposed) return;
    const size = analysis.shards.reduce((n, s) => n + s.size, 0);
    if (!this.loadWhole && size > timelineSettings().maxSessionBytes) {
      await this.reload(); // grew past the limit: switch to pages
      return;
    }
    this.model = this.build(analysis);
    if (!this.ready) return;
    const windowed = this.model.size > WINDOW_MIN_ROWS;
    if (windowed !== this.windowed) return this.sendReset(); // crossed the size where rows are sent on demand
    this.post(windowed ? this.feed.patchWindowed(this.model) : this.feed.patch({ header: this.model.header, rows: this.model.allRows() }));
    this.countRunsSoon();
  }

  // ---- messages -------------------------------------------------------------------------

  /** The session from scratch: every row (in chunks), or windowed above WINDOW_MIN_ROWS rows. */
  private sendReset(): void {
    if (!this.ready || !this.model) return;
    this.windowed = this.model.size > WINDOW_MIN_ROWS;
    if (this.windowed) this.post(this.feed.resetWindowed(this.model, this.notice, this.pageInfo));
    else for (const m of this.feed.reset({ header: this.model.header, rows: this.model.allRows() }, this.notice, this.pageInfo)) this.post(m);
    this.flushReveal();
    this.countRunsSoon();
  }

  private sendStatus(loading: string | null, notice: Notice | null): void {
    if (this.ready) this.post({ type: MessageType.Status, loading, notice });
    this.lastStatus = { loading, notice };
  }
  private lastStatus: { loading: string | null; notice: Notice | null } | undefined;

  private post(m: ToWebview): void {
    this.messages.sendEvent(m);
  }

  private async onMessage(m: FromWebview): Promise<undefined> {
    switch (m.type) {
      case MessageType.Ready:
        this.ready = true;
        this.readyGate.resolve();
        this.post({ type: MessageType.Capabilities, feedback: vscode.workspace.isTrusted });
        if (this.model) this.sendReset();
        else if (this.lastStatus) this.post({ type: MessageType.Status, ...this.lastStatus });
        break;
      case MessageType.OpenLine: {
        const file = this.shardPath(m.shard);
        if (!file) {
          void notifyWarning(`Shard ${m.shard} is not part of this session.`);
          break;
        }
        await openShardAtLine(vscode.Uri.file(file), m.line, vscode.ViewColumn.Beside);
        break;
      }
      case MessageType.CopyText:
        if (typeof m.text === 'string' && m.text.length <= 4096) {
          await vscode.env.clipboard.writeText(m.text);
          vscode.window.setStatusBarMessage(
            `Copied ${m.what === 'turn id' ? 'turn id' : 'text'} ${m.text.length > 60 ? m.text.slice(0, 60) + '…' : m.text}`,
            3000,
          );
        }
        break;
      case MessageType.OpenAsText:
        await openShardAtLine(this.uri, 1, this.panel.viewColumn ?? vscode.ViewColumn.Active);
        break;
      case MessageType.LoadPage:
        if (this.mode === 'paged' && this.session && Number.isInteger(m.page)) {
          const size = await this.sessionBytes(this.session);
          await this.loadPage(m.page, size, timelineSettings().maxSessionBytes);
        }
        break;
      case MessageType.LoadWholeSession:
        this.loadWhole = true;
        await this.reload();
        break;
      case MessageType.OpenLink:
        await openTranscriptLink(m.href);
        break;
      case MessageType.LoadRun: {
        if (typeof m.turnId !== 'string') break;
        const page = await this.runs.page(m.turnId, m.more === true);
        if (page) this.post(page);
        break;
      }
      case MessageType.NeedRows:
        // Rows of the shown generation only (an older page's keys may name other rows).
        if (this.model && this.windowed && m.generation === this.feed.currentGeneration && Array.isArray(m.keys)) {
          this.post(this.feed.windowRows(this.model, m.keys));
        }
        break;
      case MessageType.Search:
        if (this.model && this.windowed && m.generation === this.feed.currentGeneration && typeof m.query === 'string' && m.query.length <= 1000) {
          this.post(this.feed.search(this.model, m.query));
        }
        break;
      case MessageType.NeedRunUsage:
        if (!Array.isArray(m.turnIds)) break;
        this.post(await this.runs.usages(m.turnIds.filter((id): id is string => typeof id === 'string').slice(0, 200), m.all === true));
        break;
      case MessageType.SetFeedback:
      case MessageType.WriteCorrection:
      case MessageType.EditNote:
        await this.onFeedback(m);
        break;
    }
  }

  /** A card's feedback button or key: rate, note or correct a turn this timeline shows. */
  private async onFeedback(m: SetFeedbackMessage | WriteCorrectionMessage | EditNoteMessage): Promise<void> {
    const ref = this.session;
    // Only a turn this timeline shows (never an id made up by the page).
    if (!ref || typeof m.turnId !== 'string' || !this.model?.hasTurn(m.turnId)) return;
    const target = { rootId: ref.rootId, sessionId: ref.sessionId, turnId: m.turnId };
    if (m.type === MessageType.EditNote) await vscode.commands.executeCommand(Commands.addNote, target);
    else if (m.type === MessageType.WriteCorrection) await vscode.commands.executeCommand(Commands.writeCorrection, target);
    else if (m.value === 1 || m.value === -1 || m.value === 0) {
      // 👎 asks why (feedback/reasons.ts); Escape cancels: nothing is rated, the card is selected again.
      const reason = m.value === -1 && vscode.workspace.isTrusted ? await pickReason() : null;
      if (reason === undefined) {
        this.post({ type: MessageType.Reveal, turnId: m.turnId });
        return;
      }
      const rec = await vscode.commands.executeCommand(
        m.value === 1 ? Commands.thumbsUp : m.value === -1 ? Commands.thumbsDown : Commands.clearFeedback,
        reason ? { ...target, reason } : target,
      );
      // The last unrated turn of this session was rated by key: on to the next session of the review queue.
      const advance = vscode.workspace.getConfiguration('botMemory.feedback').get<string>('advanceAfterRating', 'nextTurnThenSession');
      if (rec && m.value !== 0 && m.nextSession === true && advance === 'nextTurnThenSession') void vscode.commands.executeCommand(Commands.nextUnreviewed);
    }
  }

  /** The path of a shard of this session, by file name (never a path from the webview). */
  private shardPath(name: string): string | undefined {
    if (name === this.shardName) return this.uri.fsPath;
    if (!this.session) return undefined;
    return this.shardFiles(this.session).find((s) => s.name === name)?.path;
  }

  private html(webview: vscode.Webview, distWebview: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(distWebview, 'timeline.js'));
    const codicons = webview.asWebviewUri(vscode.Uri.joinPath(distWebview, 'codicon.css'));
    const csp = [
      `default-src 'none'`,
      `img-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${codicons.toString()}">
<title>Turn timeline</title>
</head>
<body>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}

/**
 * A link from transcript text: shown to the person first (plain text in a modal), opened
 * through VS Code only when it is http(s) or mailto and they say so. Anything else
 * (javascript:, data:, command:, file:, vscode:) is refused with a message.
 */
export async function openTranscriptLink(href: unknown): Promise<boolean> {
  if (typeof href !== 'string' || href.length === 0 || href.length > 4096) return false;
  let uri: vscode.Uri;
  try {
    uri = vscode.Uri.parse(href, true);
  } catch {
    void notifyWarning('This link from the transcript is not a valid address; it was not opened.');
    return false;
  }
  if (!['http', 'https', 'mailto'].includes(uri.scheme)) {
    void notifyWarning(`Links from transcripts open only as http, https or mailto; this one (${uri.scheme}:) was not opened.`);
    return false;
  }
  const shown = href.length > 300 ? `${href.slice(0, 300)}…` : href;
  const detail = `${shown}\n\nThe text was written by the chatbot or its user: check where it leads.`;
  const choice = await notifyWarning('Open a link from the transcript?', { modal: true, detail }, 'Open Link');
  if (choice !== 'Open Link') return false;
  return vscode.env.openExternal(uri);
}
