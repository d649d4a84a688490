/**
 * The platform services behind Redis Sentinel (REDIS_URL=redis+sentinel://…/NAME), on real
 * processes this test starts on loopback (test/helpers/redis-sentinel.ts: a master, two replicas,
 * three Sentinels): the shared contract, then failovers while the services work:
 * - the master killed: the Sentinels promote a replica; the queue, cache, bus, locks and rate
 *   limits carry on without a restart, and every job whose enqueue was acknowledged runs;
 * - the master frozen (it answers nothing and closes nothing, as behind a partition): the
 *   clients move when the Sentinels announce the new master;
 * - a failover the Sentinels are asked for (the old master stays up, demoted to a replica): the
 *   open connections move to the new master, and no job acknowledged outside the failover's
 *   window is lost;
 * and, on a Redis with the append-only file (as the stack runs it), jobs waiting in the queue are
 * still there after Redis restarts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { runContractSuite, waitFor } from "../src/platform/contract-suite.js";
import { createPlatformServices, type PlatformServices } from "../src/platform/index.js";
import { LeaderElector } from "../src/platform/leader-elector.js";
import { closeRedis, openRedis, parseRedisUrl } from "../src/platform/redis/connection.js";
import {
  ask,
  freePort,
  holdingProxy,
  type SentinelSet,
  sentinelSkipReason,
  startSentinelSet,
} from "./helpers/redis-sentinel.js";

const skip = sentinelSkipReason();

describe("Redis Sentinel", { skip: skip ?? false }, () => {
  let set: SentinelSet;
  before(async () => {
    set = await startSentinelSet();
  });
  after(async () => {
    await set?.close();
  });

  /** Deletes what a test left under its prefix, on the current master. */
  async function cleanup(keyPrefix: string): Promise<void> {
    const client = new Redis({ port: await set.masterPort(), host: "127.0.0.1" });
    try {
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await client.unlink(...keys);
      } while (cursor !== "0");
    } finally {
      client.disconnect();
    }
  }

  describe("contract", () => {
    runContractSuite(
      "redis sentinel",
      (options) => createPlatformServices({ ...options, redisUrl: set.url }),
      { cleanup },
    );
  });

  /**
   * Everything the platform keeps in Redis, working at once: a producer enqueueing jobs (keeping
   * the ids whose enqueue was acknowledged), a worker running them, a cache writer, a bus
   * subscriber, a leader elector, a rate limiter. Returns what each saw, once stopped.
   */
  async function underLoad(keyPrefix: string) {
    const producer = await createPlatformServices({
      redisUrl: set.url,
      keyPrefix,
      queue: { backoffMs: 20, maxBackoffMs: 200 },
    });
    const worker = await createPlatformServices({
      redisUrl: set.url,
      keyPrefix,
      queue: { backoffMs: 20, maxBackoffMs: 200 },
    });
    /** Enqueues acknowledged: when each was sent (at) and acknowledged (doneAt). */
    const acknowledged: Array<{ seq: number; at: number; doneAt: number }> = [];
    const refused: Array<{ at: number; error: string }> = [];
    const ran = new Set<number>();
    worker.queue.process(async (job) => void ran.add(Number(job.data.seq)), { concurrency: 4 });
    const heard: number[] = [];
    await worker.bus.subscribe("events", (message) => void heard.push(Number(message)));
    const elector = new LeaderElector({
      lock: worker.lock,
      name: "controller",
      ownerId: "a",
      ttlMs: 15_000,
    });
    elector.start();
    await waitFor("the elector to lead", () => elector.isLeader, 5_000);
    let stopped = false;
    const loop = (async () => {
      let seq = 0;
      while (!stopped) {
        seq++;
        const at = performance.now();
        try {
          await producer.queue.enqueue("work", { seq });
          acknowledged.push({ seq, at, doneAt: performance.now() });
        } catch (error) {
          refused.push({ at, error: error instanceof Error ? error.message : String(error) });
          await sleep(50);
        }
        await sleep(10);
      }
    })();
    return {
      producer,
      worker,
      elector,
      acknowledged,
      refused,
      ran,
      heard,
      async stop() {
        stopped = true;
        await loop;
      },
      async close() {
        stopped = true;
        // An enqueue stuck on a master that never answers must not keep the test from ending.
        await Promise.race([loop, sleep(5_000)]);
        await elector.close();
        await producer.close();
        await worker.close();
        await cleanup(keyPrefix);
      },
    };
  }

  /** After a failover: each service answers, and messages go from one process to the other. */
  async function everythingWorks(load: Awaited<ReturnType<typeof underLoad>>, tag: string) {
    const { producer, worker, heard } = load;
    // The new master refuses writes (NOREPLICAS) until a replica has its copy of it: that is the
    // Sentinels' recovery, not the platform's, and the checks below start once it is done.
    await set.writable();
    await producer.cache.set(`after-${tag}`, { ok: true });
    assert.deepEqual(await worker.cache.get(`after-${tag}`), { ok: true });
    // Pub/sub keeps nothing for a subscriber that is still re-subscribing on the new master: a
    // message published before it is back is gone, so publish until one arrives.
    const marker = 1_000_000 + heard.length;
    const deadline = Date.now() + 15_000;
    while (!heard.includes(marker)) {
      assert.ok(Date.now() < deadline, `no bus message arrived within 15 s after the ${tag}`);
      await producer.bus.publish("events", marker);
      await sleep(250);
    }
    const limited = await producer.rateLimiter.consume(`after-${tag}`, 1, 5_000);
    assert.equal(limited.allowed, true);
    assert.equal((await worker.rateLimiter.consume(`after-${tag}`, 1, 5_000)).allowed, false);
    assert.equal(await producer.lock.tryAcquire(`after-${tag}`, "x", 5_000), true);
    assert.equal(await worker.lock.tryAcquire(`after-${tag}`, "y", 5_000), false);
    assert.equal(
      await worker.lock.renew("controller", "a", 15_000),
      true,
      "the leader's lease renews",
    );
  }

  test("the master killed: a replica takes over; nothing acknowledged is lost", async (t) => {
    await set.settled();
    const load = await underLoad(`test:sentinel-kill:${Date.now()}:`);
    t.after(() => load.close());
    await waitFor("jobs to flow", () => load.ran.size > 20, 10_000);
    const oldMaster = await set.masterPort();
    const killedAt = performance.now();
    set.kill(oldMaster);

    let promotedAt = 0;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const port = await set.masterPort().catch(() => oldMaster);
      if (port !== oldMaster) {
        promotedAt = performance.now();
        break;
      }
      await sleep(50);
    }
    assert.ok(promotedAt > 0, "the Sentinels promoted a replica within 30 s");
    await waitFor(
      "an acknowledged enqueue after the promotion",
      () => load.acknowledged.some((a) => a.at > promotedAt),
      20_000,
    );
    // Writes wait in the clients' queues during the failover: when the first one sent after the
    // kill was acknowledged is when the platform could write again.
    const firstAfter = load.acknowledged.find((a) => a.at > killedAt)?.doneAt ?? 0;
    await sleep(1_000);
    await load.stop();
    await everythingWorks(load, "kill");
    assert.ok(load.elector.isLeader, "the leader kept its lease through the failover");
    // Every acknowledged job runs (the worker follows the new master too).
    const missing = () => load.acknowledged.filter((a) => !load.ran.has(a.seq));
    await waitFor("every acknowledged job to run", () => missing().length === 0, 20_000).catch(() =>
      assert.fail(`${missing().length} acknowledged jobs never ran`),
    );
    const refusedAfterKill = load.refused.filter((r) => r.at > killedAt);
    console.log(
      `Sentinel failover (master killed): a replica promoted ${Math.round(promotedAt - killedAt)} ms after the kill, the first enqueue sent after the kill acknowledged ${Math.round(firstAfter - killedAt)} ms after it; ${load.acknowledged.length} jobs acknowledged, all ran; ${refusedAfterKill.length} enqueues refused during the failover (not acknowledged)`,
    );

    // The old master comes back (as a master, by its configuration): the Sentinels make it a
    // replica of the new one.
    await set.restart(oldMaster);
    const roleDeadline = Date.now() + 30_000;
    let role = "";
    while (Date.now() < roleDeadline) {
      role = await set.role(oldMaster).catch(() => "");
      if (role === "slave") break;
      await sleep(200);
    }
    assert.equal(role, "slave", "the returning node replicates the new master");
  });

  test("a master that stops answering: the clients move when the Sentinels fail over", async (t) => {
    // A frozen master (SIGSTOP: as a node behind a network partition) closes no connection and
    // answers no command: the clients learn of the new master from the Sentinels only.
    await set.settled();
    const load = await underLoad(`test:sentinel-freeze:${Date.now()}:`);
    t.after(() => load.close());
    await waitFor("jobs to flow", () => load.ran.size > 20, 10_000);
    const oldMaster = await set.masterPort();
    const frozenAt = performance.now();
    set.freeze(oldMaster);
    t.after(() => set.thaw(oldMaster));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await set.masterPort()) === oldMaster) await sleep(50);
    assert.notEqual(await set.masterPort(), oldMaster, "the Sentinels promoted a replica");
    const promotedAt = performance.now();
    await waitFor(
      "an enqueue sent after the promotion to be acknowledged",
      () => load.acknowledged.some((a) => a.at > promotedAt),
      15_000,
    ).catch(() => assert.fail("the clients stayed with the frozen master"));
    const firstAfter = load.acknowledged.find((a) => a.at > frozenAt)?.doneAt ?? 0;
    await load.stop();
    await everythingWorks(load, "freeze");
    const missing = () => load.acknowledged.filter((a) => !load.ran.has(a.seq));
    await waitFor("every acknowledged job to run", () => missing().length === 0, 20_000).catch(() =>
      assert.fail(`${missing().length} acknowledged jobs never ran`),
    );
    console.log(
      `Sentinel failover (master frozen): a replica promoted ${Math.round(promotedAt - frozenAt)} ms after the freeze, the first enqueue sent after it acknowledged ${Math.round(firstAfter - frozenAt)} ms after it`,
    );
    // Thawed, the old master learns it is a replica now.
    set.thaw(oldMaster);
    const roleDeadline = Date.now() + 30_000;
    let role = "";
    while (Date.now() < roleDeadline) {
      role = await set.role(oldMaster).catch(() => "");
      if (role === "slave") break;
      await sleep(200);
    }
    assert.equal(role, "slave");
  });

  test("one client through failovers one after another: it follows each, its duplicates too", async (t) => {
    // Several failovers in one client's life, as a long-running platform process sees them.
    // It does not reproduce, on loopback, ioredis 5's race that ends a Sentinel client for good
    // when +switch-master arrives during a reconnect (docs/ha.md, "Redis": open).
    const client = openRedis(parseRedisUrl(set.url), { name: "obt-rounds" });
    const blocking = (client as Redis).duplicate({ connectionName: "obt-rounds-dup" });
    // As BullMQ does with its duplicates; the commands below report what fails.
    blocking.on("error", () => {});
    t.after(async () => {
      await closeRedis(blocking);
      await closeRedis(client);
    });
    const key = `test:sentinel-rounds:${Date.now()}`;
    for (let round = 1; round <= 4; round++) {
      await set.settled();
      await set.writable();
      const master = await set.masterPort();
      set.kill(master);
      const killedAt = Date.now();
      for (const [name, c] of [
        ["client", client],
        ["duplicate", blocking],
      ] as const) {
        let last = "";
        const written = await (async () => {
          while (Date.now() - killedAt < 30_000) {
            try {
              await c.set(`${key}:${name}`, String(round));
              return true;
            } catch (error) {
              last = `${String(error)} (status ${c.status})`;
              await sleep(200);
            }
          }
          return false;
        })();
        assert.ok(
          written,
          `round ${round}: the ${name} writes again after the failover; last: ${last}`,
        );
      }
      await set.restart(master);
    }
  });

  test("+switch-master while a client connects again: it still reaches the new master, its duplicate too", async (t) => {
    // ioredis 5's failover detector, on +switch-master, disconnects the connector; a connection
    // attempt in flight then ends with "Connection is closed." and the client with it, for good
    // (openRedis guards against it). On loopback that window is milliseconds wide: here the
    // Sentinel the clients ask first holds its answers, so the announcement always comes while
    // they wait for one.
    await set.settled();
    await set.writable();
    const proxy = await holdingProxy(set.sentinelPorts[0] ?? 0);
    t.after(() => proxy.close());
    const url = `redis+sentinel://127.0.0.1:${proxy.port}/${set.name}`;
    /** Clients subscribed on the Sentinels (failover detectors), all three counted. */
    const subscribed = async () => {
      let count = 0;
      for (const port of set.sentinelPorts) {
        const list = await ask(port, (c) => c.call("CLIENT", "LIST") as Promise<string>);
        count += list.split("\n").filter((line) => / sub=[1-9]/.test(line)).length;
      }
      return count;
    };
    /** Polls an asynchronous check every 100 ms until it holds. */
    const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await sleep(100);
      }
    };
    const before = await subscribed();
    const client = openRedis(parseRedisUrl(url), { name: "obt-held" }) as Redis;
    const duplicate = client.duplicate({ connectionName: "obt-held-dup" });
    duplicate.on("error", () => {});
    t.after(async () => {
      proxy.release();
      await closeRedis(duplicate);
      await closeRedis(client);
    });
    const key = `test:sentinel-held:${Date.now()}`;
    await client.set(`${key}:client`, "before");
    await duplicate.set(`${key}:duplicate`, "before");
    // Each detector subscribes on the three Sentinels once its connection is up.
    await until(
      "both failover detectors subscribed",
      async () => (await subscribed()) >= before + 6,
      10_000,
    );

    proxy.hold();
    const oldMaster = await set.masterPort();
    // Drop both connections on the master: each connects again, asking the held Sentinel first.
    await ask(oldMaster, async (c) => {
      const list = String(await c.call("CLIENT", "LIST"));
      for (const line of list.split("\n")) {
        const [, id, name] = /^id=(\d+) .* name=(\S*)/.exec(line) ?? [];
        if (id && (name === "obt-held" || name === "obt-held-dup")) {
          await c.call("CLIENT", "KILL", "ID", id);
        }
      }
    });
    await waitFor(
      "both clients connecting again, waiting on the held Sentinel",
      () => client.status === "connecting" && duplicate.status === "connecting",
      5_000,
    );
    await set.failover();
    await until(
      "the Sentinels to switch masters",
      async () => (await set.masterPort()) !== oldMaster,
      30_000,
    );
    // The detectors heard +switch-master and let go of their subscriptions.
    await until(
      "both failover detectors to hear +switch-master",
      async () => (await subscribed()) <= before,
      10_000,
    );
    proxy.release();

    for (const [name, c] of [
      ["client", client],
      ["duplicate", duplicate],
    ] as const) {
      let last = "";
      const deadline = Date.now() + 20_000;
      let written = false;
      while (!written && Date.now() < deadline) {
        try {
          await c.set(`${key}:${name}`, "after");
          written = true;
        } catch (error) {
          last = `${String(error)} (status ${c.status})`;
          await sleep(200);
        }
      }
      assert.ok(written, `the ${name} writes again after the failover; last: ${last}`);
    }
    assert.notEqual(await set.masterPort(), oldMaster);
  });

  test("a failover with the old master alive: connections move, no READONLY", async (t) => {
    await set.settled();
    const load = await underLoad(`test:sentinel-switch:${Date.now()}:`);
    t.after(() => load.close());
    await waitFor("jobs to flow", () => load.ran.size > 20, 10_000);
    const oldMaster = await set.masterPort();
    const startedAt = performance.now();
    await set.failover();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await set.masterPort()) === oldMaster) await sleep(50);
    assert.notEqual(await set.masterPort(), oldMaster, "the Sentinels switched masters");
    const switchedAt = performance.now();
    await waitFor(
      "an acknowledged enqueue after the switch",
      () => load.acknowledged.some((a) => a.at > switchedAt + 500),
      20_000,
    ).catch(() =>
      assert.fail(
        `no enqueue acknowledged after the switch; last errors: ${load.refused
          .slice(-3)
          .map((r) => r.error)
          .join(" | ")}`,
      ),
    );
    await load.stop();
    await everythingWorks(load, "switch");
    // One window Redis cannot close: from the promotion until the old master, still up, is made
    // a replica of the new one, the old master takes writes and its other replica acknowledges
    // them; both then copy the new master and drop them (docs/ha.md, "Redis"). A job is lost
    // only if it was acknowledged in that window: sent after the failover was asked for, and
    // acknowledged before the clients could have moved (the switch, plus a second).
    const missing = () => load.acknowledged.filter((a) => !load.ran.has(a.seq));
    await waitFor("every acknowledged job to run", () => missing().length === 0, 20_000).catch(
      () => undefined,
    );
    const outsideWindow = missing().filter(
      (a) => a.at < startedAt || a.doneAt > switchedAt + 1_000,
    );
    assert.deepEqual(outsideWindow, [], "acknowledged jobs lost outside the failover's window");
    console.log(
      `Sentinel failover (asked for): masters switched ${Math.round(switchedAt - startedAt)} ms after SENTINEL FAILOVER; ${load.refused.filter((r) => r.at > startedAt).length} enqueues refused meanwhile; ${missing().length} acknowledged in the window lost`,
    );
  });
});

