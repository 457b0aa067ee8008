/**
 * The message protocol between the timeline custom editor (extension host) and its webview.
 * Imported by both sides; type-only on the wire (plain JSON data, no `any`).
 *
 * - The webview sends `Ready` first; the host sends nothing before it (messages posted to a
 *   webview that has not loaded its script yet are lost).
 * - The host sends `Reset` (header + the first rows, enough to paint the first screen), then
 *   the remaining rows in `Rows` chunks; later changes arrive as `Patch`.
 * - Host → webview requests (`Request`, with a `messageId`) are answered by `Reply` with
 *   `inReplyTo` = that id (`MessageHandler` in ./messageHandler pairs them on both sides).
 *
 * Loaded by the extension host and the webview: no `vscode`, no DOM, no Node built-ins.
 */

import type { Envelope } from './messageHandler';
import type { RunPage, RunUsage } from './runView';
import type { TimelineFilter, TimelineHeader, TimelineOutline, TimelineRow } from './timelineModel';

export const enum MessageType {
  // webview → host
  Ready = 'ready',
  OpenLine = 'openLine',
  CopyText = 'copyText',
  OpenAsText = 'openAsText',
  LoadPage = 'loadPage',
  LoadWholeSession = 'loadWholeSession',
  SetFeedback = 'setFeedback',
  OpenLink = 'openLink',
  EditNote = 'editNote',
  WriteCorrection = 'writeCorrection',
  /** The run behind a turn: its first page, or the next one. */
  LoadRun = 'loadRun',
  /** Usage (tokens, cost) of the runs of these turns (cards on screen), or of every run. */
  NeedRunUsage = 'needRunUsage',
  /** Rows of a windowed session the webview is about to show (by key). */
  NeedRows = 'needRows',
  /** Search a windowed session (its text is on the host). */
  Search = 'search',
  Reply = 'reply',
  // host → webview
  Reset = 'reset',
  Rows = 'rows',
  Patch = 'patch',
  Reveal = 'reveal',
  Status = 'status',
  Request = 'request',
  Capabilities = 'capabilities',
  RunPage = 'runPage',
  RunUsage = 'runUsage',
  WindowRows = 'windowRows',
  SearchResult = 'searchResult',
}

/** Shown instead of (or above) the timeline when the session is partly loaded or missing. */
export interface Notice {
  severity: 'info' | 'warning' | 'error';
  message: string;
  /** Buttons the webview offers with the notice. */
  actions?: NoticeAction[];
}

export type NoticeAction = { kind: 'openAsText'; label: string } | { kind: 'loadWholeSession'; label: string } | { kind: 'page'; label: string; page: number };

/** Paged loading of a session above the size limit. */
export interface PageInfo {
  /** 0-based page shown. */
  page: number;
  /** Pages known so far (more may follow while `more` is true). */
  pages: number;
  more: boolean;
  shard: string;
  fromLine: number;
  toLine: number;
  fromByte: number;
  toByte: number;
  shardBytes: number;
}

export interface ResetMessage {
  type: MessageType.Reset;
  /** Increases with every Reset; Rows/Patch of an older generation are ignored. */
  generation: number;
  header: TimelineHeader;
  total: number;
  /** rows[0 .. rows.length) of `total`; the rest follow in Rows messages. Windowed: some rows of the outline, by key. */
  rows: TimelineRow[];
  notice: Notice | null;
  page: PageInfo | null;
  /** A windowed session: every row's outline; the webview asks for full rows (`NeedRows`) as they come into view. */
  outline?: TimelineOutline;
}

export interface RowsMessage {
  type: MessageType.Rows;
  generation: number;
  start: number;
  rows: TimelineRow[];
}

/**
 * Live change. `upserts` replace rows with the same key or add new ones. When `order` is
 * absent the old order is kept and new keys are appended in the order of `upserts`;
 * otherwise `order` is the full new order of keys (rows not in it are removed).
 */
export interface PatchMessage {
  type: MessageType.Patch;
  generation: number;
  header: TimelineHeader;
  upserts: TimelineRow[];
  order?: string[];
  /** A windowed session: the new outline (rows whose version hash changed are asked for again). */
  outline?: TimelineOutline;
}

