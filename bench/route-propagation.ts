/**
 * Route propagation: from "the container is healthy" to "the route answers 200 at the edge", for
 * Caddy and for the built-in edge (goal: under 200 ms each).
 *
 * 1. Component level, N=20 per edge. An upstream (a node http server on loopback) is up; each
 *    sample does what RouteSync does with a new live location: computes the route table
 *    (routeTable(), with 50 other routes in it) and applies it to the edge, then polls the edge
 *    by Host header, back to back on fresh connections, until the new host answers 200. Before
 *    each sample the edge gets the table without that host back (it answers 404 for it).
 *    Caddy runs as a child process (test/helpers/caddy.ts), bound to 127.0.0.1.
 * 2. End to end, N=5: the platform in this process with the fixture's dockerfile app. Each sample
 *    stops the deployment, starts it, and polls both edges every 2 ms while it starts; the time
 *    runs from the deployer's "container healthy" (the end of runtime.waitHealthy, hooked) and
 *    from the deployment_locations row's created_at, to the first 200. The platform runs the
 *    built-in edge; a Caddy edge (bound to 127.0.0.1) is added to its RouteSync's edges, so that
 *    one sync feeds both, as on a node that runs two edges.
 *
 * Traefik is not installed here and is not measured: its providers (HTTP provider polling
 * /api/v1/traefik/dynamic, the Docker provider) pick changes up every 5–15 s by design.
 *
 *   node --import tsx bench/route-propagation.ts [N] [N_E2E]     (20 and 5 by default)
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { desc, eq } from "drizzle-orm";
import { BuiltinEdge } from "../src/edge/builtin-edge.js";
import { CaddyEdge } from "../src/edge/caddy.js";
import type { EdgeAdapter } from "../src/edge/edge-adapter.js";
import {
  type LocationRow,
  type RouteTable,
  type RoutingRow,
  routeTable,
} from "../src/edge/route-table.js";
import { deploymentLocations } from "../src/store/schema.js";
import { freePort, type RunningCaddy, startCaddy } from "../test/helpers/caddy.js";
import { FIXTURE_CONTENT, makeFixtureRepo } from "../test/helpers/git-fixtures.js";
import {
  type BenchPlatform,
  firstOk,
  ms,
  nowMs,
  printFooter,
  printHeader,
  type Summary,
  startBenchPlatform,
  summarize,
  table,
  withCleanup,
} from "./support.js";

const N = Number(process.argv[2] ?? 20);
const N_E2E = Number(process.argv[3] ?? 5);
const GOAL_MS = 200;
const FILLER_ROUTES = 50;
const UPSTREAM_BODY = "route propagation upstream";

interface Row {
  routing: RoutingRow;
  location: LocationRow;
}

function row(domain: string, upstreamPort: number): Row {
  const deploymentId = randomUUID();
  return {
    routing: {
      domain,
      pathPrefix: "/",
      deploymentId,
      targetPort: 8080,
      tls: false,
      lbAlgorithm: "round_robin",
      weights: {},
    },
    location: {
      deploymentId,
      nodeId: "bench-node",
      address: "127.0.0.1",
      port: upstreamPort,
      status: "running",
      healthStatus: "healthy",
    },
  };
}

const tableOf = (rows: Row[]): RouteTable =>
  routeTable(
    rows.map((r) => r.routing),
    rows.map((r) => r.location),
  );

interface ComponentResult {
  apply: Summary;
  live: Summary;
  polls: Summary;
}

/** N samples of apply(table with a new host) → first 200 for that host through the edge. */
async function component(
  name: string,
  edge: EdgeAdapter,
  edgePort: number,
  upstreamPort: number,
): Promise<ComponentResult> {
  const filler = Array.from({ length: FILLER_ROUTES }, (_, i) =>
    row(`filler-${i}.${name}.bench.test`, upstreamPort),
  );
  await edge.apply(tableOf(filler));
  const applies: number[] = [];
  const lives: number[] = [];
  const polls: number[] = [];
  for (let i = -1; i < N; i++) {
    const domain = `rp-${i + 1}.${name}.bench.test`;
    const t0 = nowMs();
    await edge.apply(tableOf([...filler, row(domain, upstreamPort)]));
    const applied = nowMs();
    const { at, tries } = await firstOk(edgePort, domain, {
      intervalMs: 0,
      body: UPSTREAM_BODY,
      timeoutMs: 10_000,
    });
    // i = -1 is a warm-up, not counted.
    if (i >= 0) {
      applies.push(applied - t0);
      lives.push(at - t0);
      polls.push(tries);
    }
    await edge.apply(tableOf(filler));
  }
  return { apply: summarize(applies), live: summarize(lives), polls: summarize(polls) };
}

interface E2eSample {
  builtinFromHealthy: number;
  caddyFromHealthy: number;
  builtinFromRow: number;
  caddyFromRow: number;
  syncFromHealthy: number;
}