describe("Redis with the append-only file: jobs survive a restart", { skip: skip ?? false }, () => {
  test("waiting and delayed jobs are there after a restart, and after a kill", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "obiente-aof-"));
    const port = await freePort();
    let server: ReturnType<typeof spawn> | undefined;
    const start = async () => {
      server = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""]
          // What the stack's redis image runs with.
          .concat(["--appendonly", "yes", "--appendfsync", "everysec"]),
        { stdio: "ignore" },
      );
      const deadline = Date.now() + 10_000;
      for (;;) {
        const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
        probe.on("error", () => undefined); // refused while the server starts
        try {
          await probe.connect();
          // Loading the AOF answers LOADING: wait for it to finish.
          await probe.ping();
          return;
        } catch {
          if (Date.now() > deadline) throw new Error("redis-server did not start");
          await sleep(50);
        } finally {
          probe.disconnect();
        }
      }
    };
    const stop = async (signal: NodeJS.Signals) => {
      const exited = new Promise((resolve) => server?.once("exit", resolve));
      server?.kill(signal);
      await exited;
    };
    t.after(async () => {
      if (server?.exitCode === null) await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    });
    await start();
    const url = `redis://127.0.0.1:${port}`;
    const prefix = "obiente-aof-test:";
    const counts = async () => {
      // BullMQ's own view of the queue the platform's adapter writes ("jobs", under our prefix).
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      const queue = new Queue("jobs", { connection, prefix: `${prefix}{bullmq}` });
      try {
        return await queue.getJobCounts("waiting", "delayed");
      } finally {
        await queue.close();
        connection.disconnect();
      }
    };

    let services: PlatformServices = await createPlatformServices({
      redisUrl: url,
      keyPrefix: prefix,
    });
    for (let i = 0; i < 5; i++) await services.queue.enqueue("now", { i });
    for (let i = 0; i < 5; i++) await services.queue.enqueue("later", { i }, { delayMs: 600_000 });
    await services.close();
    assert.deepEqual(await counts(), { waiting: 5, delayed: 5 });

    await stop("SIGTERM");
    await start();
    assert.deepEqual(await counts(), { waiting: 5, delayed: 5 }, "after a restart");

    services = await createPlatformServices({ redisUrl: url, keyPrefix: prefix });
    await services.queue.enqueue("now", { i: 5 });
    await services.close();
    // appendfsync everysec: what was written more than a second before a crash is on disk.
    await sleep(1_500);
    await stop("SIGKILL");
    await start();
    assert.deepEqual(await counts(), { waiting: 6, delayed: 5 }, "after a kill");

    // And they run.
    services = await createPlatformServices({ redisUrl: url, keyPrefix: prefix });
    const ran: string[] = [];
    services.queue.process(async (job) => void ran.push(job.name), { concurrency: 4 });
    await waitFor("the waiting jobs", () => ran.length === 6, 10_000);
    await services.close();
  });
});
