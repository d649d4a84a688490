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

/** How long a connection to a Sentinel or to the master it names may take (see openRedis). */
export const SENTINEL_CONNECT_TIMEOUT_MS = 3_000;

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
      // ioredis's default is 10 s, per attempt. While the Sentinels have not yet failed over,
      // they name the lost master, whose address no longer answers (no refusal: a lost node's
      // packets go nowhere); and the lost member's Sentinel is still in the list. A connection
      // on the private network is made in milliseconds: give up on one after 3 s and ask the
      // next Sentinel, so that the clients reach the new master seconds after the promotion.
      connectTimeout: SENTINEL_CONNECT_TIMEOUT_MS,
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
