/**
 * Live samples to many subscribers, with backpressure that costs the others nothing
 * (docs/architecture.md, "Metrics"). Publishing never waits: each subscriber has a small queue of its own.
 * When a subscriber's queue is full, a new sample is coalesced into the newest queued one (the
 * subscriber skips detail, not traffic: see `coalesce`). A subscriber that lets more than
 * `maxLag` samples be coalesced without reading is dropped: its iteration fails with
 * resource_exhausted and its queue is freed. Memory is therefore bounded by
 * maxSubscribers × queueSize samples whatever the clients do.
 */
import { DomainError, resourceExhausted } from "../domain/index.js";
import { coalesce, type DeploymentSample } from "./samples.js";

export interface FanOutOptions {
  queueSize: number;
  maxLag: number;
  maxSubscribers: number;
}

export interface FanOutStats {
  subscribers: number;
  /** Samples delivered to a subscriber's queue or waiting reader. */
  delivered: number;
  coalesced: number;
  dropped: number;
  refused: number;
}

export class FanOut {
  private readonly byKey = new Map<string, Set<Subscription>>();
  private count = 0;
  private readonly totals = { delivered: 0, coalesced: 0, dropped: 0, refused: 0 };
  private closed = false;

  constructor(private readonly options: FanOutOptions) {}

  /**
   * A subscription to `key`'s samples, active at once (before the first `next()`): a sample
   * published from now on reaches it. It ends when `signal` aborts or the fan-out closes.
   */
  subscribe(key: string, signal?: AbortSignal): Subscription {
    if (this.closed) throw new DomainError("unavailable", "the metrics stream is shutting down");
    if (this.count >= this.options.maxSubscribers) {
      this.totals.refused++;
      throw resourceExhausted("too many live metrics streams on this server: try again later");
    }
    const subscription = new Subscription(this.options, this.totals, () =>
      this.remove(key, subscription),
    );
    let set = this.byKey.get(key);
    if (!set) {
      set = new Set();
      this.byKey.set(key, set);
    }
    set.add(subscription);
    this.count++;
    if (signal) subscription.endOn(signal);
    return subscription;
  }

  /** Hands `sample` to every subscriber of `key`; never waits for any of them. */
  publish(key: string, sample: DeploymentSample): void {
    const set = this.byKey.get(key);
    if (!set) return;
    for (const subscription of set) subscription.push(sample);
  }

  stats(): FanOutStats {
    return { subscribers: this.count, ...this.totals };
  }

  /** Ends every subscription (their iterations finish without error). */
  close(): void {
    this.closed = true;
    for (const set of [...this.byKey.values()]) for (const s of [...set]) s.end();
  }

  private remove(key: string, subscription: Subscription): void {
    const set = this.byKey.get(key);
    if (!set?.delete(subscription)) return;
    this.count--;
    if (set.size === 0) this.byKey.delete(key);
  }
}

/** One subscriber's samples, as an async iterator. */
export class Subscription implements AsyncIterableIterator<DeploymentSample> {
  private readonly queue: DeploymentSample[] = [];
  private reader: ((result: IteratorResult<DeploymentSample>) => void) | undefined;
  private failReader: ((error: Error) => void) | undefined;
  /** Samples coalesced since the subscriber last read. */
  private lag = 0;
  private ended = false;
  private failure: Error | undefined;
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly options: FanOutOptions,
    private readonly totals: { delivered: number; coalesced: number; dropped: number },
    private readonly detach: () => void,
  ) {}

  push(sample: DeploymentSample): void {
    if (this.ended) return;
    this.totals.delivered++;
    const reader = this.reader;
    if (reader) {
      this.clearReader();
      reader({ value: sample, done: false });
      return;
    }
    if (this.queue.length < this.options.queueSize) {
      this.queue.push(sample);
      return;
    }
    const last = this.queue.length - 1;
    this.queue[last] = coalesce(this.queue[last] as DeploymentSample, sample);
    this.totals.coalesced++;
    if (++this.lag > this.options.maxLag) {
      this.totals.dropped++;
      this.end(
        resourceExhausted(
          "the live metrics stream was dropped: the client did not keep up with the samples",
        ),
      );
    }
  }

  next(): Promise<IteratorResult<DeploymentSample>> {
    this.lag = 0;
    const sample = this.queue.shift();
    if (sample) return Promise.resolve({ value: sample, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.reader) return Promise.reject(new Error("next() called while another is pending"));
    return new Promise((resolve, reject) => {
      this.reader = resolve;
      this.failReader = reject;
    });
  }

  return(): Promise<IteratorResult<DeploymentSample>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Whether the subscription is over (ended, aborted or dropped). */
  get closed(): boolean {
    return this.ended;
  }

  endOn(signal: AbortSignal): void {
    if (signal.aborted) {
      this.end();
      return;
    }
    const onAbort = () => this.end();
    signal.addEventListener("abort", onAbort, { once: true });
    this.unlisten = () => signal.removeEventListener("abort", onAbort);
  }

  /** Ends the subscription; with `failure`, the reader gets it (once) instead of the end. */
  end(failure?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.unlisten?.();
    this.detach();
    const reader = this.reader;
    const failReader = this.failReader;
    this.clearReader();
    if (failure) {
      if (failReader) failReader(failure);
      else this.failure = failure;
    } else {
      reader?.({ value: undefined, done: true });
    }
  }

  private clearReader(): void {
    this.reader = undefined;
    this.failReader = undefined;
  }
}
