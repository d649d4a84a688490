/**
 * The HA stack's failovers: the production stack (deploy/stack.yml, test/helpers/stack.ts) on the
 * three-node Swarm harness, brought up once; then ROUNDS times the PostgreSQL leader's container
 * killed and kept down, then ROUNDS times the Redis master's, each round from a settled set (the
 * member lost in the round before back and replicating). The faults and the loops of requests are
 * test/stack-deploy.test.ts's own (test/helpers/stack-faults.ts).
 *
 * - PostgreSQL: a writer creates projects through the API (through the edge and HAProxy) and a
 *   reader lists them, 50 ms apart each. Per round: the time from the kill to a new Patroni
 *   leader and to writes resumed (the first write acknowledged after the last failure); the
 *   requests sent during the failover window, ok and failed, and their error rate; the
 *   acknowledged writes the API no longer lists (must be 0).
 * - Redis: the reader only (the response cache and the rate limiter are in Redis), and deployments
 *   asked for from the kill on (six at most, for 20 s; each asked again until acknowledged, its
 *   job going through the queue). Per round: the time from the kill to the Sentinels naming
 *   another master; the reads during the window, ok and failed, and their error rate; the
 *   deployments acknowledged, refused, and lost (acknowledged but never running). A round in
 *   which the API acknowledged no deployment for 2 minutes is recorded as such (its failures
 *   printed), and the next round starts from a settled set again.
 * The failover window of a round runs from the kill to the later of the promotion and every loop
 * answering again (its first success after its last failure).
 *
 * One process at a time may use the Swarm harness (root needed), and the stack's images must be
 * built (`STACK_TESTS=1 bash scripts/services.sh`):
 *
 *   STACK_TESTS=1 flock /tmp/obiente-swarm.lock node --import tsx bench/failover.ts [ROUNDS]
 *
 * ROUNDS defaults to 3; the stack takes about 2 minutes to come up, each round 1-2 more.
 */
import { join } from "node:path";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { REPO_ROOT } from "../test/helpers/image.js";
import { type DeployedStack, deployStack, until } from "../test/helpers/stack.js";
import {
  askForDeployments,
  deployFixtureApp,
  lostWrites,
  postgresMemberBack,
  postgresSettled,
  type RequestLoop,
  redisMemberBack,
  redisSettled,
  startReader,
  startWriter,
  untilNewPostgresLeader,
  untilNewRedisMaster,
} from "../test/helpers/stack-faults.js";
import { swarmSkipReason } from "../test/helpers/swarm.js";
import { printFooter, printHeader, sleep, summarize, table, withCleanup } from "./support.js";

const ROUNDS = Number(process.argv[2] ?? 3);
/** At most this many deployments asked for from each Redis kill on, for DEPLOYING_MS. */
const DEPLOYMENTS = 6;
const DEPLOYING_MS = 20_000;

interface Window {
  ms: number;
  ok: number;
  failed: number;
}

interface PostgresRound {
  killed: string;
  leader: string;
  promoted: number;
  resumed: number;
  writes: Window;
  reads: Window;
  acknowledged: number;
  lost: number;
  back: number;
  /** The first few distinct failures, for what went wrong. */
  errors: string[];
}

interface RedisRound {
  killed: string;
  master: string;
  promoted: number;
  reads: Window;
  deployments: { acknowledged: number; refused: number; lost: number; running: number };
  back: number;
  /** The first few distinct failures (reads, and why an acknowledged deployment did not run). */
  errors: string[];
}

/** The first `count` distinct messages, cut to 160 characters. */
function distinct(messages: string[], count = 3): string[] {
  return [...new Set(messages.map((m) => m.slice(0, 160)))].slice(0, count);
}

/**
 * The requests of `loops` sent from `lostAt` until the later of `promoted` (after the kill) and
 * each loop's answering again; a loop that never did counts until `stoppedAt`.
 */
function failoverWindow(
  lostAt: number,
  promoted: number,
  stoppedAt: number,
  loops: Array<RequestLoop<unknown>>,
): { end: number; of: Window[] } {
  const resumed = loops.map((loop) => loop.resumedAfter(lostAt) ?? stoppedAt - lostAt);
  const end = lostAt + Math.max(promoted, ...resumed);
  return { end, of: loops.map((loop) => ({ ms: end - lostAt, ...loop.between(lostAt, end) })) };
}

const seconds = (value: number) => (Number.isNaN(value) ? "—" : `${(value / 1000).toFixed(1)} s`);
const rate = (...windows: Window[]) => {
  const failed = windows.reduce((sum, w) => sum + w.failed, 0);
  const total = windows.reduce((sum, w) => sum + w.ok + w.failed, 0);
  return total === 0 ? 0 : failed / total;
};
const percent = (value: number) => `${(value * 100).toFixed(1)} %`;

