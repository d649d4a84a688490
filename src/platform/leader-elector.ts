import type { Logger } from "pino";
import type { LeaderLock } from "./lock.js";

export interface LeaderElectorOptions {
  lock: LeaderLock;
  /** The lock's name, e.g. "controller". */
  name: string;
  /** Unique per process, e.g. hostname + pid + random. */
  ownerId: string;
  ttlMs: number;
  /** Called when this process becomes the leader; errors are logged. Not awaited by the loop. */
  onElected?: () => void | Promise<void>;
  /** Called when it stops being the leader, including on close(); errors are logged. */
  onDemoted?: () => void | Promise<void>;
  logger?: Logger;
  now?: () => number;
}

/**
 * Keeps trying to become the leader, and to stay it: every ttl/3 it acquires or renews the lock,
 * which leaves two more tries before a lease runs out.
 *
 * Safety: after a failed renewal (Redis unreachable) this process keeps leading only while its
 * last confirmed lease has not run out, measured from *before* the renewal that confirmed it; once
 * it would run out before the next try, it demotes itself, since another process may take the lock
 * as soon as the lease expires.
 */
export class LeaderElector {
  private readonly interval: number;
  private readonly now: () => number;
  private leader = false;
  /** Whether the lock may be ours: differs from `leader` when close() began during an attempt. */
  private holding = false;
  private leaseEndsAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private callbacks: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LeaderElectorOptions) {
    if (!Number.isInteger(options.ttlMs) || options.ttlMs < 3) {
      throw new TypeError("ttlMs must be an integer >= 3");
    }
    this.interval = Math.floor(options.ttlMs / 3);
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    this.tick();
  }

  /** Stops trying, gives the lock up if held (so another process takes over at once); safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.running;
      if (this.leader) this.demote();
      // Leader-only work has stopped (onDemoted returned) before another process may start it.
      await this.callbacks;
      if (!this.holding) return;
      this.holding = false;
      const { lock, name, ownerId } = this.options;
      try {
        await lock.release(name, ownerId);
      } catch (error) {
        // The lease then simply runs out; the other processes take over after the TTL.
        this.options.logger?.warn({ err: error, lock: name }, "could not release the leader lock");
      }
    })();
    return this.closing;
  }

  private tick(): void {
    this.running = this.attempt().finally(() => {
      this.running = undefined;
      if (!this.closing) this.timer = setTimeout(() => this.tick(), this.interval);
    });
  }

  private async attempt(): Promise<void> {
    const { lock, name, ownerId, ttlMs } = this.options;
    const startedAt = this.now();
    try {
      const held = this.leader
        ? await lock.renew(name, ownerId, ttlMs)
        : await lock.tryAcquire(name, ownerId, ttlMs);
      this.holding = held;
      if (held) {
        this.leaseEndsAt = startedAt + ttlMs;
        if (!this.leader && !this.closing) this.elect();
      } else if (this.leader) {
        this.demote();
      }
    } catch (error) {
      this.options.logger?.warn({ err: error, lock: name }, "leader lock unreachable");
      if (this.leader && this.now() + this.interval >= this.leaseEndsAt) this.demote();
    }
  }

  private elect(): void {
    this.leader = true;
    this.options.logger?.info({ lock: this.options.name }, "elected leader");
    this.notify(this.options.onElected, "onElected");
  }

  private demote(): void {
    this.leader = false;
    this.options.logger?.info({ lock: this.options.name }, "no longer the leader");
    this.notify(this.options.onDemoted, "onDemoted");
  }

  /**
   * Callbacks run one after the other, in the order of the events, but the lease loop does not
   * wait for them: a slow onElected must not delay the renewals that keep the lease.
   */
  private notify(callback: (() => void | Promise<void>) | undefined, what: string): void {
    if (callback === undefined) return;
    this.callbacks = this.callbacks
      .then(callback)
      .catch((error: unknown) =>
        this.options.logger?.error({ err: error, lock: this.options.name }, `${what} failed`),
      );
  }
}
