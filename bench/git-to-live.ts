/**
 * Git to live: CreateDeployment → the first HTTP 200 through the built-in edge, for the fixture's
 * static site and its Node.js app (package.json with a build script; the builder generates the
 * Dockerfile of both). Each run deploys under a name of its own and is deleted before the next.
 *
 * Before each run a commit changes one file of the branch (bench-run.txt), as a push would: the
 * build clones that commit and Docker rebuilds from `COPY . .` on (for the Node.js app: `npm run
 * build` again, while the `npm ci` layer stays cached since package*.json did not change).
 * The build's share comes from the build row (builds.started_at → finished_at: clone, context,
 * docker build); the other steps from hooks on the deployer's collaborators (bench/support.ts).
 *
 *   node --import tsx bench/git-to-live.ts [N]     (N defaults to 5)
 */
import { FIXTURE_CONTENT, makeFixtureRepo } from "../test/helpers/git-fixtures.js";
import {
  type BenchPlatform,
  commitToBranch,
  firstOk,
  ms,
  nowMs,
  printFooter,
  printHeader,
  startBenchPlatform,
  summarize,
  table,
  uniqueSuffix,
  withCleanup,
} from "./support.js";

const N = Number(process.argv[2] ?? 5);
const KINDS = ["static", "node"] as const;
type Kind = (typeof KINDS)[number];

interface Sample {
  total: number;
  api: number;
  buildStart: number;
  buildEnd: number;
  containerStarted: number | undefined;
  healthy: number | undefined;
  routed: number | undefined;
  build: number;
}

async function sample(bp: BenchPlatform, repoUrl: string, kind: Kind, name: string) {
  const edgePort = bp.edgePort as number;
  const t0 = nowMs();
  const { id, domain } = await bp.create({ name, gitRepo: repoUrl, branch: kind });
  const api = nowMs() - t0;
  const { at } = await firstOk(edgePort, domain, {
    intervalMs: 10,
    body: FIXTURE_CONTENT[kind],
    timeoutMs: 150_000,
  });
  await bp.waitForStatus(id, "running");
  const build = await bp.currentBuild(id);
  if (!build?.startedAt || !build.finishedAt) throw new Error("the build row has no times");
  const m = bp.marks.of(id);
  const rel = (x: number | undefined) => (x === undefined ? undefined : x - t0);
  const result: Sample = {
    total: at - t0,
    api,
    buildStart: build.startedAt.getTime() - t0,
    buildEnd: build.finishedAt.getTime() - t0,
    containerStarted: rel(m.runEnd),
    healthy: rel(m.healthy),
    routed: rel(m.routed),
    build: build.finishedAt.getTime() - build.startedAt.getTime(),
  };
  await bp.remove(id);
  return result;
}

async function main() {
  await printHeader(`git to live, static site and Node.js app (N=${N} each)`);
  const repo = await makeFixtureRepo();
  let bp: BenchPlatform | undefined;
  await withCleanup(
    async () => {
      bp = await startBenchPlatform();
      if (bp.edgePort === undefined) throw new Error("no built-in edge");
      const suffix = uniqueSuffix();
      const results = new Map<Kind, Sample[]>();
      for (const kind of KINDS) {
        const samples: Sample[] = [];
        for (let i = 1; i <= N; i++) {
          await commitToBranch(
            repo,
            kind,
            { "bench-run.txt": `${suffix} ${kind} run ${i}\n` },
            `bench run ${i}`,
          );
          samples.push(await sample(bp, repo.url, kind, `g2l-${kind}-${i}-${suffix}`));
        }
        results.set(kind, samples);

        console.log(
          `${kind}: CreateDeployment → first 200 through the built-in edge (ms from the call)`,
        );
        console.log(
          table([
            [
              "run",
              "API answered",
              "build start",
              "build end",
              "container started",
              "healthy",
              "route live",
              "first 200",
              "build share",
            ],
            ...samples.map((s, i) => [
              String(i + 1),
              ms(s.api),
              ms(s.buildStart, 0),
              ms(s.buildEnd, 0),
              ms(s.containerStarted, 0),
              ms(s.healthy, 0),
              ms(s.routed, 0),
              ms(s.total, 0),
              `${((100 * s.build) / s.total).toFixed(0)} %`,
            ]),
          ]),
        );
        console.log("");
      }

      console.log("medians");
      const rows: string[][] = [
        [
          "",
          "git → live",
          "min",
          "max",
          "build (row)",
          "build share",
          "build end → healthy",
          "healthy → 200",
        ],
      ];
      for (const kind of KINDS) {
        const samples = results.get(kind) ?? [];
        const total = summarize(samples.map((s) => s.total));
        const build = summarize(samples.map((s) => s.build));
        rows.push([
          kind,
          ms(total.median, 0),
          ms(total.min, 0),
          ms(total.max, 0),
          ms(build.median, 0),
          `${summarize(samples.map((s) => (100 * s.build) / s.total)).median.toFixed(0)} %`,
          ms(summarize(samples.map((s) => (s.healthy ?? Number.NaN) - s.buildEnd)).median, 0),
          ms(summarize(samples.map((s) => s.total - (s.healthy ?? Number.NaN))).median, 0),
        ]);
      }
      console.log(table(rows));
      console.log(
        "build = builds.started_at → finished_at (clone, build context, docker build); " +
          "build share = build / (CreateDeployment → first 200), per run",
      );
    },
    async () => {
      await bp?.close();
      await repo.cleanup();
    },
  );
  printFooter();
}

await main();
