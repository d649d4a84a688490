/**
 * Faults on the deployed production stack (test/helpers/stack.ts), shared by its test
 * (test/stack-deploy.test.ts) and its failover benchmark (bench/failover.ts): loops of requests
 * through the API that keep what was acknowledged and what failed, with when; the acknowledged
 * writes the API no longer lists; waiting for a new PostgreSQL leader or Redis master, for a lost
 * member back and replicating, and for each set to be settled again; asking for deployments
 * through a failover until the API acknowledges them.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DeploymentService,
  DeploymentStatus,
} from "../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { waitForStatus } from "./deploy-harness.js";
import { type DeployedStack, until } from "./stack.js";
import type { SwarmNodeHandle } from "./swarm.js";

const POSTGRES_MEMBERS = ["postgres-1", "postgres-2", "postgres-3"];

/** What one request of a loop came to: a value, or a refusal (an answer that is not a success). */
export type Answer<T> = { value: T } | { refused: string };

/** A loop of requests until stopped: each success with when it was sent and answered, each failure. */
export interface RequestLoop<T> {
  oks: Array<{ value: T; sentAt: number; at: number }>;
  failures: Array<{ at: number; error: string }>;
  /** Ends the loop once its request under way is answered; safe to call twice. */
  stop(): Promise<void>;
  /** From `t` to the answer of the first success sent after `t`. */
  firstAfter(t: number): number | undefined;
  /** From `t` to the first success sent after the last failure that followed `t`. */
  resumedAfter(t: number): number | undefined;
  /** The requests sent in [from, to): how many succeeded, how many failed. */
  between(from: number, to: number): { ok: number; failed: number };
}

/**
 * Sends `send(seq)` one after another, 50 ms apart, until stopped. A thrown error (no answer) is a
 * failure too, after which the loop waits `pauseAfterErrorMs` more.
 */
export function startLoop<T>(
  send: (seq: number) => Promise<Answer<T>>,
  pauseAfterErrorMs = 0,
): RequestLoop<T> {
  const oks: RequestLoop<T>["oks"] = [];
  const failures: RequestLoop<T>["failures"] = [];
  let stopped = false;
  const done = (async () => {
    for (let seq = 0; !stopped; seq++) {
      const sentAt = Date.now();
      try {
        const answer = await send(seq);
        if ("value" in answer) oks.push({ value: answer.value, sentAt, at: Date.now() });
        else failures.push({ at: sentAt, error: answer.refused });
      } catch (error) {
        failures.push({
          at: sentAt,
          error: error instanceof Error ? error.message : String(error),
        });
        if (pauseAfterErrorMs > 0) await sleep(pauseAfterErrorMs);
      }
      await sleep(50);
    }
  })();
  return {
    oks,
    failures,
    async stop() {
      stopped = true;
      await done;
    },
    firstAfter(t) {
      const first = oks.find((a) => a.sentAt >= t);
      return first ? first.at - t : undefined;
    },
    resumedAfter(t) {
      const lastFailure = failures.filter((f) => f.at >= t).at(-1)?.at ?? t;
      const first = oks.find((a) => a.sentAt >= lastFailure);
      return first ? first.at - t : undefined;
    },
    between(from, to) {
      const within = (at: number) => at >= from && at < to;
      return {
        ok: oks.filter((a) => within(a.sentAt)).length,
        failed: failures.filter((f) => within(f.at)).length,
      };
    },
  };
}

/**
 * Creates projects through the API (a write to PostgreSQL through HAProxy), one after another,
 * until stopped: the ids the API acknowledged (201), and the failures.
 */
export function startWriter(
  stack: DeployedStack,
  organizationId: string,
  label: string,
  edge: () => SwarmNodeHandle | undefined = () => undefined,
): RequestLoop<string> {
  return startLoop<string>(async (seq) => {
    const response = await stack.api("/api/v1/projects", {
      method: "POST",
      body: JSON.stringify({ organization_id: organizationId, name: `${label}-${seq}` }),
      edge: edge(),
      timeoutMs: 15_000,
    });
    if (response.status !== 201) return { refused: `${response.status} ${response.body}` };
    return { value: (JSON.parse(response.body) as { id: string }).id };
  }, 200);
}

/** Lists the organization's projects through the API (the response cache and the rate limiter are in Redis). */
export function startReader(stack: DeployedStack, organizationId: string): RequestLoop<null> {
  return startLoop<null>(async () => {
    const response = await stack.api(`/api/v1/projects?organization_id=${organizationId}`);
    if (response.status !== 200) {
      return { refused: `${response.status} ${response.body.slice(0, 120)}` };
    }
    return { value: null };
  });
}

/** The acknowledged ids that the API does not list. */
export async function lostWrites(
  stack: DeployedStack,
  organizationId: string,
  ids: string[],
  edge?: SwarmNodeHandle,
): Promise<string[]> {
  const listed = await stack.api(`/api/v1/projects?organization_id=${organizationId}`, {
    edge,
    timeoutMs: 30_000,
  });
  assert.equal(listed.status, 200, listed.body);
  const there = new Set(
    (JSON.parse(listed.body) as { projects: Array<{ id: string }> }).projects.map((p) => p.id),
  );
  return ids.filter((id) => !there.has(id));
}

