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
/** What a turn computes from its events when asked (it keeps none of them). */
type Computed =
  | 'steps'
  | 'userMessage'
  | 'durations'
  | 'startedAt'
  | 'lastAt'
  | 'hasSubmitted'
  | 'assistantMessageIndex'
  | 'attachments'
  | 'model'
  | 'modelProvider'
  | 'workspace';

/** A Turn's fields but the computed ones. */
export type TurnFields = Omit<Turn, Computed>;

const NO_ITEMS: readonly unknown[] = Object.freeze([]);

export class TurnRecord implements Turn {
  turnId: string;
  streamId: string | null;
  events: JournalEvent[];
  state: string;
  terminal: boolean;
  reason: string | null;
  assistantReply: string | null;
  collision: JournalEvent[] | null;
  live: boolean;
  userMessageSaved: boolean;
  recovered: JournalEvent[];
  aliasTurnIds: string[];
  splitCause: string | null;
  ageBound: number | null;
  evidence: Turn['evidence'];
  run: Turn['run'];
  /** The user message when held (a string, or null without one); else the submitted event to read it back from (kept by reference). */
  readonly #text: string | JournalEvent | null;

  /** `message`: the user message; or `source`, the event to read it back from. */
  constructor(f: TurnFields, message: string | null, source: JournalEvent | null) {
    this.turnId = f.turnId;
    this.streamId = f.streamId;
    this.events = f.events;
    this.state = f.state;
    this.terminal = f.terminal;
    this.reason = f.reason;
    this.assistantReply = f.assistantReply;
    this.collision = f.collision;
    this.live = f.live;
    this.userMessageSaved = f.userMessageSaved;
    this.recovered = f.recovered;
    this.aliasTurnIds = f.aliasTurnIds;
    this.splitCause = f.splitCause;
    this.ageBound = f.ageBound;
    this.evidence = f.evidence;
    this.run = f.run;
    this.#text = source ?? message;
  }

  /** The time of the first event with a finite `created_at`. */
  get startedAt(): number | null {
    for (const e of this.events) {
      const at = finiteOrNull(e.createdAtRaw);
      if (at !== null) return at;
    }
    return null;
  }

  /** The time of the last event (in the sorted order) with a finite `created_at`. */
  get lastAt(): number | null {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const at = finiteOrNull(this.events[i].createdAtRaw);
      if (at !== null) return at;
    }
    return null;
  }

  get hasSubmitted(): boolean {
    return this.events.some((e) => e.name === 'submitted');
  }

  /** The `assistant_message_index` of the last event that has a number there. */
  get assistantMessageIndex(): number | null {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const v = fieldsOf(this.events[i]).assistant_message_index;
      if (typeof v === 'number') return v;
    }
    return null;
  }

  get attachments(): unknown[] {
    const a = this.submittedFields().attachments;
    return Array.isArray(a) ? a : (NO_ITEMS as unknown[]);
  }

  get model(): string | null {
    const v = this.submittedFields().model;
    return typeof v === 'string' ? v : null;
  }

  get modelProvider(): string | null {
    const v = this.submittedFields().model_provider;
    return typeof v === 'string' ? v : null;
  }

  get workspace(): string | null {
    const v = this.submittedFields().workspace;
    return typeof v === 'string' ? v : null;
  }

  /** The analysis fields of the turn's submitted event (a recovered one when it has none), or none. */
  private submittedFields(): Record<string, unknown> {
    const sub = submittedOf(this.events, this.recovered);
    return sub ? fieldsOf(sub) : NO_FIELDS;
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
    const t = this.#text;
    return t === null || typeof t === 'string' ? t : messageText(contentOf(t));
  }

  /** The user message's length (UTF-16 units) without reading back one kept by reference; null without one. */
  userMessageLength(): number | null {
    const t = this.#text;
    if (t === null || typeof t === 'string') return t === null ? null : t.length;
    return lazyContentLength(t) ?? this.userMessage?.length ?? null;
  }

  /** The plain turn: every field of `Turn`, computed ones included, in the interface's order. */
  toJSON(): Turn {
    return {
      turnId: this.turnId,
      streamId: this.streamId,
      events: this.events,
      steps: this.steps,
      state: this.state,
      terminal: this.terminal,
      userMessage: this.userMessage,
      attachments: this.attachments,
      model: this.model,
      modelProvider: this.modelProvider,
      workspace: this.workspace,
      reason: this.reason,
      startedAt: this.startedAt,
      lastAt: this.lastAt,
      durations: this.durations,
      assistantMessageIndex: this.assistantMessageIndex,
      assistantReply: this.assistantReply,
      collision: this.collision,
      hasSubmitted: this.hasSubmitted,
      live: this.live,
      userMessageSaved: this.userMessageSaved,
      recovered: this.recovered,
      aliasTurnIds: this.aliasTurnIds,
      splitCause: this.splitCause,
      ageBound: this.ageBound,
      evidence: this.evidence,
      run: this.run,
    };
  }
}

const NO_FIELDS: Readonly<Record<string, unknown>> = Object.freeze({});

/** A turn's submitted event: the first among its events, else among its recovered ones. */
export function submittedOf(evs: readonly JournalEvent[], recovered: readonly JournalEvent[]): JournalEvent | undefined {
  return evs.find((e) => e.name === 'submitted') ?? recovered.find((e) => e.name === 'submitted');
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
export function userMessageLengthOf(t: Pick<Turn, 'userMessage'>): number | null {
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
