/**
 * Real Redis processes on loopback for the Sentinel tests, from Debian's redis-server and
 * redis-sentinel: a master, two replicas and three Sentinels (quorum 2), configured as the stack's
 * redis image configures its members (append-only file, a master refuses writes without a
 * replica). Ports are free ones picked at start; everything lives in a temporary folder and is
 * stopped (by the processes' own ids) and removed by close().
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

export function sentinelSkipReason(): string | undefined {
  for (const tool of ["redis-server", "redis-sentinel"]) {
    if (spawnSync(tool, ["--version"], { stdio: "ignore" }).status !== 0) {
      return `${tool} is missing (Debian: redis-server, redis-sentinel)`;
    }
  }
  return undefined;
}

/** A port nothing listens on now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface RedisNode {
  port: number;
  process: ChildProcess | undefined;
  dir: string;
}

export interface SentinelSet {
  /** redis+sentinel://127.0.0.1:S1,…/NAME */
  url: string;
  name: string;
  nodes: RedisNode[];
  sentinelPorts: number[];
  /** The master's port, as the first Sentinel that answers says. */
  masterPort(): Promise<number>;
  /** The role a node reports (master, slave). */
  role(port: number): Promise<string>;
  /** SIGKILL the node's redis-server. */
  kill(port: number): void;
  /** SIGSTOP / SIGCONT the node's redis-server: a node that stops answering, as behind a partition. */
  freeze(port: number): void;
  thaw(port: number): void;
  /** Starts a killed node again with its first configuration (the master's: as a master). */
  restart(port: number): Promise<void>;
  /** Asks the Sentinels to fail over now (the master stays up and is demoted). */
  failover(): Promise<void>;
  /**
   * Waits until the set is whole again: every node up (a killed one restarted, a frozen one
   * thawed), every replica done with its copy of the current master (state=online), the master
   * counting them as good, and the Sentinels knowing each other and every replica. A failover
   * started before then may promote a replica still in the middle of its first copy, which lacks
   * what was written meanwhile (Redis replicates asynchronously); the tests start from here.
   */
  settled(timeoutMs?: number): Promise<void>;
  /**
   * Waits until the master the Sentinels name takes writes: it has a good replica again
   * (min-replicas-to-write), which after a failover is once a replica has its copy of it.
   */
  writable(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      retryStrategy: () => null,
    });
    client.on("error", () => undefined); // a refused connection while the server starts
    try {
      await client.connect();
      await client.ping();
      return;
    } catch {
      await sleep(50);
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`redis on 127.0.0.1:${port} did not answer within ${timeoutMs} ms`);
}

/** One command (or a few) on a fresh connection to 127.0.0.1:port, closed afterwards. */
export async function ask<T>(port: number, command: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: "127.0.0.1", retryStrategy: () => null });
  client.on("error", () => undefined); // reported by the command's rejection
  try {
    return await command(client);
  } finally {
    client.disconnect();
  }
}

