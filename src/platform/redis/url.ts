/**
 * Redis URLs, read by the configuration in every process: this module imports nothing, so that a
 * process without REDIS_URL (the embedded defaults, the CLI) never loads ioredis
 * (connection.ts opens the connections).
 */
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

export interface HostPort {
  host: string;
  port: number;
}

export interface Auth {
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
