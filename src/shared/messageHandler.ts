/**
 * One message pump for both ends of a webview, after vscode-hexeditor's `shared/protocol.ts`:
 * the host uses `MessageHandler<ToWebview, FromWebview>`, the webview the same class with the
 * type parameters swapped. A request carries a `messageId`; its answer carries `inReplyTo`
 * with that id and settles the promise `sendRequest` returned. Everything else is an event.
 *
 * No `vscode`, no DOM, no Node built-ins: loaded by the extension host and the webview.
 */

/** Fields the handler adds to a message on the wire. */
export interface Envelope {
  messageId?: number;
  inReplyTo?: number;
}

type WithoutEnvelope<T> = T extends unknown ? Omit<T, keyof Envelope> : never;

interface Pending {
  resolve: (m: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class MessageHandler<TTo extends Envelope, TFrom extends Envelope> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /**
   * @param onMessage handles every message that is not a reply; what it returns for a
   *   message with a `messageId` is sent back as the reply (with `inReplyTo` set).
   * @param postMessage puts a message on the wire.
   */
  constructor(
    private readonly onMessage: (m: TFrom) => Promise<WithoutEnvelope<TTo> | undefined> | WithoutEnvelope<TTo> | undefined,
    private readonly postMessage: (m: TTo) => void,
  ) {}

  /** Sends a message that expects no answer. */
  sendEvent(m: WithoutEnvelope<TTo>): void {
    this.postMessage(m as unknown as TTo);
  }

  /**
   * Sends a request and resolves with the message whose `inReplyTo` is its id. Rejects after
   * `timeoutMs` (when given) or when the handler is disposed.
   */
  sendRequest<TReply extends TFrom>(m: WithoutEnvelope<TTo>, timeoutMs?: number, what = 'request'): Promise<TReply> {
    const messageId = this.nextId++;
    return new Promise<TReply>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(messageId);
              reject(new Error(`no answer to ${what} within ${timeoutMs} ms`));
            }, timeoutMs);
      this.pending.set(messageId, { resolve: resolve as (m: unknown) => void, reject, timer });
      this.postMessage({ ...m, messageId } as unknown as TTo);
    });
  }

  /** Feeds one message from the wire (anything else than an object with a string `type` is dropped). */
  async handleMessage(raw: unknown): Promise<void> {
    if (typeof raw !== 'object' || raw === null || typeof (raw as { type?: unknown }).type !== 'string') return;
    const m = raw as TFrom;
    if (typeof m.inReplyTo === 'number') {
      const p = this.pending.get(m.inReplyTo);
      if (!p) return;
      this.pending.delete(m.inReplyTo);
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.resolve(m);
      return;
    }
    const reply = await this.onMessage(m);
    if (reply !== undefined && typeof m.messageId === 'number') this.postMessage({ ...reply, inReplyTo: m.messageId } as unknown as TTo);
  }

  /** Rejects every request still waiting (the other end went away). */
  rejectAll(reason: string): void {
    for (const p of this.pending.values()) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(new Error(reason));
    }
    this.pending.clear();
  }
}

/** A promise with its resolve function, for "when ready" gates. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  settled: boolean;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const d: Deferred<T> = {
    promise: new Promise<T>((r) => (resolve = r)),
    resolve: (v: T) => {
      d.settled = true;
      resolve(v);
    },
    settled: false,
  };
  return d;
}
