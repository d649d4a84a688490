/**
 * Configuration from environment variables (or, for any NAME, a file named by NAME_FILE: Docker
 * secrets), validated once at start-up. An invalid value stops
 * the program with a message naming the variable and what it expects (ConfigError).
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";
import { isAllowEntry, isIpv4Cidr } from "../network/index.js";
import { parseRedisUrl } from "../platform/index.js";
import { insecureEngineProblem, parseRegistry } from "../runtime/index.js";
import { STRATEGY_NAMES } from "../scheduler/index.js";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const port = z.coerce.number().int().min(0).max(65_535);
const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

const ROLES = ["api", "controller", "agent", "edge"] as const;
const positiveInt = z.coerce.number().int().positive();

/** A JSON object of node id or hostname → that node's engine (unix://, tcp:// or ssh:// URL). */
const nodeSockets = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: 'a JSON object such as {"node-1":"ssh://…"}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().min(1),
      z
        .string()
        .regex(
          /^(unix|tcp|https|ssh):\/\//,
          "unix:///path/docker.sock, tcp://host:port (with TLS) or ssh://user@host",
        ),
      { message: 'a JSON object such as {"node-1":"ssh://obiente@10.0.0.2"}' },
    ),
  );
export type RoleName = (typeof ROLES)[number];

/** DNS servers as node's dns.Resolver takes them: "127.0.0.1", "127.0.0.1:5353", "[::1]:53". */
const resolverList = list.refine(
  (servers) =>
    servers.every((server) => {
      const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server);
      const [host, port] = bracketed
        ? [bracketed[1] ?? "", bracketed[2]]
        : isIP(server) === 6
          ? [server, undefined]
          : (server.split(":") as [string, string | undefined]);
      return (
        isIP(host) !== 0 && (port === undefined || (Number(port) > 0 && Number(port) < 65_536))
      );
    }),
  "a comma-separated list of IP addresses with optional ports, such as 127.0.0.1:5353,[::1]:53",
);
const quota = z.coerce.number().int().nonnegative();
/**
 * Names under PLATFORM_DOMAIN that no deployment gets as its default name, and (entries with a
 * dot) hosts of the platform's own that no organization can claim as a custom domain.
 */
export const DEFAULT_RESERVED_NAMES = [
  "www",
  "api",
  "admin",
  "login",
  "dashboard",
  "auth",
  "mail",
  "app",
  "console",
  "status",
  "docs",
  "grpc",
  "traefik",
  "registry",
  "metrics",
  "id",
  "sso",
  "oauth",
  "account",
  "accounts",
  "smtp",
  "imap",
  "ns1",
  "ns2",
  "autoconfig",
  "autodiscover",
];
/**
 * A PostgreSQL URL as postgres.js reads it: several hosts stand for the first one, then the WHATWG
 * parser, then the user name and password are URL-decoded. A value it cannot read would make it
 * throw an error holding the whole URL, password included; the problem is told here instead.
 */
function postgresUrlProblem(text: string): string | undefined {
  if (!/^postgres(ql)?:\/\//.test(text)) return "a postgres:// or postgresql:// URL";
  const unreadable =
    "a URL the PostgreSQL client can read: write special characters of the user name and password (@ : / ? # % and spaces) URL-encoded, as %40 %3A %2F %3F %23 %25 %20";
  try {
    const authority = text.slice(text.indexOf("://") + 3).split(/[?/]/)[0] ?? "";
    const hosts = decodeURIComponent(authority.slice(authority.indexOf("@") + 1));
    const url = new URL(text.replace(hosts, hosts.split(",")[0] ?? ""));
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    for (const host of hosts.split(",")) {
      if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]*)(:\d{1,5})?$/.test(host)) return unreadable;
    }
  } catch {
    return unreadable;
  }
  return undefined;
}

