/**
 * Configuration from environment variables (or, for any NAME, a file named by NAME_FILE: Docker
 * secrets), validated once at start-up. An invalid value stops
 * the program with a message naming the variable and what it expects (ConfigError).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { parseRegistry } from "../runtime/registry-reference.js";
import { STRATEGY_NAMES } from "../scheduler/snapshot.js";

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

/** A JSON object of node id or hostname → that node's engine (unix:// or tcp:// URL). */
const nodeSockets = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: 'a JSON object such as {"node-1":"tcp://…"}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().min(1),
      z.string().regex(/^(unix|tcp):\/\//, "unix:///path/docker.sock or tcp://host:port"),
      { message: 'a JSON object such as {"node-1":"tcp://10.0.0.2:2375"}' },
    ),
  );
export type RoleName = (typeof ROLES)[number];

const schema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(3000),
  GRPC_PORT: port.default(3001),
  DATA_DIR: z.string().min(1).default("./.obiente"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "a postgres:// or postgresql:// URL")
    .optional(),
  METRICS_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "a postgres:// or postgresql:// URL")
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^(redis|rediss|redis\+cluster):\/\//, "a redis://, rediss:// or redis+cluster:// URL")
    .optional(),
  REDIS_KEY_PREFIX: z.string().default("obiente:"),
  SECRETS_MASTER_KEY: z.string().optional(),
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
  CACHE_TTL_SECONDS: z.coerce.number().int().nonnegative().default(300),
  MAX_REPLICAS: z.coerce.number().int().positive().default(20),
  GIT_ALLOW_FILE: bool.default(false),
  TRUST_PROXY: bool.default(false),
  BOOTSTRAP_ADMIN_EMAIL: z.email().default("admin@obiente.local"),
  // Deploying: the container engine, builds, the edge.
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|http|https):\/\//, "unix:///path/docker.sock or tcp://host:port")
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
  // Metrics (ARCHITECTURE.md §7). Milliseconds, so that tests can shorten them.
  METRICS_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  METRICS_BUCKET_MS: z.coerce.number().int().min(100).default(60_000),
  METRICS_AGGREGATE_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  METRICS_LIVE_WINDOW_SECONDS: positiveInt.default(300),
  METRICS_RETENTION_DAYS: positiveInt.default(14),
  METRICS_USAGE_RETENTION_DAYS: positiveInt.default(400),
  METRICS_BUFFER_MAX_ROWS: positiveInt.default(200_000),
  METRICS_CONCURRENCY: positiveInt.default(256),
  AGENT_METRICS_PORT: port.default(9464),
  // The agent records its host's CPU, memory and disk as its node's usage. Off where several
  // agents share one machine (the test harness's Swarm): they would all report the same host.
  METRICS_NODE_USAGE: bool.default(true),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema>;

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
    const problems = registryProblems(result.data);
    if (problems.length === 0) return result.data;
    throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "?");
    // A value read from a file is most likely a secret: name the file, not the value.
    const shown = fromFiles.has(name)
      ? `${name}_FILE=${JSON.stringify(env[`${name}_FILE`])}`
      : `${name}=${JSON.stringify(env[name] ?? "")}`;
    return `  ${shown}: expected ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
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
