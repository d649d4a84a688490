/**
 * The platform services on a real Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379): the
 * shared contract, then what only a shared store can show: two replicas seeing each other.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { runContractSuite, waitFor } from "../src/platform/contract-suite.js";
import {
  createPlatformServices,
  type PlatformServices,
  rateLimitStoreOptions,
} from "../src/platform/index.js";
import { RedisBus } from "../src/platform/redis/bus.js";
import { closeRedis, openRedis, parseRedisUrl } from "../src/platform/redis/connection.js";

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const admin = new Redis(redisUrl);
after(() => admin.quit());

/** Deletes every key a test left under its prefix. */
async function cleanup(keyPrefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== "0");
}

async function keysUnder(keyPrefix: string): Promise<string[]> {
  const [, keys] = await admin.scan("0", "MATCH", `${keyPrefix}*`, "COUNT", 10_000);
  return keys;
}

runContractSuite("redis", (options) => createPlatformServices({ ...options, redisUrl }), {
  cleanup,
});

describe("platform services: redis only", () => {
  /** Two "replicas" of one installation: same prefix, separate connections. */
  async function replicas(t: TestContext, count = 2): Promise<PlatformServices[]> {
    const keyPrefix = `test:${randomBytes(6).toString("hex")}:`;
    const all = await Promise.all(
      Array.from({ length: count }, () =>
        createPlatformServices({ redisUrl, keyPrefix, queue: { backoffMs: 20 } }),
      ),
    );
    t.after(async () => {
      for (const services of all) await services.close();
      await cleanup(keyPrefix);
    });
    return all;
  }

  test("replicas share messages, cache invalidations, sessions and jobs", async (t) => {
    const [a, b] = (await replicas(t)) as [PlatformServices, PlatformServices];
    assert.equal(a.kind, "redis");

    const received: unknown[] = [];
    await b.bus.subscribe("deployments", (m) => void received.push(m));
    await a.bus.publish("deployments", { id: "d1", status: "running" });
    await waitFor("the other replica's message", () => received.length === 1);
    assert.deepEqual(received, [{ id: "d1", status: "running" }]);

    await a.cache.set("org:1:projects", ["web"]);
    assert.deepEqual(await b.cache.get("org:1:projects"), ["web"]);
    await b.cache.deletePrefix("org:1:");
    assert.equal(await a.cache.get("org:1:projects"), undefined);

    const session = await a.sessions.create({ userId: "u1" }, 5_000);
    assert.deepEqual(await b.sessions.get(session), { userId: "u1" });

    const ran: string[] = [];
    b.queue.process(async (job) => void ran.push(job.name));
    await a.queue.enqueue("deploy", { deploymentId: "d1" });
    await waitFor("the job on the other replica", () => ran.length === 1);
  });

  test("a subscription made while the connection is still in its handshake hears messages", async (t) => {
    // The moment ioredis says "connect": up, but its ready check (INFO) not yet sent. A SUBSCRIBE
    // written then put the connection in subscriber mode before the INFO, which Redis refused;
    // the connection came back without the subscription (src/platform/redis/bus.ts).
    const keyPrefix = `test:${randomBytes(6).toString("hex")}:`;
    const target = parseRedisUrl(redisUrl);
    const publisher = openRedis(target, { name: `${keyPrefix}main` });
    const subscriber = openRedis(target, { name: `${keyPrefix}bus` });
    const bus = new RedisBus(publisher, subscriber, keyPrefix);
    t.after(async () => {
      await bus.close();
      await closeRedis(publisher);
    });
    const heard: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      subscriber.once("connect", () => {
        assert.equal(subscriber.status, "connect");
        bus
          .subscribe("events", (message) => void heard.push(message))
          .then(() => resolve(), reject);
      });
    });
    // Messages sent now could still arrive on the doomed first connection: publish once the
    // connection is ready, which it is at once when the SUBSCRIBE waited for it.
    await waitFor("the subscriber to be ready", () => subscriber.status === "ready", 5_000);
    const deadline = Date.now() + 5_000;
    while (heard.length === 0) {
      assert.ok(Date.now() < deadline, "no message within 5 s: the subscription was lost");
      await bus.publish("events", "hello");
      await sleep(100);
    }
    assert.equal(heard[0], "hello");
  });

  test("nothing but the key prefix is written: session ids are stored hashed", async (t) => {
    const [services] = (await replicas(t, 1)) as [PlatformServices];
    const id = await services.sessions.create({ userId: "u1" }, 5_000);
    await services.cache.set("k", 1);
    await services.rateLimiter.consume("ip:127.0.0.1", 10, 5_000);
    const keys = await keysUnder(services.keyPrefix);
    assert.ok(keys.length >= 3);
    assert.ok(keys.every((key) => !key.includes(id)));
  });

  test("@fastify/rate-limit counts in Redis under our prefix, across replicas", async (t) => {
    const [a, b] = (await replicas(t)) as [PlatformServices, PlatformServices];
    const apps: FastifyInstance[] = [];
    for (const services of [a, b]) {
      const app = Fastify();
      await app.register(rateLimit, {
        max: 2,
        timeWindow: 5_000,
        ...rateLimitStoreOptions(services),
      });
      app.get("/", async () => "ok");
      apps.push(app);
    }
    t.after(() => Promise.all(apps.map((app) => app.close())));
    const codes = [];
    for (const app of [apps[0], apps[1], apps[0]]) {
      codes.push((await app?.inject({ method: "GET", url: "/" }))?.statusCode);
    }
    assert.deepEqual(codes, [200, 200, 429]);
    const keys = await keysUnder(`${a.keyPrefix}rate-limit:http:`);
    assert.equal(keys.length, 1);
  });

  test("close() closes every connection even when closing the queue fails, then reports it", async () => {
    const services = await createPlatformServices({
      redisUrl,
      keyPrefix: `test:${randomBytes(6).toString("hex")}:`,
    });
    // As a queue whose BullMQ never loaded: its close rejects.
    services.queue.close = () => Promise.reject(new Error("the queue could not close"));
    await assert.rejects(services.close(), /the queue could not close/);
    // QUIT answered, the connection ends a moment later.
    await waitFor("the commands connection to close", () => services.redis?.status === "end");
  });

  test("an unreachable Redis fails at start-up, without the password in the message", async () => {
    // The password where the user name goes, too: some write redis://password@host.
    for (const redisUrl of [
      "redis://:secret@127.0.0.1:1",
      "redis://admin:secret@127.0.0.1:1",
      "redis://secret@127.0.0.1:1",
    ]) {
      await assert.rejects(
        createPlatformServices({ redisUrl, connectTimeoutMs: 300 }),
        (error: Error) =>
          /does not answer/.test(error.message) && !error.message.includes("secret"),
        redisUrl,
      );
    }
  });
});