const postgresUrl = z.string().superRefine((text, ctx) => {
  const problem = postgresUrlProblem(text);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const redisUrl = z.string().superRefine((text, ctx) => {
  const expected = "a redis://, rediss://, redis+cluster:// or redis+sentinel:// URL";
  if (
    !/^(redis|rediss|redis\+cluster|rediss\+cluster|redis\+sentinel|rediss\+sentinel):\/\//.test(
      text,
    )
  ) {
    ctx.addIssue({ code: "custom", message: expected });
    return;
  }
  try {
    const target = parseRedisUrl(text);
    if (target.kind === "single") {
      const url = new URL(text);
      decodeURIComponent(url.username);
      decodeURIComponent(url.password);
    }
  } catch {
    ctx.addIssue({
      code: "custom",
      message: `${expected} that can be read: write special characters of the user name and password URL-encoded (%40 for @, %23 for #, …)`,
    });
  }
});

/**
 * Where the backup agents of the PostgreSQL members listen (deploy/images/postgres): http(s)
 * addresses alone, kept as origins. The entries are not echoed (one could hold a password):
 * the message names them by position.
 */
const backupAgentUrls = list.transform((entries, ctx) => {
  const expected =
    "a comma-separated list of the backup agents' http(s) addresses, such as http://postgres-1:8009,http://postgres-2:8009";
  const origins: string[] = [];
  const problems: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const problem = backupAgentUrlProblem(entry);
    const origin = problem === undefined ? new URL(entry).origin : undefined;
    const twice = origin === undefined ? -1 : origins.indexOf(origin);
    if (problem !== undefined) problems.push(`entry ${index + 1} ${problem}`);
    else if (twice >= 0) problems.push(`entry ${index + 1} names the agent of entry ${twice + 1}`);
    if (origin !== undefined) origins.push(origin);
  }
  if (entries.length === 0) problems.push("no address given");
  if (problems.length === 0) return origins;
  ctx.addIssue({ code: "custom", message: `${expected}; ${problems.join("; ")}` });
  return z.NEVER;
});

function backupAgentUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "is not http:// or https://";
  if (url.username !== "" || url.password !== "") {
    return "holds a user name or password: the agents take BACKUP_AGENT_TOKEN";
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    return "has a path, query or fragment: give the agent's address alone";
  }
  return undefined;
}

/** Which peers' X-Forwarded-For is believed: none, the proxies' addresses, or a hop count. */
export type TrustProxy = false | number | string[];

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

function isAddressOrCidr(text: string): boolean {
  const [address = "", prefix, extra] = text.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  return bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

const trustProxy = z.string().transform((text, ctx): TrustProxy => {
  const value = text.trim().toLowerCase();
  if (value === "false" || value === "no" || value === "0") return false;
  if (value === "true" || value === "yes") {
    ctx.addIssue({
      code: "custom",
      message:
        'the addresses or CIDRs of the proxies in front of the API (e.g. "10.0.0.0/8" or "loopback"), or the number of proxies when nothing else can reach the API (e.g. "1"); "true" would believe the X-Forwarded-For of any client, which then picks its own address',
    });
    return z.NEVER;
  }
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const bad = entries.filter((entry) => !PROXY_NAMES.has(entry) && !isAddressOrCidr(entry));
  if (entries.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `a comma-separated list of proxy addresses or CIDRs (e.g. "10.0.0.0/8,127.0.0.1"; also loopback, linklocal, uniquelocal), or a hop count${bad.length > 0 ? `; not an address or CIDR: ${bad.map((b) => JSON.stringify(b)).join(", ")}` : ""}`,
    });
    return z.NEVER;
  }
  return entries;
});