/** Polls `current` until it names a member other than `old`; returns the time waited. */
function untilAnother(
  what: string,
  current: () => Promise<string | undefined>,
  old: string,
  timeoutMs: number,
): Promise<number> {
  return until(
    what,
    async () => {
      const now = await current();
      return now !== undefined && now !== old;
    },
    timeoutMs,
    250,
  );
}

/** Waits until a member other than `old` leads the PostgreSQL cluster; returns the time waited. */
export function untilNewPostgresLeader(
  stack: DeployedStack,
  old: string,
  timeoutMs = 60_000,
): Promise<number> {
  return untilAnother("a new PostgreSQL leader", () => stack.postgresLeader(), old, timeoutMs);
}

/** Waits until the Sentinels name a master other than `old`; returns the time waited. */
export function untilNewRedisMaster(
  stack: DeployedStack,
  old: string,
  timeoutMs = 60_000,
): Promise<number> {
  return untilAnother("a new Redis master", () => stack.redisMaster(), old, timeoutMs);
}

/** Brings a lost PostgreSQL member back; returns the time from its restart to its replicating. */
export async function postgresMemberBack(stack: DeployedStack, member: string): Promise<number> {
  await stack.scale(member, 1);
  return until(
    `${member} back as a streaming replica`,
    async () =>
      (await stack.patroniMembers()).some(
        (m) =>
          m.Member === member &&
          /replica|standby/i.test(m.Role) &&
          // Patroni 3.0 (Debian's) says running; later ones say streaming.
          (m.State === "running" || m.State === "streaming"),
      ),
    180_000,
    1_000,
  );
}

/** Brings a lost Redis member back; returns the time from its restart to its replicating. */
export async function redisMemberBack(stack: DeployedStack, member: string): Promise<number> {
  await stack.scale(member, 1);
  return until(
    `${member} back as a replica`,
    async () =>
      (await stack.exec(member, ["redis-cli", "info", "replication"], 10_000)).includes(
        "role:slave",
      ),
    120_000,
    1_000,
  );
}

/**
 * Waits until the PostgreSQL cluster is whole: all three members running, one leading, one its
 * synchronous standby, the third replicating. Returns the leader.
 */
export async function postgresSettled(stack: DeployedStack, timeoutMs = 180_000): Promise<string> {
  let leader: string | undefined;
  await until(
    "three PostgreSQL members: a leader, a synchronous standby, a replica",
    async () => {
      const members = await stack.patroniMembers();
      const running = members.filter((m) => m.State === "running" || m.State === "streaming");
      leader = members.find((m) => m.Role === "Leader" && m.State === "running")?.Member;
      return (
        POSTGRES_MEMBERS.every((name) => running.some((m) => m.Member === name)) &&
        leader !== undefined &&
        members.some((m) => m.Role === "Sync Standby")
      );
    },
    timeoutMs,
    1_000,
  );
  assert.ok(leader);
  return leader;
}

/** Waits until the Sentinels' master has both other members as connected replicas. Returns it. */
export async function redisSettled(stack: DeployedStack, timeoutMs = 120_000): Promise<string> {
  let master: string | undefined;
  await until(
    "a Redis master with two connected replicas",
    async () => {
      master = await stack.redisMaster();
      if (!master) return false;
      const replication = await stack.exec(master, ["redis-cli", "info", "replication"], 10_000);
      return replication.includes("role:master") && replication.includes("connected_slaves:2");
    },
    timeoutMs,
    1_000,
  );
  assert.ok(master);
  return master;
}

/** A deployment of the fixture app (its `dockerfile` branch) that the API acknowledged. */
export interface FixtureApp {
  id: string;
  domain: string;
  /** Resolves once it runs. */
  running(): Promise<unknown>;
}

/** Asks the API for a deployment of the fixture app from the stack's git daemon. */
export async function deployFixtureApp(
  stack: DeployedStack,
  projectId: string,
  name: string,
  replicas = 1,
): Promise<FixtureApp> {
  const deployments = stack.client(DeploymentService);
  const { deployment } = await deployments.createDeployment({
    projectId,
    name,
    gitRepo: stack.gitUrl,
    branch: "dockerfile",
    replicas,
    resources: { cpuMillicores: 0, memoryMb: 64 },
  });
  assert.ok(deployment?.domains[0]);
  const id = deployment.id;
  return {
    id,
    domain: deployment.domains[0],
    running: () => waitForStatus(deployments, id, DeploymentStatus.RUNNING, 300_000),
  };
}

/**
 * Deployments asked for from `from` on, each asked again until the API acknowledges it (its job
 * goes through the queue), one after another for `forMs` (and `max` at most): through a failover
 * and after it. Each acknowledged one, and when (from `from`), and how many times one was refused.
 */
export async function askForDeployments<T>(
  from: number,
  deploy: (index: number) => Promise<T>,
  { max = 6, forMs = 20_000 }: { max?: number; forMs?: number } = {},
): Promise<{ acknowledged: T[]; acknowledgedAt: number[]; refused: number }> {
  let refused = 0;
  const acknowledged: T[] = [];
  const acknowledgedAt: number[] = [];
  while (acknowledged.length < max && (acknowledged.length === 0 || Date.now() - from < forMs)) {
    try {
      acknowledged.push(await deploy(acknowledged.length + 1));
      acknowledgedAt.push(Date.now() - from);
      await sleep(1_000);
    } catch {
      refused++;
      await sleep(500);
    }
    assert.ok(Date.now() - from < 120_000, "the API acknowledges deployments again");
  }
  return { acknowledged, acknowledgedAt, refused };
}