/** Full rows of a windowed session, replacing their placeholders (by key). */
export interface WindowRowsMessage {
  type: MessageType.WindowRows;
  generation: number;
  rows: TimelineRow[];
}

/** The keys of the rows of a windowed session whose search text holds `query`. */
export interface SearchResultMessage {
  type: MessageType.SearchResult;
  generation: number;
  query: string;
  keys: string[];
}

export interface RevealMessage {
  type: MessageType.Reveal;
  turnId: string;
}

export interface StatusMessage {
  type: MessageType.Status;
  /** Loading text while nothing can be shown yet, or a notice with no timeline. */
  loading: string | null;
  notice: Notice | null;
}

/** What the webview rendered, as it is in the DOM (for tests and diagnostics). */
export interface Snapshot {
  loaded: boolean;
  generation: number;
  totalRows: number;
  /** Rows left after search and filters. */
  shownRows: number;
  /** Keys of the rows in the DOM, top to bottom. */
  renderedKeys: string[];
  renderedTurnIds: string[];
  /** The session is windowed (rows sent on demand). */
  windowed: boolean;
  /** Placeholder cards in the DOM (rows not arrived yet). */
  stubCards: number;
  /** Turn ids of rendered cards marked as terminal collisions. */
  collisionTurnIds: string[];
  /** `problem@shard:line` of rendered broken-line cards. */
  brokenLines: string[];
  /** Rendered cards marked as belonging to the opened shard. */
  ownKeys: string[];
  /** document.getElementsByTagName('*').length */
  domElements: number;
  /** Rows matching the search text (0 without a search). */
  searchHits: number;
  /** <mark> elements currently highlighting matches. */
  marks: number;
  search: string;
  filter: TimelineFilter;
  followTail: boolean;
  scrollTop: number;
  scrollHeight: number;
  selectedKey: string | null;
  headerText: string;
  noticeText: string;
  /** `<rating>:<turnId>` of rendered turn cards that show feedback (up, down, neutral). */
  feedback: string[];
  /** Rendered turn cards with feedback buttons. */
  feedbackButtons: number;
  /** The "N new turns" pill's text ('' when hidden). */
  newPill: string;
  /** `turnId:text` of the usage shown in rendered cards' heads. */
  runUsage: string[];
  /** The session's run total in the header ('' when none). */
  runTotal: string;
  /** Per rendered card with its run open: `turnId:kind,kind,…` of the run items shown. */
  openRuns: string[];
}

export type WebviewRequest =
  | { kind: 'snapshot' }
  | { kind: 'setSearch'; text: string }
  | { kind: 'setFilter'; filter: Partial<TimelineFilter> }
  | { kind: 'scroll'; to: 'top' | 'bottom' }
  | { kind: 'setFollowTail'; on: boolean }
  /** Selects the turn's card and presses a key on it (a real keydown event on the card). */
  | { kind: 'key'; key: string; turnId: string }
  /** Opens (or closes) the run behind a turn and waits for its first page. */
  | { kind: 'toggleRun'; turnId: string };

export interface RequestMessage extends Envelope {
  type: MessageType.Request;
  request: WebviewRequest;
}

/** What the host lets the webview do (sent after every Ready). */
export interface CapabilitiesMessage {
  type: MessageType.Capabilities;
  /** Feedback buttons and keys work (false in untrusted workspaces). */
  feedback: boolean;
}

/** A page of a turn's run (`append`: after the pages already shown). */
export interface RunPageMessage {
  type: MessageType.RunPage;
  page: RunPage;
  append: boolean;
}

/** Usage of some runs, and the session total over every run whose usage is known so far. */
export interface RunUsageMessage {
  type: MessageType.RunUsage;
  usages: { turnId: string; usage: RunUsage | null; error?: string }[];
  total: RunUsageTotal;
}

export interface RunUsageTotal {
  usage: RunUsage | null;
  /** Runs whose usage was read (with or without a metering event). */
  counted: number;
  /** Runs the session's turns have. */
  runs: number;
}

