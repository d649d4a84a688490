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
import { RedisBus } from "./redis/bus.js";
import { RedisCache } from "./redis/cache.js";
import { closeRedis, openRedis, parseRedisUrl, type RedisClient } from "./redis/connection.js";
import { RedisLeaderLock } from "./redis/lock.js";
import { RedisJobQueue } from "./redis/queue.js";
import { RedisRateLimiter } from "./redis/rate-limit.js";
import { RedisSessionStore } from "./redis/sessions.js";
import type { SessionStore } from "./sessions.js";

/** Everything the platform keeps outside PostgreSQL (ARCHITECTURE.md section 8). */
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
  return createRedisServices(options.redisUrl, {
    keyPrefix,
    cacheTtlMs,
    queueName,
    queueSettings,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    logger: options.logger,
  });
}

async function createRedisServices(
  url: string,
  settings: {
    keyPrefix: string;
    cacheTtlMs: number;
    queueName: string;
    queueSettings: Partial<QueueSettings>;
    connectTimeoutMs: number;
    logger: Logger | undefined;
  },
): Promise<PlatformServices> {
  const { keyPrefix, cacheTtlMs, queueName, queueSettings, connectTimeoutMs, logger } = settings;
  const target = parseRedisUrl(url);
  const name = (role: string) => `${keyPrefix}${role}`.replace(/[^\w:.-]/g, "_");
  const client = openRedis(target, { name: name("main"), logger });
  // BullMQ and subscriber mode each need their own connection (see redis/queue.ts, redis/bus.ts).
  const queueConnection = openRedis(target, {
    name: name("queue"),
    maxRetriesPerRequest: null,
    logger,
  });
  const subscriber = openRedis(target, { name: name("bus"), logger });
  const bus = new RedisBus(client, subscriber, keyPrefix, logger);
  const queue = new RedisJobQueue({
    connection: queueConnection,
    name: queueName,
    // The hash tag keeps each queue in one cluster slot; on a single node it is just characters.
    // The same prefix in both modes, so moving to a cluster finds the jobs where it left them.
    prefix: `${keyPrefix}{bullmq}`,
    settings: queueSettings,
    logger,
    // Behind Sentinel a master can be lost with writes its replicas never got: an enqueue is
    // acknowledged once a replica has the job.
    ...(target.kind === "sentinel" ? { replicaWait: { replicas: 1, timeoutMs: 2_000 } } : {}),
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await queue.close();
      await closeRedis(queueConnection);
      await bus.close();
      await closeRedis(client);
    })();
    return closing;
  };
  try {
    // Fail at start-up, with the connections closed, rather than at the first request.
    await withTimeout(client.ping(), connectTimeoutMs);
  } catch (error) {
    await close();
    throw new Error(`Redis at ${redactUrl(url)} does not answer`, { cause: error });
  }
  return {
    kind: "redis",
    keyPrefix,
    cache: new RedisCache(client, keyPrefix, cacheTtlMs),
    bus,
    queue,
    rateLimiter: new RedisRateLimiter(client, keyPrefix),
    sessions: new RedisSessionStore(client, keyPrefix),
    lock: new RedisLeaderLock(client, keyPrefix),
    redis: client,
    ping: async () => {
      await client.ping();
    },
    close,
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for messages and logs. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}
