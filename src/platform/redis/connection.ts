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

/** How long after an unasked-for end a Sentinel client connects again. */
const REVIVE_DELAY_MS = 100;

/**
 * A Sentinel client that connects again when it ends without being asked to, and whose
 * duplicates (BullMQ makes its workers' blocking connections with duplicate()) do the same.
 *
 * ioredis 5 ends such a client for good when its failover detector hears +switch-master while
 * the client is already reconnecting (the master died): the detector disconnects the connector
 * in the middle of its connect, which then fails with "Connection is closed." and ioredis sets
 * the status to "end" with no retry. Every later command fails with that message, and a worker
 * stops taking jobs. It happens in a fraction of failovers (two of six runs of three failovers
 * each here) and after a second failover in the HA stack every time it was tried.
 */
class SentinelRedis extends Redis {
  constructor(
    options: RedisOptions,
    private readonly logger?: Logger,
  ) {
    super(options);
    this.on("end", () => {
      // Set by disconnect() and quit(): an end asked for stays an end.
      if ((this as unknown as { manuallyClosing: boolean }).manuallyClosing) return;
      logger?.warn(
        { connection: options.connectionName },
        "the Redis Sentinel client ended without being closed: connecting again",
      );
      setTimeout(() => {
        if (this.status !== "end") return;
        this.connect().catch((error: unknown) =>
          logger?.warn(
            { err: error, connection: options.connectionName },
            "connecting the Redis Sentinel client again failed; its retries go on",
          ),
        );
      }, REVIVE_DELAY_MS).unref();
    });
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new SentinelRedis({ ...this.options, ...override }, this.logger);
  }
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
    client = new SentinelRedis(
      {
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
      },
      options.logger,
    );
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
