/**
 * The behaviour every adapter set must have, run against the in-process adapters
 * (memory.test.ts) and a real Redis (test/platform-redis.test.ts). Test-only: not exported by
 * index.ts.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { notFound } from "../domain/index.js";
import { LeaderElector } from "./leader-elector.js";
import type { Job } from "./queue.js";
import type { PlatformServices, PlatformServicesOptions } from "./services.js";
import { subscribeIterable } from "./subscribe-iterable.js";

export type MakeServices = (
  options: Omit<PlatformServicesOptions, "redisUrl">,
) => Promise<PlatformServices>;

export interface ContractHooks {
  /** Removes whatever the services left under their key prefix, after they are closed. */
  cleanup?: (keyPrefix: string) => Promise<void>;
}

/** Polls until `check` holds; fails with `what` after timeoutMs. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 2_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function runContractSuite(name: string, make: MakeServices, hooks: ContractHooks = {}) {
  /** Fresh services in their own namespace, closed and cleaned up after the test. */
  async function open(
    t: TestContext,
    options: Omit<PlatformServicesOptions, "redisUrl" | "keyPrefix"> = {},
  ): Promise<PlatformServices> {
    const keyPrefix = `test:${randomBytes(6).toString("hex")}:`;
    const services = await make({
      keyPrefix,
      ...options,
      queue: { backoffMs: 20, maxBackoffMs: 200, ...options.queue },
    });
    t.after(async () => {
      await services.close();
      await hooks.cleanup?.(keyPrefix);
    });
    return services;
  }

  describe(`platform services: ${name}`, () => {
    test("ping answers and close is safe to call twice", async (t) => {
      const services = await open(t);
      await services.ping();
      await services.close();
      await services.close();
    });

    describe("cache", () => {
      test("get returns a copy of what set stored; a miss is undefined; stats count both", async (t) => {
        const { cache } = await open(t);
        const value = { name: "web", at: new Date(0), tags: ["a"] };
        await cache.set("org:1:project", value);
        value.tags.push("mutated after set");
        assert.deepEqual(await cache.get("org:1:project"), {
          name: "web",
          at: "1970-01-01T00:00:00.000Z",
          tags: ["a"],
        });
        assert.equal(await cache.get("org:1:missing"), undefined);
        assert.deepEqual(cache.stats(), { hits: 1, misses: 1 });
        await assert.rejects(cache.set("k", undefined), TypeError);
      });

      test("values expire after their TTL; the default TTL is configurable", async (t) => {
        const { cache } = await open(t, { cacheTtlMs: 150 });
        await cache.set("short", 1);
        await cache.set("long", 2, 2_000);
        await cache.set("dropped", 3);
        await cache.set("dropped", 4, 0);
        assert.equal(await cache.get("short"), 1);
        assert.equal(await cache.get("dropped"), undefined);
        await sleep(250);
        assert.equal(await cache.get("short"), undefined);
        assert.equal(await cache.get("long"), 2);
      });

      test("delete drops one key; deletePrefix drops a whole namespace and only it", async (t) => {
        const { cache } = await open(t);
        const keys = ["org:1:projects", "org:1:deployments:9", "org:10:projects", "org:2:projects"];
        for (const key of keys) await cache.set(key, key);
        await cache.set("other", "other");

        await cache.delete("org:2:projects");
        assert.equal(await cache.get("org:2:projects"), undefined);

        await cache.deletePrefix("org:1:");
        assert.equal(await cache.get("org:1:projects"), undefined);
        assert.equal(await cache.get("org:1:deployments:9"), undefined);
        assert.equal(await cache.get("org:10:projects"), "org:10:projects");

        // Written again after an invalidation: readable again.
        await cache.set("org:1:projects", "fresh");
        assert.equal(await cache.get("org:1:projects"), "fresh");

        await cache.deletePrefix("");
        assert.equal(await cache.get("org:10:projects"), undefined);
        assert.equal(await cache.get("other"), undefined);

        await assert.rejects(cache.deletePrefix("org:1"), TypeError);
      });
    });

    describe("bus", () => {
      test("every subscriber gets each message in order, until it unsubscribes", async (t) => {
        const { bus } = await open(t);
        const first: unknown[] = [];
        const second: unknown[] = [];
        const elsewhere: unknown[] = [];
        const unsubscribeFirst = await bus.subscribe("deployments", (m) => void first.push(m));
        const unsubscribeSecond = await bus.subscribe("deployments", (m) => void second.push(m));
        await bus.subscribe("builds", (m) => void elsewhere.push(m));

        for (let i = 1; i <= 3; i++) await bus.publish("deployments", { id: "d1", seq: i });
        await waitFor("both subscribers", () => first.length === 3 && second.length === 3);
        assert.deepEqual(
          first.map((m) => (m as { seq: number }).seq),
          [1, 2, 3],
        );
        assert.deepEqual(second, first);

        await unsubscribeFirst();
        await unsubscribeFirst();
        await bus.publish("deployments", { id: "d1", seq: 4 });
        await waitFor("the remaining subscriber", () => second.length === 4);
        await sleep(30);
        assert.equal(first.length, 3);
        assert.deepEqual(elsewhere, []);
        await unsubscribeSecond();
      });

      test("a failing handler does not keep the message from the others", async (t) => {
        const { bus } = await open(t);
        const received: unknown[] = [];
        await bus.subscribe("c", () => {
          throw new Error("handler bug");
        });
        await bus.subscribe("c", async () => {
          throw new Error("async handler bug");
        });
        await bus.subscribe("c", (m) => void received.push(m));
        await bus.publish("c", "hello");
        await waitFor("delivery", () => received.length === 1);
      });

      test("subscribeIterable yields the messages and ends when the signal aborts", async (t) => {
        const { bus } = await open(t);
        const controller = new AbortController();
        const stream = await subscribeIterable(bus, "status", { signal: controller.signal });
        const seen: unknown[] = [];
        const consumed = (async () => {
          for await (const message of stream) {
            seen.push(message);
            if (seen.length === 2) controller.abort();
          }
        })();
        await bus.publish("status", "queued");
        await bus.publish("status", "building");
        await consumed;
        assert.deepEqual(seen, ["queued", "building"]);
        assert.deepEqual(await stream.next(), { value: undefined, done: true });
      });

      test("subscribeIterable keeps the newest messages when the consumer is slow", async (t) => {
        const { bus } = await open(t);
        const stream = await subscribeIterable(bus, "metrics", { bufferSize: 3 });
        let delivered = 0;
        // Subscribed after the stream, so it hears each message after the stream did.
        await bus.subscribe("metrics", () => void delivered++);
        for (let i = 0; i < 10; i++) await bus.publish("metrics", i);
        await waitFor("all deliveries", () => delivered === 10);
        await sleep(20);
        assert.equal(stream.dropped, 7);
        const seen: unknown[] = [];
        for await (const message of stream) {
          seen.push(message);
          if (seen.length === 3) break; // calls return(): unsubscribes
        }
        assert.deepEqual(seen, [7, 8, 9]);
        await bus.publish("metrics", 10);
        assert.deepEqual(await stream.next(), { value: undefined, done: true });
      });
    });

    describe("queue", () => {
      test("a job runs with its name and data", async (t) => {
        const { queue } = await open(t);
        const jobs: Job[] = [];
        queue.process(async (job) => void jobs.push(job));
        const id = await queue.enqueue("deploy", { deploymentId: "d1" });
        await waitFor("the job", () => jobs.length === 1);
        assert.deepEqual(jobs[0], { id, name: "deploy", data: { deploymentId: "d1" }, attempt: 1 });
      });

      test("a failed job is retried with growing backoff, then succeeds", async (t) => {
        const { queue } = await open(t, { queue: { backoffMs: 40 } });
        const tries: { attempt: number; at: number }[] = [];
        let done = false;
        queue.process(async (job) => {
          tries.push({ attempt: job.attempt, at: Date.now() });
          if (job.attempt < 3) throw new Error("engine busy");
          done = true;
        });
        await queue.enqueue("deploy", {});
        await waitFor("success", () => done);
        assert.deepEqual(
          tries.map((x) => x.attempt),
          [1, 2, 3],
        );
        const [a, b, c] = tries.map((x) => x.at) as [number, number, number];
        // Equal jitter: at least half of 40 ms, then of 80 ms (less a timer's rounding).
        assert.ok(b - a >= 18, `first backoff ${b - a} ms`);
        assert.ok(c - b >= 38, `second backoff ${c - b} ms`);
      });

      test("a terminal error is not retried; other errors stop after the attempts", async (t) => {
        const { queue } = await open(t);
        const tries: Record<string, number> = {};
        queue.process(async (job) => {
          tries[job.name] = (tries[job.name] ?? 0) + 1;
          if (job.name === "terminal") throw notFound("deployment d1");
          throw new Error("still broken");
        });
        await queue.enqueue("terminal", {});
        await queue.enqueue("transient", {}, { attempts: 2 });
        await waitFor("both attempts", () => tries.transient === 2);
        await sleep(300);
        assert.deepEqual(tries, { terminal: 1, transient: 2 });
      });

      test("jobId deduplicates while the job is pending, and is free again afterwards", async (t) => {
        const { queue } = await open(t);
        const runs: string[] = [];
        queue.process(async (job) => void runs.push(job.id));
        const first = await queue.enqueue("deploy", { n: 1 }, { jobId: "deploy-d1", delayMs: 150 });
        const second = await queue.enqueue("deploy", { n: 2 }, { jobId: "deploy-d1" });
        assert.equal(first, "deploy-d1");
        assert.equal(second, "deploy-d1");
        await waitFor("the job", () => runs.length === 1);
        await sleep(100);
        assert.deepEqual(runs, ["deploy-d1"]);
        // Removal of a finished job may trail its handler by a moment (BullMQ): retry briefly.
        const deadline = Date.now() + 2_000;
        while (runs.length < 2 && Date.now() < deadline) {
          await queue.enqueue("deploy", { n: 3 }, { jobId: "deploy-d1" });
          await sleep(50);
        }
        assert.equal(runs.length, 2);
      });

      test("delayMs postpones a job", async (t) => {
        const { queue } = await open(t);
        let ranAt = 0;
        queue.process(async () => {
          ranAt = Date.now();
        });
        const enqueuedAt = Date.now();
        await queue.enqueue("later", {}, { delayMs: 250 });
        await waitFor("the delayed job", () => ranAt > 0);
        assert.ok(ranAt - enqueuedAt >= 240, `ran after ${ranAt - enqueuedAt} ms`);
      });

      test("no more than `concurrency` jobs run at once", async (t) => {
        const { queue } = await open(t);
        let running = 0;
        let peak = 0;
        let finished = 0;
        queue.process(
          async () => {
            running++;
            peak = Math.max(peak, running);
            await sleep(80);
            running--;
            finished++;
          },
          { concurrency: 2 },
        );
        for (let i = 0; i < 5; i++) await queue.enqueue("build", { i });
        await waitFor("all jobs", () => finished === 5, 3_000);
        assert.equal(peak, 2);
      });

      test("invalid options are refused by both adapters alike", async (t) => {
        const { queue } = await open(t);
        await assert.rejects(queue.enqueue("deploy", {}, { jobId: "deploy:d1" }), TypeError);
        await assert.rejects(queue.enqueue("deploy", {}, { jobId: "42" }), TypeError);
        await assert.rejects(queue.enqueue("deploy", {}, { attempts: 0 }), TypeError);
        await assert.rejects(queue.enqueue("", {}), TypeError);
        assert.throws(() => queue.process(async () => {}, { concurrency: 0 }), TypeError);
      });
    });

    test("rate limiter: allows `limit` hits per window, then refuses until it resets", async (t) => {
      const { rateLimiter } = await open(t);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await rateLimiter.consume("login:alice", 3, 300));
      assert.deepEqual(
        results.map((r) => [r.allowed, r.remaining]),
        [
          [true, 2],
          [true, 1],
          [true, 0],
          [false, 0],
        ],
      );
      for (const r of results) assert.ok(r.resetMs > 0 && r.resetMs <= 300, `resetMs ${r.resetMs}`);
      assert.equal((await rateLimiter.consume("login:bob", 3, 300)).allowed, true);
      await sleep(350);
      const renewed = await rateLimiter.consume("login:alice", 3, 300);
      assert.deepEqual([renewed.allowed, renewed.remaining], [true, 2]);
      assert.ok(renewed.resetMs > 250, `a new window: resetMs ${renewed.resetMs}`);
    });

    test("sessions: create, get, touch, expire, destroy", async (t) => {
      const { sessions } = await open(t);
      const id = await sessions.create({ userId: "u1" }, 300);
      assert.match(id, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(await sessions.create({ userId: "u1" }, 300), id);
      assert.deepEqual(await sessions.get(id), { userId: "u1" });

      await sleep(100);
      assert.equal(await sessions.touch(id, 600), true);
      await sleep(300); // past the first TTL, within the touched one
      assert.deepEqual(await sessions.get(id), { userId: "u1" });
      await sleep(400);
      assert.equal(await sessions.get(id), undefined);
      assert.equal(await sessions.touch(id, 600), false);

      const other = await sessions.create({ userId: "u2" }, 5_000);
      await sessions.destroy(other);
      assert.equal(await sessions.get(other), undefined);
      await sessions.destroy(other);
    });

    describe("leader lock", () => {
      test("one owner at a time; only the owner renews or releases; expiry frees it", async (t) => {
        const { lock } = await open(t);
        assert.equal(await lock.tryAcquire("controller", "a", 200), true);
        assert.equal(await lock.tryAcquire("controller", "a", 200), true);
        assert.equal(await lock.tryAcquire("controller", "b", 200), false);
        assert.equal(await lock.renew("controller", "b", 200), false);
        await lock.release("controller", "b");
        assert.equal(await lock.tryAcquire("controller", "b", 200), false);
        assert.equal(await lock.renew("controller", "a", 200), true);
        await lock.release("controller", "a");
        assert.equal(await lock.tryAcquire("controller", "b", 200), true);
        await sleep(250);
        assert.equal(await lock.renew("controller", "b", 200), false);
        assert.equal(await lock.tryAcquire("controller", "a", 200), true);
      });

      test("two electors: one leader; when it closes the other takes over within the TTL", async (t) => {
        const { lock } = await open(t);
        const ttlMs = 300;
        const events: string[] = [];
        const elector = (id: string) =>
          new LeaderElector({
            lock,
            name: "controller",
            ownerId: id,
            ttlMs,
            onElected: () => void events.push(`${id} elected`),
            onDemoted: () => void events.push(`${id} demoted`),
          });
        const a = elector("a");
        const b = elector("b");
        t.after(() => Promise.all([a.close(), b.close()]));
        a.start();
        b.start();
        await waitFor("a leader", () => a.isLeader || b.isLeader);
        await sleep(ttlMs * 1.5); // several renewals: the leadership stays put
        assert.equal(events.length, 1);
        const [leader, follower] = a.isLeader ? [a, b] : [b, a];
        assert.equal(follower.isLeader, false);

        const closedAt = Date.now();
        await leader.close();
        await leader.close();
        assert.equal(leader.isLeader, false);
        await waitFor("the takeover", () => follower.isLeader, ttlMs);
        assert.ok(Date.now() - closedAt <= ttlMs);
        assert.equal(events.length, 3);
        assert.match(events[1] ?? "", /demoted$/);
        assert.match(events[2] ?? "", /elected$/);
      });

      test("an elector that loses its lease is demoted", async (t) => {
        const { lock } = await open(t);
        let demoted = false;
        const elector = new LeaderElector({
          lock,
          name: "controller",
          ownerId: "a",
          ttlMs: 150,
          onDemoted: () => {
            demoted = true;
          },
        });
        t.after(() => elector.close());
        elector.start();
        await waitFor("election", () => elector.isLeader);
        // Another process takes the lock, as if a's lease had run out during a pause.
        await lock.release("controller", "a");
        assert.equal(await lock.tryAcquire("controller", "intruder", 10_000), true);
        await waitFor("demotion", () => demoted, 150);
        assert.equal(elector.isLeader, false);
      });
    });
  });
}