const schema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(3000),
  GRPC_PORT: port.default(3001),
  DATA_DIR: z.string().min(1).default("./.obiente"),
  DATABASE_URL: postgresUrl.optional(),
  METRICS_DATABASE_URL: postgresUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  REDIS_KEY_PREFIX: z.string().default("obiente:"),
  SECRETS_MASTER_KEY: z.string().optional(),
  // Keys that were current before a rotation: they decrypt, never encrypt (docs/security-api.md).
  SECRETS_MASTER_KEY_PREVIOUS: list.optional(),
  OIDC_ISSUER: z.url({ message: "an https URL of the OIDC issuer" }).optional(),
  OIDC_AUDIENCE: list.optional(),
  OIDC_JWKS_URI: z.url().optional(),
  OIDC_ALGORITHMS: list.optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  ROLES: list
    .pipe(z.array(z.enum(ROLES, { message: `one of ${ROLES.join(", ")}` })))
    .default([...ROLES]),
  PLATFORM_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/, "a lowercase domain such as apps.example.com")
    .default("localhost"),
  CORS_ORIGINS: list.default([]),
  RATE_LIMIT_MAX: z.coerce.number().int().positive().default(600),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  // Per client address, on every route, before any body is read; unset: 4 × RATE_LIMIT_MAX.
  RATE_LIMIT_ADDRESS_MAX: z.coerce.number().int().positive().optional(),
  // The largest request body: an RPC message (compressed, and once inflated) or a REST body.
  RPC_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  // The git loop (docs/git.md): webhook bodies, the API's address as forges see it, previews.
  WEBHOOK_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  PUBLIC_URL: z
    .url({
      message:
        "the API's address as forges and browsers reach it, such as https://cloud.example.com",
    })
    .optional(),
  PREVIEW_TTL_HOURS: z.coerce.number().positive().default(168),
  PREVIEW_CPU_MILLICORES: z.coerce.number().int().min(10).default(500),
  PREVIEW_MEMORY_MB: z.coerce.number().int().min(16).default(256),
  CACHE_TTL_SECONDS: z.coerce.number().int().nonnegative().default(300),
  MAX_REPLICAS: z.coerce.number().int().positive().default(20),
  GIT_ALLOW_FILE: bool.default(false),
  TRUST_PROXY: trustProxy.default(false),
  BOOTSTRAP_ADMIN_EMAIL: z.email().default("admin@obiente.local"),
  // Who may get an account by signing in through OIDC (docs/security-tenancy.md).
  SIGNUP: z
    .enum(["open", "invite", "closed"], { message: "open, invite or closed" })
    .default("open"),
  // Quotas per organization: these defaults, or what a platform administrator set for it.
  QUOTA_DEPLOYMENTS: quota.default(50),
  QUOTA_REPLICAS: quota.default(100),
  QUOTA_CPU_MILLICORES: quota.default(32_000),
  QUOTA_MEMORY_MB: quota.default(65_536),
  QUOTA_DOMAINS: quota.default(50),
  QUOTA_CONCURRENT_BUILDS: quota.default(4),
  QUOTA_CONCURRENT_STREAMS: quota.default(20),
  QUOTA_LOG_TAIL_LINES: quota.default(10_000),
  // Domains: names kept for the platform, and how ownership of custom domains is checked.
  RESERVED_NAMES: list
    .refine(
      (names) => names.every((n) => /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(n)),
      "a comma-separated list of lowercase names (www,api) or hosts (cloud.example.com)",
    )
    .default(DEFAULT_RESERVED_NAMES),
  DNS_RESOLVERS: resolverList.optional(),
  DNS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  DOMAIN_RECHECK_HOURS: z.coerce.number().positive().default(24),
  DOMAIN_GRACE_HOURS: z.coerce.number().nonnegative().default(72),
  // The first-start token's life once another administrator credential exists.
  BOOTSTRAP_TOKEN_TTL_HOURS: z.coerce.number().positive().default(24),
  // Deploying: the container engine, builds, the edge.
  DOCKER_HOST: z
    .string()
    .regex(
      /^(unix|tcp|http|https|ssh):\/\//,
      "unix:///path/docker.sock, tcp://host:port (with TLS) or ssh://user@host",
    )
    .optional(),
  // Remote engines (docs/security-network.md): TLS as the docker CLI does it, or ssh.
  DOCKER_TLS_VERIFY: bool.default(false),
  DOCKER_CERT_PATH: z.string().min(1).optional(),
  DOCKER_SSH_KEY: z.string().min(1).optional(),
  DOCKER_SSH_KNOWN_HOSTS: z.string().min(1).optional(),
  SSH_AUTH_SOCK: z.string().min(1).optional(),
  ALLOW_INSECURE_ENGINE: bool.default(false),
  // What containers of projects and builds may reach (docs/security-network.md).
  NETWORK_ISOLATION: z.enum(["on", "off"], { message: "on or off" }).default("on"),
  NETWORK_ISOLATION_ALLOW: list
    .pipe(z.array(z.string().refine(isAllowEntry, "CIDR:PORT entries such as 10.0.5.20/32:5432")))
    .default([]),
  NETWORK_ISOLATION_BLOCK: list
    .pipe(z.array(z.string().refine(isIpv4Cidr, "IPv4 addresses or CIDRs such as 10.0.0.0/24")))
    .default([]),
  NETWORK_ISOLATION_ENGINE_PORTS: list
    .pipe(z.array(z.string().regex(/^\d{1,5}$/, "TCP ports such as 2375,2376")))
    .transform((ports) => ports.map(Number))
    .pipe(z.array(z.number().int().min(1, "ports 1-65535").max(65_535, "ports 1-65535")))
    .default([2375, 2376]),
  NETWORK_ISOLATION_INTERVAL_SECONDS: positiveInt.default(30),
  NETWORK_ISOLATION_NETNS: z
    .string()
    .regex(/^\//, "an absolute path such as /var/run/netns/node2")
    .optional(),
  // Where the agent runs iptables: `local` (its own process, or NETWORK_ISOLATION_NETNS), or
  // `engine` (a helper container on its engine, in the host's network namespace).
  NETWORK_ISOLATION_EXEC: z
    .enum(["local", "engine"], { message: "local or engine" })
    .default("local"),
  // The helper's image (engine); the agent's own container's image when unset.
  NETWORK_ISOLATION_IMAGE: z.string().min(1).optional(),
  EDGE_ADDRESSES: list
    .pipe(z.array(z.string().refine(isIpv4Cidr, "IPv4 addresses or CIDRs such as 10.0.0.21")))
    .optional(),
  HOST_ADDRESS: z.string().min(1).default("127.0.0.1"),
  PORT_RANGE: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, "FROM-TO, e.g. 20000-29999")
    .default("20000-29999")
    .transform((v) => {
      const [from, to] = v.split("-").map(Number) as [number, number];
      return { from, to };
    })
    .refine((r) => r.from >= 1024 && r.to <= 65_535 && r.from <= r.to, "a range within 1024-65535"),
  BUILD_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(600),
  BUILD_MAX_REPO_MB: z.coerce.number().int().positive().default(500),
  // What one build may use (docs/security-build.md).
  BUILD_MAX_FILES: positiveInt.default(100_000),
  BUILD_MAX_DISK_MB: positiveInt.default(10_240),
  BUILD_CPUS: z.coerce.number().positive().max(1024).default(1),
  BUILD_MEMORY_MB: z.coerce.number().int().min(64).default(2_048),
  BUILD_LOG_MAX_KB: z.coerce.number().int().min(16).default(256),
  // Base images of generated Dockerfiles (docs/builder.md); {major} and {version} are filled in.
  NODE_BASE_IMAGE: z.string().min(1).default("node:{major}-bookworm-slim"),
  NODE_DEFAULT_MAJOR: z.coerce.number().int().min(4).max(99).default(22),
  STATIC_BASE_IMAGE: z.string().min(1).default("caddy:2-alpine"),
  PYTHON_BASE_IMAGE: z.string().min(1).default("python:{version}-slim"),
  GO_BASE_IMAGE: z.string().min(1).default("golang:{version}"),
  GO_RUNTIME_IMAGE: z.string().min(1).default("gcr.io/distroless/static-debian12"),
  BUN_BASE_IMAGE: z.string().min(1).default("oven/bun:1"),
  BUILD_CA_BUNDLE: z
    .string()
    .refine(isPemFile, "a readable file of PEM certificates (-----BEGIN CERTIFICATE-----)")
    .optional(),
  DEFAULT_CPU_MILLICORES: z.coerce.number().int().min(10).default(500),
  DEFAULT_MEMORY_MB: z.coerce.number().int().min(16).default(256),
  STOP_TIMEOUT_SECONDS: z.coerce.number().int().min(0).default(10),
  HEALTH_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(60),
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().positive().default(60),
  ORPHAN_POLICY: z.enum(["remove", "keep"], { message: "remove or keep" }).default("remove"),
  EDGE: z
    .enum(["builtin", "caddy", "traefik", "none"], { message: "builtin, caddy, traefik or none" })
    .default("builtin"),
  EDGE_HOST: z.string().min(1).default("127.0.0.1"),
  EDGE_PORT: port.default(8080),
  CADDY_ADMIN_URL: z.url().default("http://127.0.0.1:2019"),
  CADDY_HTTP_PORT: port.default(80),
  CADDY_HTTPS_PORT: port.default(443),
  // push: the controller sends Caddy its configuration (CADDY_ADMIN_URL). pull: every Caddy (one
  // per edge node) fetches it from the API, GET /api/v1/caddy/config (docs/stack.md).
  CADDY_MODE: z.enum(["push", "pull"], { message: "push or pull" }).default("push"),
  CADDY_PROVIDER_TOKEN: z.string().min(16, "at least 16 characters").optional(),
  // The platform's own API behind the edge (pull mode): its domain, and the name (resolving to
  // every API replica) and port Caddy sends it to.
  CADDY_API_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/, "a lowercase domain such as cloud.example.com")
    .optional(),
  CADDY_API_UPSTREAM: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "host:port, e.g. tasks.api:3000")
    .default("tasks.api:3000"),
  ACME_CA: z.url().optional(),
  ACME_EMAIL: z.email().optional(),
  ACME_CA_ROOT: z.string().optional(),
  TRAEFIK_TLS: bool.default(true),
  TRAEFIK_ENTRYPOINT: z.string().min(1).optional(),
  TRAEFIK_CERT_RESOLVER: z.string().default("letsencrypt"),
  TRAEFIK_PROVIDER_TOKEN: z.string().min(16, "at least 16 characters").optional(),
  // Clusters (docs/swarm.md).
  RUNTIME: z.enum(["docker", "swarm"], { message: "docker or swarm" }).default("docker"),
  SWARM_NODE_SOCKETS: nodeSockets.optional(),
  SCHEDULER_STRATEGY: z
    .enum(STRATEGY_NAMES, { message: STRATEGY_NAMES.join(", ") })
    .default("least-loaded"),
  NODE_HEARTBEAT_TIMEOUT_SECONDS: positiveInt.default(15),
  MAX_DEPLOYMENTS_PER_NODE: positiveInt.default(50),
  // Images through a registry instead of engine to engine (docs/swarm.md, "Through a registry").
  REGISTRY: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseRegistry(text);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: "custom", message: parsed.problem });
      return z.NEVER;
    })
    .optional(),
  REGISTRY_USERNAME: z.string().optional(),
  REGISTRY_PASSWORD: z.string().optional(),
  REGISTRY_INSECURE: bool.default(false),
  // Metrics (docs/architecture.md, "Metrics"). Milliseconds, so that tests can shorten them.
  METRICS_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  METRICS_BUCKET_MS: z.coerce.number().int().min(100).default(60_000),
  METRICS_AGGREGATE_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  METRICS_LIVE_WINDOW_SECONDS: positiveInt.default(300),
  METRICS_RETENTION_DAYS: positiveInt.default(14),
  METRICS_USAGE_RETENTION_DAYS: positiveInt.default(400),
  METRICS_BUFFER_MAX_ROWS: positiveInt.default(200_000),
  METRICS_CONCURRENCY: positiveInt.default(256),
  // Prometheus's /metrics of every process, on a listener of its own (not the API's port).
  METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  METRICS_PORT: port.optional(),
  // The former name of METRICS_PORT, still read when METRICS_PORT is unset.
  AGENT_METRICS_PORT: port.optional(),
  // When set, every /metrics needs `Authorization: Bearer <token>`, and the API's port serves it.
  METRICS_TOKEN: z.string().min(16, "at least 16 characters").optional(),
  // The agent records its host's CPU, memory and disk as its node's usage. Off where several
  // agents share one machine (the test harness's Swarm): they would all report the same host.
  METRICS_NODE_USAGE: bool.default(true),
  // Backups of the platform's database (docs/ha.md, "Backups and restore"): the members' backup
  // agents, the token they ask, and how long the leader's may take to take a backup.
  BACKUP_AGENT_URLS: backupAgentUrls.optional(),
  BACKUP_AGENT_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, "at least 16 printable ASCII characters, without spaces")
    .optional(),
  BACKUP_TIMEOUT_SECONDS: positiveInt.default(21_600),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

