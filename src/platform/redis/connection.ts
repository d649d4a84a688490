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
    followFailovers(client, options.logger);
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

/** The parts of ioredis 5's Sentinel client that followFailovers works on (not in its types). */
interface SentinelClientInternals {
  connector?: {
    disconnect(): void;
    failoverDetector: { isDisconnected: boolean; cleanup(): void } | null;
    connectToSentinel(endpoint: unknown, options?: unknown): Redis;
  };
  manuallyClosing: boolean;
}

/**
 * Keeps a Sentinel client (and each of its duplicates: BullMQ's blocking connections) alive
 * through failover after failover, where ioredis 5 alone can end it for good.
 *
 * Its failover detector, on +switch-master, disconnects the connector. When the client is
 * already connecting again (its master was lost a moment before), that aborts the attempt in
 * flight with "Connection is closed." and ioredis ends the client: status `end`, no retry, every
 * later command refused. Here an announcement that comes while the client connects only retires
 * the detector: the attempt in flight asks the Sentinels anyway, and a master that was demoted
 * meanwhile fails the role check once connected, which makes the client ask again. A disconnect
 * asked for by the client itself (disconnect(), quit(), closeRedis) still aborts the attempt.
 * test/platform-redis-sentinel.test.ts holds the race open with a Sentinel that delays its
 * answers.
 *
 * The detector's own connections to the Sentinels get an error listener: without one, ioredis
 * prints each of their reconnection errors to stderr with a stack trace.
 */
function followFailovers(client: Redis, logger: Logger | undefined): Redis {
  const internals = client as unknown as SentinelClientInternals;
  const connector = internals.connector;
  if (
    typeof connector?.disconnect !== "function" ||
    typeof connector.connectToSentinel !== "function" ||
    !("failoverDetector" in connector)
  ) {
    throw new Error(
      "ioredis's Sentinel connector is not the one followFailovers was written for (ioredis 5): check src/platform/redis/connection.ts against the installed version",
    );
  }
  const disconnect = connector.disconnect.bind(connector);
  connector.disconnect = () => {
    const detector = connector.failoverDetector;
    if (detector?.isDisconnected && client.status === "connecting" && !internals.manuallyClosing) {
      detector.cleanup();
      connector.failoverDetector = null;
      return;
    }
    disconnect();
  };
  const connectToSentinel = connector.connectToSentinel.bind(connector);
  connector.connectToSentinel = (endpoint, sentinelOptions) => {
    const sentinel = connectToSentinel(endpoint, sentinelOptions);
    sentinel.on("error", (error: Error) =>
      logger?.debug({ err: error, endpoint }, "Redis Sentinel connection error"),
    );
    return sentinel;
  };
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override) => followFailovers(duplicate(override), logger);
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
