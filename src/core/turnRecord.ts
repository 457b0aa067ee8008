/**
 * The turn model's one implementation (issue #18, bounded memory per session): a `Turn` that
 * keeps no step objects and, when its user message is kept by reference (core/compactEvent.ts),
 * not that text either. `steps` are computed from the turn's events when asked and
 * `userMessage` is read back from the submitted line when asked (the shared LRU of decoded
 * lines); both are getters on the prototype, so a turn is an ordinary fast object of data
 * fields. `toJSON` gives the plain turn (every field, in the order of the `Turn` interface).
 */
import { contentOf, fieldsOf, lazyContentLength } from './compactEvent';
import type { Turn, TurnStep } from './analyze';
import type { JournalEvent } from './types';

/** A Turn's fields but the computed ones. */
export type TurnFields = Omit<Turn, 'steps' | 'userMessage' | 'durations'>;

export class TurnRecord implements Turn {
  turnId: string;
  streamId: string | null;
  events: JournalEvent[];
  state: string;
  terminal: boolean;
  attachments: unknown[];
  model: string | null;
  modelProvider: string | null;
  workspace: string | null;
  reason: string | null;
  startedAt: number | null;
  lastAt: number | null;
  assistantMessageIndex: number | null;
  assistantReply: string | null;
  collision: JournalEvent[] | null;
  hasSubmitted: boolean;
  live: boolean;
  userMessageSaved: boolean;
  recovered: JournalEvent[];
  aliasTurnIds: string[];
  splitCause: string | null;
  ageBound: number | null;
  evidence: Turn['evidence'];
  run: Turn['run'];
  /** The user message when held; unused while `#source` is set. */
  readonly #message: string | null;
  /** The submitted event whose line holds the user message (kept by reference), or null. */
  readonly #source: JournalEvent | null;

  /** `message`: the user message; or `source`, the event to read it back from. */
  constructor(f: TurnFields, message: string | null, source: JournalEvent | null) {
    this.turnId = f.turnId;
    this.streamId = f.streamId;
    this.events = f.events;
    this.state = f.state;
    this.terminal = f.terminal;
    this.attachments = f.attachments;
    this.model = f.model;
    this.modelProvider = f.modelProvider;
    this.workspace = f.workspace;
    this.reason = f.reason;
    this.startedAt = f.startedAt;
    this.lastAt = f.lastAt;
    this.assistantMessageIndex = f.assistantMessageIndex;
    this.assistantReply = f.assistantReply;
    this.collision = f.collision;
    this.hasSubmitted = f.hasSubmitted;
    this.live = f.live;
    this.userMessageSaved = f.userMessageSaved;
    this.recovered = f.recovered;
    this.aliasTurnIds = f.aliasTurnIds;
    this.splitCause = f.splitCause;
    this.ageBound = f.ageBound;
    this.evidence = f.evidence;
    this.run = f.run;
    this.#message = message;
    this.#source = source;
  }

  /** Every event's step, computed now (a turn keeps none). */
  get steps(): TurnStep[] {
    return turnSteps(this.events);
  }

  /** The durations between the lifecycle's steps, computed now from the events (a turn keeps none). */
  get durations(): Turn['durations'] {
    return turnDurations(scanTurnEvents(this.events), this.terminal);
  }

  /** The submitted event's `content` (a string, or its JSON), null without one; read back when kept by reference. */
  get userMessage(): string | null {
    return this.#source === null ? this.#message : messageText(contentOf(this.#source));
  }

