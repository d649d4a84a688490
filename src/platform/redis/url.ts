/**
 * Redis URLs, read by the configuration in every process: this module imports nothing, so that a
 * process without REDIS_URL (the embedded defaults, the CLI) never loads ioredis
 * (connection.ts opens the connections).
 */
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