async function postgresRound(
  stack: DeployedStack,
  organizationId: string,
  round: number,
): Promise<PostgresRound> {
  const killed = await postgresSettled(stack);
  const writer = startWriter(stack, organizationId, `failover-pg-${round}`);
  const reader = startReader(stack, organizationId);
  let lostAt = 0;
  let promoted = 0;
  try {
    await until("writes flow", async () => writer.oks.length >= 10, 30_000);
    ({ at: lostAt } = await stack.lose(killed));
    await untilNewPostgresLeader(stack, killed);
    promoted = Date.now() - lostAt;
    // A write sent after the new leader was seen: one sent just after the kill may have been
    // acknowledged by the old leader, which `docker kill` had not stopped yet.
    await until(
      "a write acknowledged after the new leader",
      async () => writer.firstAfter(lostAt + promoted) !== undefined,
      60_000,
    );
    await sleep(2_000);
  } finally {
    await writer.stop();
    await reader.stop();
  }
  const { of } = failoverWindow(lostAt, promoted, Date.now(), [writer, reader]);
  const [writes, reads] = of as [Window, Window];
  const lost = await lostWrites(
    stack,
    organizationId,
    writer.oks.map((a) => a.value),
  );
  const leader = (await stack.postgresLeader()) ?? "?";
  const back = await postgresMemberBack(stack, killed);
  return {
    killed,
    leader,
    promoted,
    resumed: writer.resumedAfter(lostAt) ?? Number.NaN,
    writes,
    reads,
    acknowledged: writer.oks.length,
    lost: lost.length,
    back,
    errors: distinct([...writer.failures, ...reader.failures].map((f) => f.error)),
  };
}

async function redisRound(
  stack: DeployedStack,
  organizationId: string,
  projectId: string,
  round: number,
): Promise<RedisRound> {
  const killed = await redisSettled(stack);
  await until(
    "a controller holds the leader lock",
    async () => !!(await stack.controllerLeader()),
    60_000,
  );
  const reader = startReader(stack, organizationId);
  let lostAt = 0;
  let promoted = 0;
  const deployments = stack.client(DeploymentService);
  const made: string[] = [];
  let acknowledged = 0;
  let refused = 0;
  /** Why asking for deployments gave up (the API acknowledged none for 2 minutes). */
  let gaveUp: string | undefined;
  let lost: string[] = [];
  let running = 0;
  try {
    await sleep(2_000);
    ({ at: lostAt } = await stack.lose(killed));
    const promotion = untilNewRedisMaster(stack, killed).then(() => Date.now() - lostAt);
    // Awaited below; should asking for deployments fail first, its rejection is not unhandled.
    promotion.catch(() => undefined);
    const apps = await askForDeployments(
      lostAt,
      async (n) => {
        const app = await deployFixtureApp(stack, projectId, `failover-redis-${round}-${n}`).catch(
          (error: unknown) => {
            refused++;
            throw error;
          },
        );
        made.push(app.id);
        return app;
      },
      { max: DEPLOYMENTS, forMs: DEPLOYING_MS },
    ).catch((error: unknown) => {
      gaveUp = String(error);
      return undefined;
    });
    promoted = await promotion;
    acknowledged = apps?.acknowledged.length ?? 0;
    const outcomes = await Promise.allSettled((apps?.acknowledged ?? []).map((a) => a.running()));
    lost = outcomes.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []));
    running = apps ? Date.now() - lostAt : Number.NaN;
  } finally {
    await reader.stop();
    // Removed once they ran (or not): the harness's nodes could not hold every round's.
    for (const id of made) {
      await deployments.deleteDeployment({ id }).catch((error: unknown) => {
        console.log(`# deployment ${id} not removed: ${String(error)}`);
      });
    }
  }
  const { of } = failoverWindow(lostAt, promoted, Date.now(), [reader]);
  const [reads] = of as [Window];
  const master = (await stack.redisMaster()) ?? "?";
  const back = await redisMemberBack(stack, killed);
  return {
    killed,
    master,
    promoted,
    reads,
    deployments: {
      acknowledged,
      refused,
      lost: lost.length,
      running,
    },
    back,
    errors: [
      ...distinct(reader.failures.map((f) => f.error)),
      ...distinct(lost),
      ...(gaveUp ? [gaveUp] : []),
    ],
  };
}

/** median, min, max of each figure, in a table. */
function summaryTable(figures: Array<[string, number[], (value: number) => string]>): string {
  const rows = [["figure", "median", "min", "max"]];
  for (const [name, samples, show] of figures) {
    const s = summarize(samples);
    const shown = (value: number) => (Number.isNaN(value) ? "—" : show(value));
    rows.push([name, shown(s.median), shown(s.min), shown(s.max)]);
  }
  return table(rows);
}

