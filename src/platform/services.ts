import type { Logger } from "pino";
import type { Bus } from "./bus.js";
import { type Cache, DEFAULT_CACHE_TTL_MS } from "./cache.js";
import type { LeaderLock } from "./lock.js";
import { MemoryBus } from "./memory/bus.js";
import { MemoryCache } from "./memory/cache.js";
import { MemoryLeaderLock } from "./memory/lock.js";
import { MemoryJobQueue } from "./memory/queue.js";
import { MemoryRateLimiter } from "./memory/rate-limit.js";
import { MemorySessionStore } from "./memory/sessions.js";
import type { JobQueue, QueueSettings } from "./queue.js";
import type { RateLimiter } from "./rate-limit.js";
import type { RedisClient } from "./redis/connection.js";
import type { SessionStore } from "./sessions.js";

/** Everything the platform keeps outside PostgreSQL (docs/architecture.md, "Platform services"). */
export interface PlatformServices {
  readonly kind: "memory" | "redis";
  /** Namespace of every Redis key and channel of this installation. */
  readonly keyPrefix: string;
  readonly cache: Cache;
  readonly bus: Bus;
  readonly queue: JobQueue;
  readonly rateLimiter: RateLimiter;
  readonly sessions: SessionStore;
  readonly lock: LeaderLock;
  /** The shared connection when Redis serves (for @fastify/rate-limit, see rateLimitStoreOptions). */
  readonly redis?: RedisClient;
  /** Resolves when the backing store answers; for /health. */
  ping(): Promise<void>;
  /** Closes the queue's worker, the queue, the subscriber, then the connection; safe twice. */
  close(): Promise<void>;
}

export interface PlatformServicesOptions {
  /**
   * `redis://…`, `rediss://…`, `redis+cluster://h1:p1,h2:p2` or
   * `redis+sentinel://h1:26379,h2:26379/master` (REDIS_URL). Without it the
   * in-process adapters serve: the embedded mode, one process.
   */
  redisUrl?: string;
  /** Default "obiente:". */
  keyPrefix?: string;
  logger?: Logger;
  /** Default TTL of the cache; default 5 minutes. */
  cacheTtlMs?: number;
  /** The job queue: its name (default "jobs"), attempts and backoff. */
  queue?: Partial<QueueSettings> & { name?: string };
  /** How long start-up waits for Redis to answer; default 10 s. */
  connectTimeoutMs?: number;
}

export async function createPlatformServices(
  options: PlatformServicesOptions = {},
): Promise<PlatformServices> {
  const keyPrefix = options.keyPrefix ?? "obiente:";
  const cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const { name: queueName = "jobs", ...queueSettings } = options.queue ?? {};
  if (options.redisUrl === undefined) {
    const queue = new MemoryJobQueue(queueSettings, options.logger);
    let closing: Promise<void> | undefined;
    return {
      kind: "memory",
      keyPrefix,
      cache: new MemoryCache({ defaultTtlMs: cacheTtlMs }),
      bus: new MemoryBus(options.logger),
      queue,
      rateLimiter: new MemoryRateLimiter(),
      sessions: new MemorySessionStore(),
      lock: new MemoryLeaderLock(),
      ping: async () => {},
      close: () => {
        closing ??= queue.close();
        return closing;
      },
    };
  }
  // Imported only here: a process without REDIS_URL never loads ioredis nor BullMQ.
  const { createRedisServices } = await import("./redis/services.js");
  return createRedisServices(options.redisUrl, {
    keyPrefix,
    cacheTtlMs,
    queueName,
    queueSettings,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    logger: options.logger,
  });
}
