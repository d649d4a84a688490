import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";

/** A connection to a single Redis node or to a Redis Cluster: the adapters work with either. */
export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "cluster"; nodes: { host: string; port: number }[]; auth: ClusterAuth };

interface ClusterAuth {
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

/**
 * `redis://[user:pass@]host:port[/db]` and `rediss://…` name one node (ioredis parses them);
 * `redis+cluster://[user:pass@]h1:p1,h2:p2` (or `rediss+cluster://` for TLS) names the seed nodes
 * of a Redis Cluster, which has no databases and so no path.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: "single", url };
  const match = CLUSTER_URL.exec(url);
  if (match === null) {
    throw new TypeError(
      "Redis URL must look like redis://host:port, rediss://host:port or redis+cluster://h1:p1,h2:p2",
    );
  }
  const [, scheme, userInfo, hosts = ""] = match;
  const auth: ClusterAuth = { tls: scheme === "rediss" };
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(":");
    const username = decodeURIComponent(colon === -1 ? userInfo : userInfo.slice(0, colon));
    if (username !== "") auth.username = username;
    if (colon !== -1) auth.password = decodeURIComponent(userInfo.slice(colon + 1));
  }
  // The WHATWG parser splits "host:port" for us, IPv6 "[::1]:7000" included.
  const nodes = hosts.split(",").map((hostPort) => {
    const parsed = new URL(`redis://${hostPort}`);
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(parsed.port || 6379) };
  });
  return { kind: "cluster", nodes, auth };
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
  }
}
