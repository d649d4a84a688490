/**
 * Deploy latency of a prebuilt image: the platform's path from the API call to the first HTTP 200
 * through the built-in edge, against a raw `docker run` of the same image (dockerode: create and
 * start with a published port) to its first 200, in the same process run.
 *
 * The fixture's dockerfile app is built once (its first deploy). Each platform sample then starts
 * from the existing image: StopDeployment (until STOPPED, which removes the containers), then the
 * time from StartDeployment to the first 200 at the edge by Host header (Start recreates the
 * containers from the existing build). Raw and platform samples alternate, after one untimed
 * warm-up of each. Both sides are polled the same way: a fresh connection every 5 ms.
 *
 *   node --import tsx bench/deploy-latency.ts [N]     (N defaults to 5)
 */
import type Dockerode from "dockerode";
import { freePort } from "../test/helpers/caddy.js";
import { FIXTURE_CONTENT, makeFixtureRepo } from "../test/helpers/git-fixtures.js";
import {
  BENCH_LABEL,
  type BenchPlatform,
  docker,
  firstOk,
  ms,
  nowMs,
  printFooter,
  printHeader,
  removeBenchContainers,
  startBenchPlatform,
  summarize,
  table,
  uniqueSuffix,
  withCleanup,
} from "./support.js";

const N = Number(process.argv[2] ?? 5);
const GOAL = 1.5;
const POLL_MS = 5;
const BODY = FIXTURE_CONTENT.dockerfile;
const NAME = "deploy-latency";

interface PlatformSample {
  total: number;
  api: number;
  converge: number | undefined;
  runStart: number | undefined;
  runEnd: number | undefined;
  healthy: number | undefined;
  routed: number | undefined;
  tries: number;
}

interface RawSample {
  total: number;
  created: number;
  started: number;
  tries: number;
}

async function platformSample(
  bp: BenchPlatform,
  id: string,
  domain: string,
  edgePort: number,
): Promise<PlatformSample> {
  await bp.deployments.stopDeployment({ id });
  await bp.waitForStatus(id, "stopped");
  bp.marks.reset(id);
  const t0 = nowMs();
  const ok = firstOk(edgePort, domain, { intervalMs: POLL_MS, body: BODY });
  await bp.deployments.startDeployment({ id });
  const api = nowMs() - t0;
  const { at, tries } = await ok;
  // Steady state before the next sample: the deployer has finished (old routes, status).
  await bp.waitForStatus(id, "running");
  const m = bp.marks.of(id);
  const rel = (x: number | undefined) => (x === undefined ? undefined : x - t0);
  return {
    total: at - t0,
    api,
    converge: rel(m.converge),
    runStart: rel(m.runStart),
    runEnd: rel(m.runEnd),
    healthy: rel(m.healthy),
    routed: rel(m.routed),
    tries,
  };
}

/**
 * The options the platform's runtime gives every container (src/runtime/docker-runtime.ts,
 * createOptions): its project's bridge network, no capabilities, limits, log rotation.
 */
function platformLikeOptions(network: string): Dockerode.ContainerCreateOptions {
  const memory = 256 * 1024 * 1024; // DEFAULT_MEMORY_MB
  return {
    HostConfig: {
      NetworkMode: network,
      SecurityOpt: ["no-new-privileges:true"],
      CapDrop: ["ALL"],
      NanoCpus: 500 * 1e6, // DEFAULT_CPU_MILLICORES
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: 512,
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 },
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: {} } },
  };
}

/** A raw docker run: plain (default bridge, no options) or with the platform's options. */
async function rawSample(
  imageId: string,
  like?: Dockerode.ContainerCreateOptions,
): Promise<RawSample> {
  const port = await freePort();
  const t0 = nowMs();
  let container: Dockerode.Container | undefined;
  try {
    container = await docker.createContainer({
      ...like,
      Image: imageId,
      Labels: { [BENCH_LABEL]: NAME },
      ExposedPorts: { "8080/tcp": {} },
      HostConfig: {
        ...like?.HostConfig,
        PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
      },
    });
    const created = nowMs() - t0;
    await container.start();
    const started = nowMs() - t0;
    const { at, tries } = await firstOk(port, "raw.bench.test", {
      intervalMs: POLL_MS,
      body: BODY,
    });
    return { total: at - t0, created, started, tries };
  } finally {
    await container?.remove({ force: true, v: true }).catch(() => undefined);
  }
}

