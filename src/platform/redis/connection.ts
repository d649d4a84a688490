import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { RedisTarget } from "./url.js";

export { parseRedisUrl, type RedisTarget } from "./url.js";

/** A connection to a single Redis node or to a Redis Cluster: the adapters work with either. */
export type RedisClient = Redis | Cluster;

/**
 * A command refused with READONLY was sent to a node that is no longer the master (a failover
 * demoted it while the connection stayed up): reconnect, which asks the Sentinels again, and send
 * the command again there (ioredis: 2 = reconnect and resend).
 */
export function reconnectOnReadOnly(error: Error): 2 | false {
  return error.message.startsWith("READONLY") ? 2 : false;
}

export interface OpenOptions {
  /** Shown by CLIENT LIST, to tell our connections apart. */
  name: string;
  /** null for BullMQ, whose blocking commands must wait as long as it takes. */
  maxRetriesPerRequest?: number | null;
  logger?: Logger;
}

export function openRedis(target: RedisTarget, options: OpenOptions): RedisClient {
  const common: RedisOptions = { connectionName: options.name };
  if (options.maxRetriesPerRequest !== undefined) {
    common.maxRetriesPerRequest = options.maxRetriesPerRequest;
  }
  let client: RedisClient;
  if (target.kind === "single") {
    client = new Redis(target.url, common);
  } else if (target.kind === "sentinel") {
    const { username, password, tls } = target.auth;
    client = new Redis({
      ...common,
      sentinels: target.sentinels,
      name: target.name,
      role: "master",
      db: target.db,
      username,
      password,
      sentinelUsername: target.sentinelAuth.username,
      sentinelPassword: target.sentinelAuth.password,
      ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      // Told by the Sentinels (+switch-master) when the master changes, rather than finding out
      // from the next command that fails: every connection moves at once.
      failoverDetector: true,
      reconnectOnError: reconnectOnReadOnly,
    });
  } else {
    const { username, password, tls } = target.auth;
    client = new Cluster(target.nodes, {
      redisOptions: { ...common, username, password, ...(tls ? { tls: {} } : {}) },
    });
  }
  // Without a listener ioredis prints every reconnection error to stderr; log them instead.
  client.on("error", (error: Error) =>
    options.logger?.warn({ err: error, connection: options.name }, "Redis connection error"),
  );
  return client;
}

/**
 * QUIT waits for the replies in flight; a connection that is not up (still connecting, or
 * reconnecting) has none, and is dropped at once rather than after its retries.
 */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
    return;
  }
  // A Sentinel client's connections to the Sentinels (its failover detector's subscriptions)
  // close with disconnect() only, not with QUIT: left open, they keep the process alive and
  // reconnect forever once the Sentinels are gone.
  if (client instanceof Redis && client.options.sentinels) client.disconnect();
}
