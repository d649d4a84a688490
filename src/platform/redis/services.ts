/**
 * The Redis adapters of PlatformServices (services.ts imports this module only when REDIS_URL is
 * set): one connection for commands, one for BullMQ, one in subscriber mode.
 */
import type { Logger } from "pino";
import { withDeadline } from "../deadline.js";
import type { QueueSettings } from "../queue.js";
import type { PlatformServices } from "../services.js";
import { RedisBus } from "./bus.js";
import { RedisCache } from "./cache.js";
import { closeRedis, openRedis, parseRedisUrl } from "./connection.js";
import { RedisLeaderLock } from "./lock.js";
import { RedisJobQueue } from "./queue.js";
import { RedisRateLimiter } from "./rate-limit.js";
import { RedisSessionStore } from "./sessions.js";

export async function createRedisServices(
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
    // acknowledged once every replica online (and at least one) has the job.
    ...(target.kind === "sentinel" ? { replicaWait: { replicas: 1, timeoutMs: 2_000 } } : {}),
  });
  let closing: Promise<void> | undefined;
  // Every part is closed even when one before it fails: a connection left open keeps the
  // process alive (a queue whose BullMQ never loaded failed its close, and a test file then hung
  // until its timeout). The first failure is reported once all are closed.
  const close = () => {
    closing ??= (async () => {
      const failures: unknown[] = [];
      for (const part of [
        () => queue.close(),
        () => closeRedis(queueConnection),
        () => bus.close(),
        () => closeRedis(client),
      ]) {
        await part().catch((error: unknown) => failures.push(error));
      }
      if (failures.length > 0) throw failures[0];
    })();
    return closing;
  };
  try {
    // Fail at start-up, with the connections closed, rather than at the first request.
    await withDeadline(
      () => client.ping(),
      connectTimeoutMs,
      () => new Error(`no answer within ${connectTimeoutMs} ms`),
    );
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

/**
 * The URL without its user name and password, for messages and logs: a password may also be
 * written where the user name goes (redis://secret@host).
 */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/?#]*@/, "//***@");
}
