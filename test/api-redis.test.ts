/**
 * Two API processes (`obiente up`) of one installation: one PostgreSQL database, one Redis (a
 * key prefix of this test's own), one master key. What one process publishes reaches a client
 * of the other, and the rate limits are counted across both.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { generateMasterKey } from "../src/crypto/index.js";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { type Database, openDatabase } from "../src/store/database.js";
import {
  addUserWithToken,
  deleteRedisKeys,
  type SpawnedPlatform,
  spawnPlatform,
  testRedisUrl,
  transport,
} from "./helpers/api.js";
import { freshPostgresUrl } from "./helpers/databases.js";

const MAX = 10;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe("two API processes sharing PostgreSQL and Redis", () => {
  const keyPrefix = `obiente-test-api-redis-${randomBytes(6).toString("hex")}:`;
  let pg: { url: string; drop(): Promise<void> };
  let database: Database | undefined;
  const dataDirs: string[] = [];
  const servers: SpawnedPlatform[] = [];
  let a: SpawnedPlatform;
  let b: SpawnedPlatform;
  let adminToken: string;
  const redis = new Redis(testRedisUrl, { lazyConnect: true });

  before(async () => {
    pg = await freshPostgresUrl();
    const masterKey = generateMasterKey();
    const env = async () => {
      const dir = await mkdtemp(join(tmpdir(), "obiente-api-redis-"));
      dataDirs.push(dir);
      return {
        DATABASE_URL: pg.url,
        REDIS_URL: testRedisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        SECRETS_MASTER_KEY: masterKey,
        DATA_DIR: dir,
        RATE_LIMIT_MAX: String(MAX),
        RATE_LIMIT_WINDOW_MS: "60000",
        RATE_LIMIT_ADDRESS_MAX: "100000",
      };
    };
    const [envA, envB] = [await env(), await env()];
    // Both at once: migrations and the first administrator are made exactly once.
    const started = await Promise.allSettled([spawnPlatform(envA), spawnPlatform(envB)]);
    for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
    for (const result of started) if (result.status === "rejected") throw result.reason;
    [a, b] = servers as [SpawnedPlatform, SpawnedPlatform];
    const printed = servers.map((s) => s.adminToken).filter((t) => t !== undefined);
    assert.equal(printed.length, 1, "exactly one process prints the administrator's token");
    adminToken = printed[0] as string;
    database = await openDatabase({ url: pg.url, maxConnections: 1 });
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await database?.close();
    await pg?.drop();
    await deleteRedisKeys(keyPrefix);
    await redis.quit();
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const client = <S extends Parameters<typeof createClient>[0]>(
    server: SpawnedPlatform,
    service: S,
    token = adminToken,
  ) => createClient(service, transport(server.baseUrl, token));

  /** How many connections listen for this deployment's status events. */
  const subscribersOf = async (deploymentId: string) => {
    const channel = `${keyPrefix}bus:deployment-status:${deploymentId}`;
    const [, count] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
    return Number(count);
  };

  const newUser = async () => {
    assert.ok(database);
    return (await addUserWithToken(database.db)).token;
  };

  it("reports PostgreSQL and Redis healthy on both", async () => {
    for (const server of [a, b]) {
      const response = await fetch(`${server.baseUrl}/health`);
      assert.equal(response.status, 200);
      const report = (await response.json()) as {
        checks: Record<string, { ok: boolean; kind?: string }>;
      };
      assert.deepEqual(report.checks.database, {
        ...report.checks.database,
        ok: true,
        kind: "postgres",
      });
      assert.deepEqual(report.checks.redis, { ...report.checks.redis, ok: true, kind: "redis" });
    }
  });

  it("streams on one process the status changes made through the other", async () => {
    // The administrator's calls here (8) stay within the limit (MAX).
    const me = await client(a, AuthService).whoAmI({});
    const organizationId = me.memberships[0]?.organizationId ?? "";
    const { project } = await client(a, ProjectService).createProject({
      organizationId,
      name: "Streams",
    });
    const { deployment } = await client(b, DeploymentService).createDeployment({
      projectId: project?.id ?? "",
      gitRepo: "https://github.com/obiente/example-node.git",
      branch: "main",
    });
    const id = deployment?.id ?? "";
    assert.equal(deployment?.status, DeploymentStatus.QUEUED);

    // Read through process B once, so that its answer is in the response cache.
    const listed = await client(b, DeploymentService).listDeployments({ projectId: project?.id });
    assert.equal(listed.deployments[0]?.replicas, 1);

    const aborter = new AbortController();
    const stream = client(b, DeploymentService)
      .streamDeploymentStatus({ id }, { signal: aborter.signal })
      [Symbol.asyncIterator]();
    try {
      const first = await within(stream.next(), 5000, "the current status");
      assert.equal(first.done, false);
      assert.equal(first.value?.deploymentId, id);
      assert.equal(first.value?.status, DeploymentStatus.QUEUED);
      assert.equal(await subscribersOf(id), 1, "process B listens on the channel");

      const scaled = await client(a, DeploymentService).scaleDeployment({ id, replicas: 3 });
      assert.equal(scaled.deployment?.replicas, 3);
      const next = await within(stream.next(), 5000, "the change made on the other process");
      assert.equal(next.done, false);
      assert.equal(next.value?.deploymentId, id);
      assert.equal(next.value?.status, scaled.deployment?.status);
      assert.equal(next.value?.statusMessage, scaled.deployment?.statusMessage);
      assert.ok(
        (next.value?.at?.seconds ?? 0n) >= (first.value?.at?.seconds ?? 0n),
        "the event is newer",
      );

      // And the other process reads the change (no stale cached copy).
      const seen = await client(b, DeploymentService).getDeployment({ id });
      assert.equal(seen.deployment?.replicas, 3);
      const relisted = await client(b, DeploymentService).listDeployments({
        projectId: project?.id,
      });
      assert.equal(relisted.deployments[0]?.replicas, 3);
    } finally {
      aborter.abort();
      await stream.return?.().catch(() => undefined);
    }
    // The server lets go of the channel once the client has gone.
    let subscribers = await subscribersOf(id);
    for (let i = 0; i < 50 && subscribers !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      subscribers = await subscribersOf(id);
    }
    assert.equal(subscribers, 0, "the stream's subscription is left behind");
  });

  it("counts RPCs against one limit across both processes", async () => {
    const token = await newUser();
    const onA = client(a, AuthService, token);
    const onB = client(b, AuthService, token);
    for (let i = 0; i < MAX; i++) await (i % 2 === 0 ? onA : onB).whoAmI({});
    // The 11th call overall, on either process.
    await assert.rejects(onA.whoAmI({}), (error: unknown) => {
      assert.ok(error instanceof ConnectError, String(error));
      assert.equal(error.code, Code.ResourceExhausted, error.message);
      return true;
    });
    const raw = await fetch(`${b.baseUrl}/obiente.cloud.auth.v1.AuthService/WhoAmI`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: "{}",
    });
    assert.equal(raw.status, 429);
    const body = (await raw.json()) as { code: string; message: string };
    assert.equal(body.code, "resource_exhausted");
    assert.match(body.message, /rate limit exceeded/);
  });

  it("counts REST calls against one limit across both processes", async () => {
    const token = await newUser();
    const call = (server: SpawnedPlatform) =>
      fetch(`${server.baseUrl}/api/v1/organizations`, {
        headers: { authorization: `Bearer ${token}` },
      });
    for (let i = 0; i < MAX; i++) {
      const response = await call(i % 2 === 0 ? a : b);
      assert.equal(response.status, 200, `call ${i + 1}: ${await response.text()}`);
    }
    for (const server of [a, b]) {
      const refused = await call(server);
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { code: string }).code, "resource_exhausted");
    }
    // Another user is not held back.
    const other = await newUser();
    const response = await fetch(`${a.baseUrl}/api/v1/organizations`, {
      headers: { authorization: `Bearer ${other}` },
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
  });

  it("counts failed sign-in attempts by address across both processes", async () => {
    const codes: Code[] = [];
    for (let i = 0; i < MAX + 2; i++) {
      const guess = `obt_${randomBytes(32).toString("base64url")}`;
      try {
        await client(i % 2 === 0 ? a : b, AuthService, guess).whoAmI({});
        assert.fail("a made-up token was accepted");
      } catch (error) {
        codes.push(ConnectError.from(error).code);
      }
    }
    assert.deepEqual(codes.slice(0, MAX), Array(MAX).fill(Code.Unauthenticated));
    assert.deepEqual(codes.slice(MAX), [Code.ResourceExhausted, Code.ResourceExhausted]);
  });

  it("both stop cleanly", async () => {
    const codes = await Promise.all(servers.map((s) => s.stop()));
    assert.deepEqual(codes, [0, 0], servers.map((s) => s.output()).join("\n----\n"));
  });
});