export type ToWebview = (
  | ResetMessage
  | RowsMessage
  | PatchMessage
  | RevealMessage
  | StatusMessage
  | RequestMessage
  | CapabilitiesMessage
  | RunPageMessage
  | RunUsageMessage
  | WindowRowsMessage
  | SearchResultMessage
) &
  Envelope;

export interface ReadyMessage {
  type: MessageType.Ready;
}

export interface OpenLineMessage {
  type: MessageType.OpenLine;
  shard: string;
  line: number;
}

export interface CopyTextMessage {
  type: MessageType.CopyText;
  text: string;
  /** What was copied, for the status bar message ("turn id"). */
  what: string;
}

export interface OpenAsTextMessage {
  type: MessageType.OpenAsText;
}

export interface LoadPageMessage {
  type: MessageType.LoadPage;
  page: number;
}

export interface LoadWholeSessionMessage {
  type: MessageType.LoadWholeSession;
}

export interface ReplyMessage extends Envelope {
  type: MessageType.Reply;
  /** The answer to the request (a Snapshot for every request kind). */
  result: Snapshot;
}

/** 👍 (1), 👎 (-1) or clear (0) a turn: a card button or the `+` / `-` / `0` keys. */
export interface SetFeedbackMessage {
  type: MessageType.SetFeedback;
  turnId: string;
  value: 1 | -1 | 0;
  /** Rated by key and no unrated turn is left in this session: the host moves on to the next session of the review queue. */
  nextSession?: boolean;
}

/** A link in a message was clicked: the host confirms, then opens http(s)/mailto only. */
export interface OpenLinkMessage {
  type: MessageType.OpenLink;
  href: string;
}

/** Edit the turn's feedback note (the host asks for the text): the note button or `n`. */
export interface EditNoteMessage {
  type: MessageType.EditNote;
  turnId: string;
}

/** "Write Correction…" for a turn (key `c`): the host opens the correction editor. */
export interface WriteCorrectionMessage {
  type: MessageType.WriteCorrection;
  turnId: string;
}

/** Show the run behind a turn: its first page, or (`more`) the page after the last one sent. */
export interface LoadRunMessage {
  type: MessageType.LoadRun;
  turnId: string;
  more: boolean;
}

/** Usage of the runs of these turns; `all`: of every run of the session. */
export interface NeedRunUsageMessage {
  type: MessageType.NeedRunUsage;
  turnIds: string[];
  all?: boolean;
}

/** Rows of a windowed session, by key (at most `MAX_NEED_ROWS`). */
export interface NeedRowsMessage {
  type: MessageType.NeedRows;
  generation: number;
  keys: string[];
}

/** Search a windowed session. */
export interface SearchMessage {
  type: MessageType.Search;
  generation: number;
  query: string;
}

export type FromWebview = (
  | ReadyMessage
  | NeedRowsMessage
  | SearchMessage
  | LoadRunMessage
  | NeedRunUsageMessage
  | OpenLineMessage
  | CopyTextMessage
  | OpenAsTextMessage
  | LoadPageMessage
  | LoadWholeSessionMessage
  | SetFeedbackMessage
  | EditNoteMessage
  | WriteCorrectionMessage
  | OpenLinkMessage
  | ReplyMessage
) &
  Envelope;

/** Rows sent with Reset: enough for the first screen, so it paints before the rest arrives. */
export const FIRST_CHUNK_ROWS = 60;
/** Rows per later Rows message. */
export const CHUNK_ROWS = 2000;
/** Rows a windowed Reset carries at each end of the session (the top, and the tail for follow-tail). */
export const WINDOW_EDGE_ROWS = 40;
/** Most rows one NeedRows asks for. */
export const MAX_NEED_ROWS = 200;

/** State the webview keeps across being hidden and shown again (vscode.setState). */
export interface PersistedState {
  search: string;
  filter: TimelineFilter;
  followTail: boolean;
  expanded: string[];
  topKey: string | null;
  selectedKey: string | null;
}
