/**
 * Starting the real platform for tests: in this process (startTestPlatform) or as a child
 * process running `obiente up` (spawnPlatform), always on port 0, on a database of its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import { type RunningPlatform, startPlatform } from "../../src/app/platform.js";
import { loadConfig } from "../../src/config/config.js";
import { generateApiToken } from "../../src/crypto/tokens.js";
import type { Db } from "../../src/store/database.js";
import { apiTokens, users } from "../../src/store/schema.js";
import { freshPostgresUrl } from "./databases.js";

export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Deletes every key under `prefix` on the test Redis (what a test's platforms left there). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
const repoRoot = new URL("../../", import.meta.url).pathname;

export interface TestPlatform {
  platform: RunningPlatform;
  baseUrl: string;
  grpcUrl: string;
  /** The first-start administrator's token, and their organization. */
  adminToken: string;
  /** Data folder (PGlite, master key); removed by close(). */
  dataDir: string;
  client<S extends DescService>(service: S, token?: string): Client<S>;
  close(): Promise<void>;
}

export function transport(baseUrl: string, token: string | undefined): Transport {
  return createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
        return next(req);
      },
    ],
  });
}

/**
 * The whole platform in this process. `database: "postgres"` uses a fresh database dropped on
 * close; the default is PGlite in a temporary data folder. `env` adds configuration.
 */
export async function startTestPlatform(
  options: {
    database?: "pglite" | "postgres";
    redis?: boolean;
    env?: Record<string, string>;
    /** Where the platform logs (default: nowhere), for tests that read its logs. */
    logger?: Logger;
  } = {},
): Promise<TestPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), "obiente-test-"));
  const pg = options.database === "postgres" ? await freshPostgresUrl() : undefined;
  const config = loadConfig({
    PORT: "0",
    GRPC_PORT: "0",
    METRICS_PORT: "0",
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    // The API alone unless a test asks for more: no engine, edge or controller to wait for.
    ROLES: "api",
    EDGE_PORT: "0",
    // The host's iptables are shared by every test: only the isolation tests install rules.
    NETWORK_ISOLATION: "off",
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...(options.redis
      ? { REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: `obiente-test-${process.pid}-${Date.now()}:` }
      : {}),
    ...options.env,
  });
  const silence = process.stdout.write;
  // The first start prints the admin token banner; keep test output readable.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let platform: RunningPlatform;
  try {
    platform = await startPlatform(config, options.logger ?? pino({ level: "silent" }));
  } finally {
    process.stdout.write = silence;
  }
  const adminToken = platform.bootstrapToken;
  if (!adminToken || !platform.ports)
    throw new Error("the test platform did not bootstrap an admin");
  const baseUrl = `http://127.0.0.1:${platform.ports.http}`;
  const grpcUrl = `http://127.0.0.1:${platform.ports.grpc}`;
  return {
    platform,
    baseUrl,
    grpcUrl,
    adminToken,
    dataDir,
    client: (service, token = adminToken) => createClient(service, transport(baseUrl, token)),
    async close() {
      await platform.close();
      await pg?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SpawnedPlatform {
  child: ChildProcess;
  baseUrl: string;
  /** The h2c listener for gRPC clients: `http://127.0.0.1:<grpcPort>`. */
  grpcUrl: string;
  /** Prometheus's `/metrics` of the process (METRICS_HOST:METRICS_PORT). */
  metricsUrl: string | undefined;
  grpcPort: number;
  /** Printed on first start only. */
  adminToken: string | undefined;
  output(): string;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<number | null>;
}

/** Runs `node bin/obiente.js up` with `env` and waits until its API listens. */
export async function spawnPlatform(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<SpawnedPlatform> {
  const child = spawn(process.execPath, [join(repoRoot, "bin/obiente.js"), "up"], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      PORT: "0",
      GRPC_PORT: "0",
      METRICS_PORT: "0",
      EDGE_PORT: "0",
      ROLES: "api",
      LOG_LEVEL: "info",
      NETWORK_ISOLATION: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const { baseUrl, grpcPort } = await new Promise<{ baseUrl: string; grpcPort: number }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the platform did not start in ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      const check = () => {
        const match = /"url":"(http:\/\/[^"]+)","grpcPort":(\d+)/.exec(output);
        if (match?.[1] && match[2]) {
          clearTimeout(timer);
          resolve({ baseUrl: match[1], grpcPort: Number(match[2]) });
        }
      };
      child.stdout?.on("data", check);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the platform exited with ${code} before listening:\n${output}`));
      });
    },
  );
  const adminToken = /token: (obt_[A-Za-z0-9_-]+)/.exec(output)?.[1];
  const metricsUrl = /"url":"(http:\/\/[^"]+\/metrics)"/.exec(output)?.[1];
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const grpcUrl = `${new URL(baseUrl).protocol}//${new URL(baseUrl).hostname}:${grpcPort}`;
  return {
    child,
    baseUrl,
    grpcUrl,
    grpcPort,
    metricsUrl,
    adminToken,
    output: () => output,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
  };
}

/**
 * A user of their own (no organization, not an administrator) and an API token for them,
 * written straight into the store: for tests that need several callers without an OIDC issuer.
 */
export async function addUserWithToken(
  db: Db,
  email = `user-${randomUUID()}@obiente.test`,
): Promise<{ userId: string; email: string; token: string }> {
  const userId = randomUUID();
  const { token, hash, prefix } = generateApiToken();
  await db.insert(users).values({ id: userId, email, displayName: email.split("@")[0] ?? "" });
  await db
    .insert(apiTokens)
    .values({ id: randomUUID(), userId, name: "test", tokenHash: hash, prefix });
  return { userId, email, token };
}