async function main() {
  await printHeader(`deploy latency of a prebuilt image (N=${N})`);
  const repo = await makeFixtureRepo();
  const network = `obiente-bench-net-${uniqueSuffix()}`;
  let bp: BenchPlatform | undefined;
  await withCleanup(
    async () => {
      bp = await startBenchPlatform();
      const edgePort = bp.edgePort;
      if (edgePort === undefined) throw new Error("no built-in edge");

      // The first deploy builds the image; every sample after it reuses that image.
      const t0 = nowMs();
      const { id, domain } = await bp.create({
        name: "latency",
        gitRepo: repo.url,
        branch: "dockerfile",
      });
      await firstOk(edgePort, domain, { intervalMs: 20, body: BODY, timeoutMs: 120_000 });
      const firstDeploy = nowMs() - t0;
      await bp.waitForStatus(id, "running");
      const build = await bp.currentBuild(id);
      if (!build?.imageId) throw new Error("the first deploy left no image");
      console.log(
        `first deploy (git clone + docker build + start), not counted: ${ms(firstDeploy)}; image ${build.imageId.slice(0, 19)}`,
      );
      console.log(`edge: built-in on 127.0.0.1:${edgePort}, Host: ${domain}`);
      console.log("");

      // A bridge network like a project's, for the raw runs with the platform's options.
      await docker.createNetwork({
        Name: network,
        Driver: "bridge",
        Labels: { [BENCH_LABEL]: NAME },
        Options: { "com.docker.network.bridge.enable_icc": "true" },
      });
      const like = platformLikeOptions(network);

      // Warm-ups, not counted.
      await rawSample(build.imageId);
      await rawSample(build.imageId, like);
      await platformSample(bp, id, domain, edgePort);

      const platform: PlatformSample[] = [];
      const raw: RawSample[] = [];
      const rawLike: RawSample[] = [];
      for (let i = 0; i < N; i++) {
        raw.push(await rawSample(build.imageId));
        rawLike.push(await rawSample(build.imageId, like));
        platform.push(await platformSample(bp, id, domain, edgePort));
      }

      console.log(
        "platform: StartDeployment → first 200 through the built-in edge (ms from the call)",
      );
      console.log(
        table([
          [
            "run",
            "API answered",
            "job picked up",
            "container create+start",
            "healthy",
            "route live (sync done)",
            "first 200",
            "polls",
          ],
          ...platform.map((s, i) => [
            String(i + 1),
            ms(s.api),
            ms(s.converge),
            `${ms(s.runStart)} → ${ms(s.runEnd)}`,
            ms(s.healthy),
            ms(s.routed),
            ms(s.total),
            String(s.tries),
          ]),
        ]),
      );
      console.log("");
      console.log(
        "raw docker: create + start (published port) → first 200 (ms from create); plain, then with the platform's container options",
      );
      console.log(
        table([
          ["run", "created", "started", "first 200", "polls", "| options:", "started", "first 200"],
          ...raw.map((s, i) => [
            String(i + 1),
            ms(s.created),
            ms(s.started),
            ms(s.total),
            String(s.tries),
            "|",
            ms(rawLike[i]?.started),
            ms(rawLike[i]?.total),
          ]),
        ]),
      );

      const med = (xs: Array<number | undefined>) =>
        summarize(xs.filter((x): x is number => x !== undefined)).median;
      const p = summarize(platform.map((s) => s.total));
      const r = summarize(raw.map((s) => s.total));
      const rl = summarize(rawLike.map((s) => s.total));
      const ratio = p.median / r.median;
      console.log("");
      console.log("medians");
      console.log(
        table([
          ["", "median", "min", "max"],
          ["platform (Start → 200 at edge)", ms(p.median), ms(p.min), ms(p.max)],
          ["raw docker (create → 200)", ms(r.median), ms(r.min), ms(r.max)],
          ["raw docker, platform's options", ms(rl.median), ms(rl.min), ms(rl.max)],
        ]),
      );
      console.log(
        `platform breakdown (medians, ms from the call): API ${ms(med(platform.map((s) => s.api)))}, ` +
          `job ${ms(med(platform.map((s) => s.converge)))}, container started ${ms(med(platform.map((s) => s.runEnd)))}, ` +
          `healthy ${ms(med(platform.map((s) => s.healthy)))}, route live ${ms(med(platform.map((s) => s.routed)))}, ` +
          `first 200 ${ms(p.median)}`,
      );
      console.log(
        `step durations (medians): before create ${ms(med(platform.map((s) => s.runStart)))}, ` +
          `create+start ${ms(med(platform.map((s) => (s.runEnd ?? Number.NaN) - (s.runStart ?? Number.NaN))))}, ` +
          `started → healthy ${ms(med(platform.map((s) => (s.healthy ?? Number.NaN) - (s.runEnd ?? Number.NaN))))}, ` +
          `healthy → 200 ${ms(med(platform.map((s) => s.total - (s.healthy ?? Number.NaN))))}`,
      );
      console.log(
        `ratio platform/raw: ${ratio.toFixed(2)} (goal ≤ ${GOAL}: ${ratio <= GOAL ? "met" : "NOT met"}); ` +
          `platform/raw with the platform's options: ${(p.median / rl.median).toFixed(2)}`,
      );
    },
    async () => {
      await bp?.close();
      await removeBenchContainers(NAME);
      await docker
        .getNetwork(network)
        .remove()
        .catch(() => undefined);
      await repo.cleanup();
    },
  );
  printFooter();
}

await main();