const DEFAULT_METRICS_PORT = 9464;

export type Config = Omit<z.infer<typeof schema>, "METRICS_PORT"> & { METRICS_PORT: number };

/**
 * Variables whose value may hold a credential (a URL's password, a key, a token): when one is
 * invalid, the message names it and says what is wrong, and never shows the value.
 */
function mayHoldSecret(name: string): boolean {
  return (
    /(_URL|_URLS|_URI|PASSWORD|TOKEN|SECRET|_KEY|SOCKETS)$/.test(name) ||
    name.startsWith("SECRETS_") ||
    ["DOCKER_HOST", "OIDC_ISSUER", "ACME_CA", "REGISTRY"].includes(name)
  );
}

function isPemFile(path: string): boolean {
  try {
    return readFileSync(path, "utf8").includes("-----BEGIN CERTIFICATE-----");
  } catch {
    // Unreadable or missing: the message names what is expected.
    return false;
  }
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Reads the configuration; throws ConfigError listing every invalid variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present: Record<string, string> = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[0] in schema.shape && entry[1] !== undefined && entry[1] !== "",
    ),
  );
  // NAME_FILE: the value is that file's content (Docker and Kubernetes secrets).
  const fromFiles = new Set<string>();
  const fileProblems: string[] = [];
  for (const key of Object.keys(schema.shape)) {
    const path = env[`${key}_FILE`];
    if (path === undefined || path === "") continue;
    if (key in present) {
      fileProblems.push(`${key} and ${key}_FILE are both set: expected one of them`);
      continue;
    }
    try {
      present[key] = readFileSync(path, "utf8").replace(/\r?\n$/, "");
      fromFiles.add(key);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      fileProblems.push(
        `${key}_FILE=${JSON.stringify(path)}: expected a readable file (${reason})`,
      );
    }
  }
  if (fileProblems.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n${fileProblems.map((p) => `  ${p}`).join("\n")}`,
    );
  }
  const result = schema.safeParse(present);
  if (result.success) {
    const { METRICS_PORT, AGENT_METRICS_PORT } = result.data;
    const config: Config = {
      ...result.data,
      METRICS_PORT: METRICS_PORT ?? AGENT_METRICS_PORT ?? DEFAULT_METRICS_PORT,
    };
    const problems = [
      ...registryProblems(config),
      ...engineProblems(config),
      ...isolationProblems(config),
      ...backupProblems(config),
    ];
    if (problems.length === 0) return config;
    throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "?");
    const value = present[name] ?? "";
    // A value read from a file is most likely a secret: name the file, not the value. A value
    // that may hold a password is not shown either: at most its URL scheme, to say which it is.
    const scheme = /^[a-z][a-z0-9+.-]{0,20}:/i.exec(value)?.[0];
    const shown = fromFiles.has(name)
      ? `${name}_FILE=${JSON.stringify(env[`${name}_FILE`])}`
      : !mayHoldSecret(name)
        ? `${name}=${JSON.stringify(value)}`
        : scheme
          ? `${name} (a value starting with "${scheme}"; the rest is not shown)`
          : `${name} (the value is not shown)`;
    return `  ${shown}: expected ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

/** NETWORK_ISOLATION_NETNS is for iptables run by the agent itself, not by the engine's helper. */
function isolationProblems(config: Config): string[] {
  if (config.NETWORK_ISOLATION_EXEC !== "engine" || !config.NETWORK_ISOLATION_NETNS) return [];
  return [
    "NETWORK_ISOLATION_NETNS is set: expected it with NETWORK_ISOLATION_EXEC=local (the engine's helper container runs in the host's network namespace)",
  ];
}

/** Engines reached in plain TCP on another machine, refused unless ALLOW_INSECURE_ENGINE. */
function engineProblems(config: Config): string[] {
  const options = { tls: config.DOCKER_TLS_VERIFY, allowInsecure: config.ALLOW_INSECURE_ENGINE };
  const engines: Array<[string, string]> = [
    ...(config.DOCKER_HOST ? [["DOCKER_HOST", config.DOCKER_HOST] as [string, string]] : []),
    ...Object.entries(config.SWARM_NODE_SOCKETS ?? {}).map(([node, engine]): [string, string] => [
      `SWARM_NODE_SOCKETS["${node}"]`,
      engine,
    ]),
  ];
  return engines
    .map(([variable, engine]) => insecureEngineProblem(variable, engine, options))
    .filter((problem): problem is string => problem !== undefined);
}

/** The backup agents' addresses and their token: both or neither. */
function backupProblems(config: Config): string[] {
  const urls = config.BACKUP_AGENT_URLS !== undefined;
  const token = config.BACKUP_AGENT_TOKEN !== undefined;
  if (urls === token) return [];
  const [set, missing] = urls
    ? ["BACKUP_AGENT_URLS", "BACKUP_AGENT_TOKEN"]
    : ["BACKUP_AGENT_TOKEN", "BACKUP_AGENT_URLS"];
  return [`${set} is set: expected ${missing} (or ${missing}_FILE) with it`];
}

/** The registry variables that only make sense together (values left out: they are secrets). */
function registryProblems(config: Config): string[] {
  const problems: string[] = [];
  const user = config.REGISTRY_USERNAME !== undefined;
  const password = config.REGISTRY_PASSWORD !== undefined;
  if (user !== password) {
    problems.push(
      `${user ? "REGISTRY_USERNAME" : "REGISTRY_PASSWORD"} is set: expected REGISTRY_USERNAME and REGISTRY_PASSWORD together`,
    );
  }
  if (config.REGISTRY === undefined && (user || password || config.REGISTRY_INSECURE)) {
    problems.push(
      "REGISTRY is not set: expected it with REGISTRY_USERNAME, _PASSWORD or _INSECURE",
    );
  }
  return problems;
}
