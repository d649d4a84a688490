/**
 * Configuration from environment variables, validated once at start-up. An invalid value stops
 * the program with a message naming the variable and what it expects (ConfigError).
 */
import { z } from "zod";

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
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Reads the configuration; throws ConfigError listing every invalid variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in schema.shape && value !== ""),
  );
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "?");
    return `  ${name}=${JSON.stringify(env[name] ?? "")}: expected ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}