async function endToEnd(bp: BenchPlatform, caddyPort: number, repoUrl: string) {
  const builtinPort = bp.edgePort as number;
  const body = FIXTURE_CONTENT.dockerfile;
  const { id, domain } = await bp.create({
    name: "routes",
    gitRepo: repoUrl,
    branch: "dockerfile",
  });
  await bp.waitForStatus(id, "running", 120_000);
  await firstOk(builtinPort, domain, { body, timeoutMs: 10_000 });
  await firstOk(caddyPort, domain, { body, timeoutMs: 10_000 });
  const db = bp.t.platform.database.db;
  const samples: E2eSample[] = [];
  for (let i = -1; i < N_E2E; i++) {
    await bp.deployments.stopDeployment({ id });
    await bp.waitForStatus(id, "stopped");
    bp.marks.reset(id);
    const polling = new AbortController();
    const builtin = firstOk(builtinPort, domain, { intervalMs: 2, body, signal: polling.signal });
    const caddy = firstOk(caddyPort, domain, { intervalMs: 2, body, signal: polling.signal });
    try {
      await bp.deployments.startDeployment({ id });
      const [b, c] = await Promise.all([builtin, caddy]);
      await bp.waitForStatus(id, "running");
      const m = bp.marks.of(id);
      const [location] = await db
        .select()
        .from(deploymentLocations)
        .where(eq(deploymentLocations.deploymentId, id))
        .orderBy(desc(deploymentLocations.createdAt));
      if (m.healthy === undefined || m.routed === undefined || !location) {
        throw new Error("the deployer's steps were not seen");
      }
      const created = location.createdAt.getTime();
      // i = -1 is a warm-up, not counted.
      if (i >= 0) {
        samples.push({
          builtinFromHealthy: b.at - m.healthy,
          caddyFromHealthy: c.at - m.healthy,
          builtinFromRow: b.at - created,
          caddyFromRow: c.at - created,
          syncFromHealthy: m.routed - m.healthy,
        });
      }
    } finally {
      polling.abort();
      await Promise.allSettled([builtin, caddy]);
    }
  }
  return samples;
}

async function main() {
  await printHeader(
    `route propagation: healthy → route live (component N=${N}, end to end N=${N_E2E})`,
  );
  const upstream = http.createServer((_req, res) => res.end(UPSTREAM_BODY));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const repo = await makeFixtureRepo();
  let caddy: RunningCaddy | undefined;
  let caddyEdge: CaddyEdge | undefined;
  let builtin: BuiltinEdge | undefined;
  let bp: BenchPlatform | undefined;
  await withCleanup(
    async () => {
      // 1. Component level.
      builtin = new BuiltinEdge({ host: "127.0.0.1", port: 0 });
      const builtinPort = (await builtin.start()).port;
      const builtinResult = await component("builtin", builtin, builtinPort, upstreamPort);
      await builtin.close();

      caddy = await startCaddy();
      const caddyPort = await freePort();
      caddyEdge = new CaddyEdge({
        adminUrl: caddy.adminUrl,
        httpPort: caddyPort,
        httpsPort: await freePort(),
        bindHost: "127.0.0.1",
      });
      const caddyResult = await component("caddy", caddyEdge, caddyPort, upstreamPort);

      console.log(
        `component level: routeTable() + edge.apply() → first 200 for the new host (${FILLER_ROUTES} other routes in the table), N=${N}`,
      );
      console.log(
        table([
          [
            "edge",
            "apply() median",
            "apply() p90",
            "→ 200 median",
            "→ 200 p90",
            "max",
            "polls (median)",
            `goal < ${GOAL_MS} ms`,
          ],
          ...(
            [
              ["built-in", builtinResult],
              ["Caddy (POST /load)", caddyResult],
            ] as const
          ).map(([name, r]) => [
            name,
            ms(r.apply.median, 2),
            ms(r.apply.p90, 2),
            ms(r.live.median, 2),
            ms(r.live.p90, 2),
            ms(r.live.max, 2),
            String(r.polls.median),
            r.live.p90 < GOAL_MS ? "met" : "NOT met",
          ]),
        ]),
      );
      console.log("");

      // 2. End to end through the platform.
      bp = await startBenchPlatform();
      const edges = (bp.deploying.routes as unknown as { edges: EdgeAdapter[] }).edges;
      if (!Array.isArray(edges)) throw new Error("RouteSync has no edges array to add Caddy to");
      edges.push(caddyEdge);
      await bp.deploying.routes.sync();
      const samples = await endToEnd(bp, caddyPort, repo.url);
      console.log(
        `end to end (platform, dockerfile app, StopDeployment then StartDeployment), N=${N_E2E}: ms to the first 200`,
      );
      console.log(
        table([
          [
            "run",
            "healthy → sync done",
            "healthy → built-in 200",
            "healthy → Caddy 200",
            "row created_at → built-in",
            "row created_at → Caddy",
          ],
          ...samples.map((s, i) => [
            String(i + 1),
            ms(s.syncFromHealthy),
            ms(s.builtinFromHealthy),
            ms(s.caddyFromHealthy),
            ms(s.builtinFromRow),
            ms(s.caddyFromRow),
          ]),
        ]),
      );
      const sum = (f: (s: E2eSample) => number) => summarize(samples.map(f));
      const b = sum((s) => s.builtinFromHealthy);
      const c = sum((s) => s.caddyFromHealthy);
      console.log(
        `healthy → 200: built-in median ${ms(b.median)}, p90 ${ms(b.p90)}; Caddy median ${ms(c.median)}, p90 ${ms(c.p90)} ` +
          `(goal < ${GOAL_MS} ms: built-in ${b.p90 < GOAL_MS ? "met" : "NOT met"}, Caddy ${c.p90 < GOAL_MS ? "met" : "NOT met"}); polled every 2 ms`,
      );
      console.log("");
      console.log(
        "Traefik: not installed here, not measured. Its providers (the HTTP provider polling " +
          "/api/v1/traefik/dynamic, or the Docker provider) pick changes up every 5–15 s by design, " +
          "so a new route there goes live seconds after the container is healthy, not milliseconds.",
      );
    },
    async () => {
      await bp?.close();
      await builtin?.close();
      await caddyEdge?.close().catch(() => undefined);
      await caddy?.close();
      const closed = new Promise<void>((resolve) => upstream.close(() => resolve()));
      upstream.closeAllConnections();
      await closed;
      await repo.cleanup();
    },
  );
  printFooter();
}

await main();