export async function startSentinelSet(
  options: { downAfterMs?: number; replicas?: number } = {},
): Promise<SentinelSet> {
  const root = mkdtempSync(join(tmpdir(), "obiente-sentinel-"));
  const name = `obt-${randomBytes(4).toString("hex")}`;
  const downAfterMs = options.downAfterMs ?? 1_000;
  const nodes: RedisNode[] = [];
  const sentinels: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
  const args = new Map<number, string[]>();

  const start = (node: RedisNode) => {
    const child = spawn("redis-server", args.get(node.port) ?? [], { stdio: "ignore" });
    node.process = child;
  };
  const close = async () => {
    for (const child of [...sentinels, ...nodes.map((n) => n.process)]) {
      if (child && child.exitCode === null && child.signalCode !== "SIGKILL") child.kill("SIGKILL");
    }
    await sleep(100);
    rmSync(root, { recursive: true, force: true });
  };

  try {
    const replicas = options.replicas ?? 2;
    for (let i = 0; i <= replicas; i++) {
      const port = await freePort();
      const dir = join(root, `redis-${port}`);
      mkdirSync(dir);
      const node: RedisNode = { port, process: undefined, dir };
      const master = nodes[0];
      args.set(port, [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "10",
        // As the stack's image: a replica's full copy starts at once (Redis 7 waits 5 s by
        // default, for more replicas to share it), so a new master takes writes sooner.
        "--repl-diskless-sync-delay",
        "0",
        ...(master ? ["--replicaof", "127.0.0.1", String(master.port)] : []),
      ]);
      nodes.push(node);
      start(node);
      await waitForPing(port);
    }
    const masterPort = nodes[0]?.port ?? 0;
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(root, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${root}`,
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      sentinels.push(spawn("redis-sentinel", [file], { stdio: "ignore" }));
      sentinelPorts.push(port);
      await waitForPing(port);
    }
    /** What is still missing before the set is whole, or undefined once it is. */
    const missing = async (): Promise<string | undefined> => {
      const known = await ask(sentinelPorts[0] ?? 0, async (client) => {
        const master = (await client.call("SENTINEL", "MASTER", name)) as string[];
        const field = (key: string) => master[master.indexOf(key) + 1] ?? "";
        const listed = (await client.call("SENTINEL", "REPLICAS", name)) as string[][];
        const healthy = listed.filter((r) => {
          const flags = r[r.indexOf("flags") + 1] ?? "";
          return !/s_down|o_down|disconnected/.test(flags);
        });
        return {
          port: Number(field("port")),
          sentinels: Number(field("num-other-sentinels")),
          replicas: healthy.length,
        };
      }).catch(() => undefined);
      if (!known) return "the first Sentinel does not answer";
      if (known.sentinels < 2) return `the Sentinels know ${known.sentinels} others`;
      if (known.replicas < replicas) return `the Sentinels see ${known.replicas} healthy replicas`;
      const info = await ask(known.port, (client) => client.info("replication")).catch(() => "");
      const online = info.match(/^slave\d+:.*state=online.*$/gm)?.length ?? 0;
      const good = Number(/min_slaves_good_slaves:(\d+)/.exec(info)?.[1] ?? 0);
      if (online < replicas || good < replicas) {
        return `the master on ${known.port} has ${online} replicas online, ${good} good`;
      }
      return undefined;
    };
    const settled = async (timeoutMs = 30_000) => {
      for (const node of nodes) {
        const child = node.process;
        if (child && child.exitCode === null && child.signalCode === null) {
          child.kill("SIGCONT");
        } else {
          start(node);
          await waitForPing(node.port);
        }
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const what = await missing();
        if (what === undefined) return;
        if (Date.now() > deadline) throw new Error(`the Sentinel set did not settle: ${what}`);
        await sleep(200);
      }
    };
    // Until the replicas have their first copy, the master refuses writes (min-replicas-to-write).
    await settled(20_000);

    const set: SentinelSet = {
      url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(",")}/${name}`,
      name,
      nodes,
      sentinelPorts,
      async masterPort() {
        for (const port of sentinelPorts) {
          try {
            const answer = (await ask(port, (client) =>
              client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name),
            )) as [string, string] | null;
            if (answer) return Number(answer[1]);
          } catch {
            // the next Sentinel
          }
        }
        throw new Error("no Sentinel answered");
      },
      async role(port) {
        return ask(port, async (client) => ((await client.call("ROLE")) as string[])[0] ?? "");
      },
      kill(port) {
        const node = nodes.find((n) => n.port === port);
        node?.process?.kill("SIGKILL");
      },
      freeze(port) {
        nodes.find((n) => n.port === port)?.process?.kill("SIGSTOP");
      },
      thaw(port) {
        nodes.find((n) => n.port === port)?.process?.kill("SIGCONT");
      },
      async restart(port) {
        const node = nodes.find((n) => n.port === port);
        if (!node) throw new Error(`no node on ${port}`);
        start(node);
        await waitForPing(port);
      },
      async failover() {
        await ask(sentinelPorts[0] ?? 0, (client) => client.call("SENTINEL", "FAILOVER", name));
      },
      settled,
      async writable(timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const port = await set.masterPort().catch(() => 0);
          const info = await ask(port, (client) => client.info("replication")).catch(() => "");
          const good = Number(/min_slaves_good_slaves:(\d+)/.exec(info)?.[1] ?? 0);
          if (/role:master/.test(info) && good >= 1) return;
          if (Date.now() > deadline) throw new Error(`the master on ${port} takes no writes`);
          await sleep(100);
        }
      },
      close,
    };
    return set;
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A TCP proxy to a Sentinel that can hold its answers: connections opened while it holds get
 * nothing back until release() (what they send goes through at once). Connections opened before
 * hold() are untouched: a client's failover detector, subscribed earlier, still hears the
 * Sentinels while a connection attempt of the same client waits here for its answer.
 */
export interface HoldingProxy {
  port: number;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function holdingProxy(targetPort: number): Promise<HoldingProxy> {
  let holding = false;
  let held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      // Either side closing (or failing) closes the other.
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on("end", () => {
        client.end();
        upstream.end();
      });
    }
    client.pipe(upstream, { end: false });
    if (holding) held.push(() => upstream.pipe(client, { end: false }));
    else upstream.pipe(client, { end: false });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      const waiting = held;
      held = [];
      for (const flow of waiting) flow();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