  /** The user message's length (UTF-16 units) without reading back one kept by reference; null without one. */
  userMessageLength(): number | null {
    if (this.#source === null) return this.#message === null ? null : this.#message.length;
    return lazyContentLength(this.#source) ?? this.userMessage?.length ?? null;
  }

  /** The plain turn: every field of `Turn`, computed ones included, in the interface's order. */
  toJSON(): Turn {
    const { turnId, streamId, events, state, terminal, attachments, model, modelProvider, workspace, reason, startedAt, lastAt, ...rest } = this;
    return {
      turnId,
      streamId,
      events,
      steps: this.steps,
      state,
      terminal,
      userMessage: this.userMessage,
      attachments,
      model,
      modelProvider,
      workspace,
      reason,
      startedAt,
      lastAt,
      durations: this.durations,
      ...rest,
    };
  }
}

/** What one pass over a turn's events finds: times, and the events looked up by name (no copies). */
export interface TurnScan {
  startedAt: number | null;
  lastAt: number | null;
  tSub: number | null;
  tWorker: number | null;
  tAssistant: number | null;
  seenSubmitted: boolean;
  term: JournalEvent | undefined;
  lastInterrupted: JournalEvent | undefined;
  indexEv: JournalEvent | undefined;
}

export function scanTurnEvents(evs: JournalEvent[]): TurnScan {
  const scan: TurnScan = {
    startedAt: null,
    lastAt: null,
    tSub: null,
    tWorker: null,
    tAssistant: null,
    seenSubmitted: false,
    term: undefined,
    lastInterrupted: undefined,
    indexEv: undefined,
  };
  let seenWorker = false;
  let seenAssistant = false;
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i];
    const at = finiteOrNull(e.createdAtRaw);
    if (at !== null) {
      if (scan.startedAt === null) scan.startedAt = at;
      scan.lastAt = at;
    }
    // The first event of each name counts for the durations, as Array.find would pick it.
    if (e.name === 'submitted') {
      if (!scan.seenSubmitted) scan.tSub = at;
      scan.seenSubmitted = true;
    } else if (e.name === 'worker_started') {
      if (!seenWorker) scan.tWorker = at;
      seenWorker = true;
    } else if (e.name === 'assistant_started') {
      if (!seenAssistant) scan.tAssistant = at;
      seenAssistant = true;
    }
    if (e.terminal && scan.term === undefined) scan.term = e;
    if (e.name === 'interrupted') scan.lastInterrupted = e;
    if (typeof fieldsOf(e).assistant_message_index === 'number') scan.indexEv = e;
  }
  return scan;
}

export function turnDurations(scan: TurnScan, terminal: boolean): Turn['durations'] {
  const { tSub, tWorker, tAssistant, startedAt, lastAt } = scan;
  const tTerm = scan.term ? finiteOrNull(scan.term.createdAtRaw) : null;
  const diff = (a: number | null, b: number | null): number | null => (a !== null && b !== null ? b - a : null);
  return {
    toWorker: diff(tSub, tWorker),
    toAssistant: diff(tWorker ?? tSub, tAssistant),
    toTerminal: diff(tAssistant ?? tWorker ?? tSub, tTerm),
    total: diff(tSub ?? startedAt, tTerm ?? (terminal ? lastAt : null)),
  };
}

/** A turn's user message length, cheap for a `TurnRecord` (no read-back); null without a message. */
export function userMessageLengthOf(t: Turn): number | null {
  return t instanceof TurnRecord ? t.userMessageLength() : (t.userMessage?.length ?? null);
}

/** `Turn.userMessage` from a submitted event's `content`. */
export function messageText(content: unknown): string | null {
  return typeof content === 'string' ? content : content === undefined ? null : JSON.stringify(content);
}

/** The steps of a turn's events (`sinceStart` from the first event with a finite time). */
export function turnSteps(evs: readonly JournalEvent[]): TurnStep[] {
  let startedAt: number | null = null;
  let prev: number | null = null;
  const steps: TurnStep[] = new Array(evs.length);
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i];
    const at = finiteOrNull(e.createdAtRaw);
    if (startedAt === null) startedAt = at;
    steps[i] = {
      name: e.name,
      at,
      sinceStart: at !== null && startedAt !== null ? at - startedAt : null,
      sincePrevious: at !== null && prev !== null ? at - prev : null,
      shard: e.shard,
      line: e.line,
      terminal: e.terminal,
      recovered: e.recovered === true,
    };
    prev = at;
  }
  return steps;
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
