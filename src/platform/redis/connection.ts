import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";

/** A connection to a single Redis node or to a Redis Cluster: the adapters work with either. */
export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "cluster"; nodes: HostPort[]; auth: Auth }
  | {
      kind: "sentinel";
      /** The Sentinels asked which node is the master. */
      sentinels: HostPort[];
      /** The master group's name, as the Sentinels monitor it (`sentinel monitor NAME …`). */
      name: string;
      /** Credentials and TLS of the Redis nodes (the master and its replicas). */
      auth: Auth;
      /** Credentials of the Sentinels themselves, when they ask for some. */
      sentinelAuth: { username?: string; password?: string };
      db: number;
    };

interface HostPort {
  host: string;
  port: number;
}

interface Auth {
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;
const SENTINEL_URL =
  /^(rediss?)\+sentinel:\/\/(?:([^@/]*)@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/;
const FORMS =
  "redis://host:port, rediss://host:port, redis+cluster://h1:p1,h2:p2 or redis+sentinel://h1:26379,h2:26379/master";

/**
 * `redis://[user:pass@]host:port[/db]` and `rediss://…` name one node (ioredis parses them);
 * `redis+cluster://[user:pass@]h1:p1,h2:p2` (or `rediss+cluster://` for TLS) names the seed nodes
 * of a Redis Cluster, which has no databases and so no path;
 * `redis+sentinel://[user:pass@]h1:p1,h2:p2/NAME[?db=N&sentinelPassword=…&sentinelUsername=…]`
 * (or `rediss+sentinel://`) names the Sentinels of the master group NAME: the connections go to
 * whichever node the Sentinels say is the master, and follow it when they fail over. The user
 * and password are the Redis nodes'; the Sentinels' own, if they have some, are parameters.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: "single", url };
  const sentinel = SENTINEL_URL.exec(url);
  if (sentinel !== null) {
    const [, scheme, userInfo, hosts = "", name = "", query = ""] = sentinel;
    const params = new URLSearchParams(query);
    for (const key of params.keys()) {
      if (!["db", "sentinelPassword", "sentinelUsername"].includes(key)) {
        throw new TypeError(
          `Redis URL: unknown parameter "${key}" (expected db, sentinelPassword or sentinelUsername)`,
        );
      }
    }
    const db = Number(params.get("db") ?? "0");
    if (!Number.isInteger(db) || db < 0) {
      throw new TypeError("Redis URL: db must be a whole number");
    }
    const sentinelAuth: { username?: string; password?: string } = {};
    const sentinelUsername = params.get("sentinelUsername");
    const sentinelPassword = params.get("sentinelPassword");
    if (sentinelUsername) sentinelAuth.username = sentinelUsername;
    if (sentinelPassword) sentinelAuth.password = sentinelPassword;
    return {
      kind: "sentinel",
      sentinels: parseHosts(hosts, 26379),
      name: decodeURIComponent(name),
      auth: parseAuth(scheme, userInfo),
      sentinelAuth,
      db,
    };
  }
  const match = CLUSTER_URL.exec(url);
  if (match === null) throw new TypeError(`Redis URL must look like ${FORMS}`);
  const [, scheme, userInfo, hosts = ""] = match;
  return { kind: "cluster", nodes: parseHosts(hosts, 6379), auth: parseAuth(scheme, userInfo) };
}

function parseAuth(scheme: string | undefined, userInfo: string | undefined): Auth {
  const auth: Auth = { tls: scheme === "rediss" };
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(":");
    const username = decodeURIComponent(colon === -1 ? userInfo : userInfo.slice(0, colon));
    if (username !== "") auth.username = username;
    if (colon !== -1) auth.password = decodeURIComponent(userInfo.slice(colon + 1));
  }
  return auth;
}

/** "h1:p1,h2,[::1]:p3": the WHATWG parser splits "host:port" for us, IPv6 included. */
function parseHosts(hosts: string, defaultPort: number): HostPort[] {
  return hosts.split(",").map((hostPort) => {
    let parsed: URL;
    try {
      parsed = new URL(`redis://${hostPort}`);
    } catch {
      throw new TypeError(`Redis URL: "${hostPort}" is not host:port`);
    }
    if (parsed.hostname === "" || parsed.pathname !== "") {
      throw new TypeError(`Redis URL: "${hostPort}" is not host:port`);
    }
    return {
      host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: Number(parsed.port || defaultPort),
    };
  });
}

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
