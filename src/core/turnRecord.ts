/**
 * The turn model's one implementation (issue #18, bounded memory per session): a `Turn` that
 * keeps no step objects and, when its user message is kept by reference (core/compactEvent.ts),
 * not that text either. `steps` are computed from the turn's events when asked and
 * `userMessage` is read back from the submitted line when asked (the shared LRU of decoded
 * lines); both are getters on the prototype, so a turn is an ordinary fast object of data
 * fields. `toJSON` gives the plain turn (every field, in the order of the `Turn` interface).
 */
import { contentOf, lazyContentLength } from './compactEvent';
import type { Turn, TurnStep } from './analyze';
import type { JournalEvent } from './types';

/** A Turn's fields but the computed ones. */
export type TurnFields = Omit<Turn, 'steps' | 'userMessage'>;

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
  durations: Turn['durations'];
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
    this.durations = f.durations;
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
    const { turnId, streamId, events, state, terminal, ...rest } = this;
    return { turnId, streamId, events, steps: this.steps, state, terminal, userMessage: this.userMessage, ...rest };
  }
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
