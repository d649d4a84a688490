import type { Bus } from "./bus.js";

export interface SubscribeIterableOptions {
  /** Ends the iteration (without an error) when aborted: the streaming RPC's client went away. */
  signal?: AbortSignal;
  /** How many undelivered messages are kept for a slow consumer; default 100. */
  bufferSize?: number;
}

/** The messages of one channel as an async iterator; see subscribeIterable. */
export interface MessageStream extends AsyncIterableIterator<unknown> {
  /** Messages dropped so far because the consumer was slower than the publishers. */
  readonly dropped: number;
  /** Unsubscribes and ends the iteration; safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_BUFFER_SIZE = 100;

/**
 * Subscribes to a channel and returns its messages as an async iterator, for streaming RPCs.
 *
 * It resolves only once the subscription is active, so that a caller can subscribe first, then
 * read the current state, then relay updates, without missing any update in between.
 *
 * The buffer is bounded: when the consumer is slow, the oldest messages are dropped and the newest
 * kept. Status updates are snapshots, so the latest ones are what a watcher needs; a slow client
 * never makes the process grow without bound nor slows the publishers.
 */
export async function subscribeIterable(
  bus: Bus,
  channel: string,
  options: SubscribeIterableOptions = {},
): Promise<MessageStream> {
  const stream = new BufferedStream(options.bufferSize ?? DEFAULT_BUFFER_SIZE, options.signal);
  if (options.signal?.aborted) {
    await stream.close();
    return stream;
  }
  const unsubscribe = await bus.subscribe(channel, (message) => stream.push(message));
  await stream.attach(unsubscribe);
  return stream;
}

class BufferedStream implements MessageStream {
  dropped = 0;
  private readonly buffer: unknown[] = [];
  /** Callers of next() waiting for a message (one, unless next() is called concurrently). */
  private readonly waiting: (() => void)[] = [];
  private ended = false;
  private unsubscribe: (() => Promise<void>) | undefined;
  private closing: Promise<void> | undefined;
  // An unsubscribe error is still reported to whoever awaits close() or return(): they share the
  // same promise. The abort listener itself has nobody to report to.
  private readonly onAbort = () => void this.close().catch(() => undefined);

  constructor(
    private readonly bufferSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError("bufferSize must be a positive integer");
    }
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  async attach(unsubscribe: () => Promise<void>): Promise<void> {
    // Aborted while subscribing: the subscription must not outlive the stream.
    if (this.ended) await unsubscribe();
    else this.unsubscribe = unsubscribe;
  }

  push(message: unknown): void {
    if (this.ended) return;
    this.buffer.push(message);
    if (this.buffer.length > this.bufferSize) {
      this.buffer.shift();
      this.dropped++;
    }
    this.notify();
  }

  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.ended) return { value: undefined, done: true };
      if (this.buffer.length > 0) return { value: this.buffer.shift(), done: false };
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  async return(): Promise<IteratorResult<unknown>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): MessageStream {
    return this;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended = true;
      this.buffer.length = 0;
      this.signal?.removeEventListener("abort", this.onAbort);
      this.notify();
      await this.unsubscribe?.();
    })();
    return this.closing;
  }

  private notify(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}