async function main() {
  const skip =
    process.env.STACK_TESTS === "1"
      ? swarmSkipReason()
      : "the stack's benchmark runs with STACK_TESTS=1 (its images: scripts/services.sh)";
  if (skip) {
    console.error(`failover: ${skip}`);
    process.exit(2);
  }
  await printHeader(
    `HA stack failover on the 3-node Swarm harness (${ROUNDS} rounds of PostgreSQL, then ${ROUNDS} of Redis)`,
  );
  let stack: DeployedStack | undefined;
  let failed = true;
  const postgres: PostgresRound[] = [];
  const redis: RedisRound[] = [];
  const body = async () => {
    const started = Date.now();
    stack = await deployStack();
    console.log(`stack up in ${seconds(Date.now() - started)}: ${JSON.stringify(stack.timings)}`);
    const { organization } = await stack
      .client(OrganizationService)
      .createOrganization({ name: "Failover" });
    if (!organization) throw new Error("no organization made");
    const { project } = await stack
      .client(ProjectService)
      .createProject({ organizationId: organization.id, name: "failover" });
    if (!project) throw new Error("no project made");

    for (let round = 1; round <= ROUNDS; round++) {
      const r = await postgresRound(stack, organization.id, round);
      postgres.push(r);
      console.log(`# PostgreSQL round ${round}: ${JSON.stringify(r)}`);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await redisRound(stack, organization.id, project.id, round);
      redis.push(r);
      console.log(`# Redis round ${round}: ${JSON.stringify(r)}`);
    }
    failed = false;
  };
  const cleanup = async () => {
    if (!stack) return;
    if (failed) {
      const dir = join(
        REPO_ROOT,
        "test-artifacts",
        `failover-${new Date().toISOString().replace(/[:.]/g, "-")}`,
      );
      await stack.saveLogs(dir).then(
        () => console.log(`# the services' logs: ${dir}`),
        (error: unknown) =>
          console.log(`# the services' logs could not be saved: ${String(error)}`),
      );
    }
    console.log(`stack down in ${seconds(await stack.close())}`);
  };
  try {
    await withCleanup(body, cleanup);
  } finally {
    report(postgres, redis);
  }
}

/** The rounds done (all of them, or those before a failure), then their summary. */
function report(postgres: PostgresRound[], redis: RedisRound[]): void {
  if (postgres.length > 0) {
    console.log("");
    console.log("PostgreSQL leader killed (a writer and a reader through the API, 50 ms apart):");
    console.log(
      table([
        [
          "round",
          "killed → leader",
          "new leader",
          "writes resumed",
          "window",
          "writes ok/failed",
          "reads ok/failed",
          "error rate",
          "acknowledged",
          "lost",
          "back",
        ],
        ...postgres.map((r, i) => [
          String(i + 1),
          `${r.killed} → ${r.leader}`,
          seconds(r.promoted),
          seconds(r.resumed),
          seconds(r.writes.ms),
          `${r.writes.ok}/${r.writes.failed}`,
          `${r.reads.ok}/${r.reads.failed}`,
          percent(rate(r.writes, r.reads)),
          String(r.acknowledged),
          String(r.lost),
          seconds(r.back),
        ]),
      ]),
    );
  }
  if (redis.length > 0) {
    console.log("");
    console.log(
      "Redis master killed (a reader through the API, 50 ms apart; deployments asked for):",
    );
    console.log(
      table([
        [
          "round",
          "killed → master",
          "promoted",
          "window",
          "reads ok/failed",
          "error rate",
          "deployments acked/refused/lost",
          "all running",
          "back",
        ],
        ...redis.map((r, i) => [
          String(i + 1),
          `${r.killed} → ${r.master}`,
          seconds(r.promoted),
          seconds(r.reads.ms),
          `${r.reads.ok}/${r.reads.failed}`,
          percent(rate(r.reads)),
          `${r.deployments.acknowledged}/${r.deployments.refused}/${r.deployments.lost}`,
          seconds(r.deployments.running),
          seconds(r.back),
        ]),
      ]),
    );
  }
  const errors = [
    ...postgres.map((r, i) => [`PostgreSQL round ${i + 1}`, r.errors] as const),
    ...redis.map((r, i) => [`Redis round ${i + 1}`, r.errors] as const),
  ].filter(([, messages]) => messages.length > 0);
  if (errors.length > 0) {
    console.log("");
    for (const [round, messages] of errors)
      console.log(`${round}, failures: ${JSON.stringify(messages)}`);
  }
  if (postgres.length > 0 || redis.length > 0) {
    console.log("");
    console.log(
      summaryTable([
        ["PostgreSQL: kill → new leader", postgres.map((r) => r.promoted), seconds],
        ["PostgreSQL: kill → writes resumed", postgres.map((r) => r.resumed), seconds],
        [
          "PostgreSQL: error rate in the window",
          postgres.map((r) => rate(r.writes, r.reads)),
          percent,
        ],
        ["PostgreSQL: acknowledged writes lost", postgres.map((r) => r.lost), String],
        ["Redis: kill → promotion", redis.map((r) => r.promoted), seconds],
        ["Redis: reads' error rate in the window", redis.map((r) => rate(r.reads)), percent],
        ["Redis: deployments lost", redis.map((r) => r.deployments.lost), String],
      ]),
    );
  }
  printFooter();
}

await main();
