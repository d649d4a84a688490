/**
 * Push to live: a signed GitHub push delivery → the first response through the built-in edge that
 * shows the pushed commit, for the fixture's static site and its Node.js app; against the same
 * commit built and run by hand (git clone, `docker build`, `docker run -p`), in the same process
 * run.
 *
 * Each app is deployed once (untimed). Then, N times: a commit changes the file the app shows
 * (static: index.html; Node.js: build.js, whose `npm run build` writes the text `npm start`
 * serves), so that the new page is told from the old one by a token of its own.
 *
 * 1. By hand (the reference): the Dockerfile the platform plans for that very commit (PlanBuild,
 *    untimed: a person writes it once), then, timed, a shallow `git clone` of the branch, the
 *    plan's files written into the checkout, `docker build`, `docker run -d -p`, and polling the
 *    published port until it answers 200 with the token.
 * 2. The platform: the delivery POSTed as GitHub sends it (its headers, its HMAC), then polling
 *    the edge until it answers 200 with the token; the old commit serves until then.
 *
 * The same commit, built twice on one engine, would come from the cache the second time: the
 * platform builds through the engine's classic builder, and so does `docker build` here (the CLI
 * has no buildx; DOCKER_BUILDKIT=0 says so), and the two share one layer cache. So the reference
 * goes first, and once timed its container, its image and every layer its build made are removed:
 * the platform then builds the commit from the same cache as the reference did (base images and
 * the dependencies' layer cached, the source's layers new). Each side's steps taken from the cache
 * are printed, to show it.
 *
 *   node --import tsx bench/push-to-live.ts [N]     (N defaults to 5)
 */
import { execFile } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { and, desc, eq } from "drizzle-orm";
import { githubPush } from "../src/forges/fixtures.js";
import type { PlanBuildResponse } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { builds } from "../src/store/schema.js";
import { freePort } from "../test/helpers/caddy.js";
import {
  FIXTURE_CONTENT,
  type FixtureRepo,
  makeFixtureRepo,
} from "../test/helpers/git-fixtures.js";
import {
  BENCH_LABEL,
  type BenchPlatform,
  commitToBranch,
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

const run = promisify(execFile);

const N = Number(process.argv[2] ?? 5);
const KINDS = ["static", "node"] as const;
type Kind = (typeof KINDS)[number];
const NAME = "push-to-live";
/** Both sides are polled alike: a fresh connection every 10 ms. */
const POLL_MS = 10;
const LIVE_TIMEOUT_MS = 150_000;

interface PlatformSample {
  total: number;
  /** The delivery's answer (202). */
  answered: number;
  buildStart: number;
  buildEnd: number;
  /** runtime.run returned: the new container created and started. */
  containerStarted: number | undefined;
  healthy: number | undefined;
  routed: number | undefined;
  cache: CacheUse;
}

interface ReferenceSample {
  total: number;
  /** Clone done and the plan's files written. */
  cloned: number;
  built: number;
  /** `docker run -d` returned (the container started). */
  started: number;
  cache: CacheUse;
}

/** The build's steps (FROM excluded) and how many of them the engine took from its cache. */
interface CacheUse {
  steps: number;
  cached: number;
}

/** The files a run changes: what the app shows carries `token`. */
function change(kind: Kind, token: string): Record<string, string> {
  if (kind === "static") {
    return {
      "index.html": `<!doctype html><title>fixture</title><p>${FIXTURE_CONTENT.static} ${token}</p>\n`,
    };
  }
  // The app answers "node app (<dist/message.txt>)", and its build script writes that file: the
  // token shows that `npm run build` ran on the new commit.
  return {
    "build.js": [
      'const fs = require("node:fs");',
      'fs.mkdirSync(__dirname + "/dist", { recursive: true });',
      `fs.writeFileSync(__dirname + "/dist/message.txt", "built by npm run build, ${token}");`,
      "",
    ].join("\n"),
  };
}

// ---------------------------------------------------------------------------------------------
// The classic builder's output: "Step 3/9 : COPY . .", then " ---> Using cache" when the step
// came from the cache, and " ---> <image id>" at the end of every step.

interface BuildSteps extends CacheUse {
  /** The images the build made itself (steps neither FROM nor from the cache), in order. */
  made: string[];
}

function readSteps(output: string): BuildSteps {
  const result: BuildSteps = { steps: 0, cached: 0, made: [] };
  let step: { from: boolean; cached: boolean; image?: string } | undefined;
  const close = () => {
    if (!step || step.from) return;
    result.steps++;
    if (step.cached) result.cached++;
    else if (step.image !== undefined) result.made.push(step.image);
  };
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    const header = /^Step \d+\/\d+ : (\S+)/.exec(line);
    if (header) {
      close();
      step = { from: header[1]?.toUpperCase() === "FROM", cached: false };
      continue;
    }
    if (!step) continue;
    if (line === "---> Using cache") step.cached = true;
    const image = /^---> ([0-9a-f]{12,64})$/.exec(line);
    if (image) step.image = image[1];
  }
  close();
  return result;
}

// ---------------------------------------------------------------------------------------------
// By hand

/** git with none of the machine's configuration. */
function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
}

/** The docker CLI, on the classic builder the platform's API builds use too. */
const dockerEnv = (): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_BUILDKIT: "0" });

/** Removes images by id, newest first; an image gone already (pruned with its child) is fine. */
async function removeImages(ids: string[]): Promise<void> {
  for (const id of [...ids].reverse()) {
    await docker
      .getImage(id)
      .remove()
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) console.error(`could not remove image ${id}:`, error);
      });
  }
}

async function referenceSample(
  repo: FixtureRepo,
  kind: Kind,
  sha: string,
  plan: PlanBuildResponse,
  token: string,
): Promise<ReferenceSample> {
  const work = await mkdtemp(join(tmpdir(), "obiente-bench-push-"));
  const checkout = join(work, "checkout");
  const tag = `obiente-bench/${NAME}:${kind}-${sha.slice(0, 12)}`;
  const port = await freePort();
  let made: string[] = [];
  let containerId: string | undefined;
  try {
    const t0 = nowMs();
    await run("git", ["clone", "--quiet", "--depth", "1", "--branch", kind, repo.url, checkout], {
      env: gitEnv(work),
    });
    const { stdout: head } = await run("git", ["-C", checkout, "rev-parse", "HEAD"], {
      env: gitEnv(work),
    });
    if (head.trim() !== sha) throw new Error(`cloned ${head.trim()}, not ${sha}`);
    // The platform leaves git's metadata out of the build context too.
    await rm(join(checkout, ".git"), { recursive: true, force: true });
    for (const file of [{ path: plan.dockerfilePath, contents: plan.dockerfile }, ...plan.files]) {
      await mkdir(dirname(join(checkout, file.path)), { recursive: true });
      await writeFile(join(checkout, file.path), file.contents);
    }
    const cloned = nowMs() - t0;

    let output: string;
    try {
      ({ stdout: output } = await run(
        "docker",
        ["build", "-f", plan.dockerfilePath, "-t", tag, "--label", `${BENCH_LABEL}=${NAME}`, "."],
        { cwd: checkout, env: dockerEnv(), maxBuffer: 64 * 1024 * 1024 },
      ));
    } catch (error) {
      made = readSteps(String((error as { stdout?: unknown }).stdout ?? "")).made;
      throw error;
    }
    const steps = readSteps(output);
    made = steps.made;
    const built = nowMs() - t0;

    const { stdout: id } = await run(
      "docker",
      [
        "run",
        "-d",
        "--label",
        `${BENCH_LABEL}=${NAME}`,
        "-p",
        `127.0.0.1:${port}:${plan.port}`,
        tag,
      ],
      { env: dockerEnv() },
    );
    containerId = id.trim();
    const started = nowMs() - t0;
    const { at } = await firstOk(port, "localhost", {
      intervalMs: POLL_MS,
      body: token,
      timeoutMs: LIVE_TIMEOUT_MS,
    });
    return {
      total: at - t0,
      cloned,
      built,
      started,
      cache: { steps: steps.steps, cached: steps.cached },
    };
  } finally {
    if (containerId !== undefined) {
      await docker
        .getContainer(containerId)
        .remove({ force: true, v: true })
        .catch((error: unknown) => console.error(`could not remove ${containerId}:`, error));
    }
    // The tag first (its untagged parents go with it), then whatever layers are left.
    await removeImages([...made, tag]);
    await rm(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The platform

/** POSTs a push of `after` to the project's GitHub webhook, signed as GitHub signs it. */
async function deliverPush(
  bp: BenchPlatform,
  secret: string,
  repo: FixtureRepo,
  branch: string,
  before: string,
  after: string,
  message: string,
) {
  const template = githubPush();
  const payload = {
    ...template,
    ref: `refs/heads/${branch}`,
    before,
    after,
    commits: template.commits.map((c) => ({ ...c, id: after, message })),
    head_commit: template.head_commit && { ...template.head_commit, id: after, message },
    // The forge's clone URL is where the deployment clones from: here, the fixture.
    repository: { ...template.repository, clone_url: repo.url },
  };
  const body = JSON.stringify(payload);
  const signature = createHmac("sha256", secret).update(body).digest("hex");
  const response = await fetch(`${bp.t.baseUrl}/api/v1/webhooks/github/${bp.projectId}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/abc1234",
      "x-github-event": "push",
      "x-github-delivery": randomUUID(),
      "x-github-hook-id": "42",
      "x-hub-signature-256": `sha256=${signature}`,
    },
    body,
  });
  const answer = (await response.json()) as {
    message: string;
    results?: Array<{ action: string; message: string }>;
  };
  if (response.status !== 202 || answer.results?.[0]?.action !== "deploy") {
    throw new Error(`the delivery was not deployed: ${response.status} ${JSON.stringify(answer)}`);
  }
}

async function platformSample(
  bp: BenchPlatform,
  secret: string,
  repo: FixtureRepo,
  kind: Kind,
  target: { id: string; domain: string },
  commits: { before: string; after: string },
  token: string,
): Promise<PlatformSample> {
  bp.marks.reset(target.id);
  const t0 = nowMs();
  await deliverPush(bp, secret, repo, kind, commits.before, commits.after, `push ${token}`);
  const answered = nowMs() - t0;
  const { at } = await firstOk(bp.edgePort as number, target.domain, {
    intervalMs: POLL_MS,
    body: token,
    timeoutMs: LIVE_TIMEOUT_MS,
  });
  // Steady state before the next run: the old container drained, the status settled.
  await bp.waitForStatus(target.id, "running");
  const [build] = await bp.t.platform.database.db
    .select()
    .from(builds)
    .where(and(eq(builds.deploymentId, target.id), eq(builds.commitSha, commits.after)))
    .orderBy(desc(builds.createdAt))
    .limit(1);
  if (!build?.startedAt || !build.finishedAt) throw new Error("the push's build row has no times");
  const m = bp.marks.of(target.id);
  const rel = (x: number | undefined) => (x === undefined ? undefined : x - t0);
  const steps = readSteps(build.logs);
  return {
    total: at - t0,
    answered,
    buildStart: build.startedAt.getTime() - t0,
    buildEnd: build.finishedAt.getTime() - t0,
    containerStarted: rel(m.runEnd),
    healthy: rel(m.healthy),
    routed: rel(m.routed),
    cache: { steps: steps.steps, cached: steps.cached },
  };
}

// ---------------------------------------------------------------------------------------------

const cacheText = (c: CacheUse) => `${c.cached}/${c.steps}`;

async function main() {
  await printHeader(
    `push to live, static site and Node.js app, against docker build + run by hand (N=${N} each)`,
  );
  const repo = await makeFixtureRepo();
  let bp: BenchPlatform | undefined;
  await withCleanup(
    async () => {
      bp = await startBenchPlatform();
      const edgePort = bp.edgePort;
      if (edgePort === undefined) throw new Error("no built-in edge");
      const { secret } = await bp.t
        .client(ProjectService)
        .rotateWebhookSecret({ projectId: bp.projectId });
      const suffix = uniqueSuffix();
      const results = new Map<Kind, { platform: PlatformSample[]; reference: ReferenceSample[] }>();

      for (const kind of KINDS) {
        const t0 = nowMs();
        const target = await bp.create({
          name: `p2l-${kind}-${suffix}`,
          gitRepo: repo.url,
          branch: kind,
        });
        await firstOk(edgePort, target.domain, {
          intervalMs: 20,
          body: FIXTURE_CONTENT[kind],
          timeoutMs: LIVE_TIMEOUT_MS,
        });
        await bp.waitForStatus(target.id, "running");
        console.log(`${kind}: first deploy, not counted: ${ms(nowMs() - t0, 0)}`);

        let before = repo.commits[kind];
        const platform: PlatformSample[] = [];
        const reference: ReferenceSample[] = [];
        for (let i = 1; i <= N; i++) {
          const token = `${suffix}-${kind}-push-${i}`;
          const after = await commitToBranch(repo, kind, change(kind, token), `push ${i}`);
          // The Dockerfile the platform plans for this very commit.
          const plan = await bp.deployments.planBuild({ deploymentId: target.id });
          if (plan.commitSha !== after) {
            throw new Error(`planned ${plan.commitSha}, not the new commit ${after}`);
          }
          if (i === 1) console.log(`${kind}: ${plan.stack}; ${plan.dockerfilePath}`);
          reference.push(await referenceSample(repo, kind, after, plan, token));
          platform.push(
            await platformSample(bp, secret, repo, kind, target, { before, after }, token),
          );
          before = after;
        }
        await bp.remove(target.id);
        results.set(kind, { platform, reference });

        console.log("");
        console.log(
          `${kind}, platform: push delivery → first 200 with the new commit at the edge (ms from the POST)`,
        );
        console.log(
          table([
            [
              "run",
              "202",
              "build start",
              "build end",
              "container started",
              "healthy",
              "route live",
              "first 200",
              "steps cached",
            ],
            ...platform.map((s, i) => [
              String(i + 1),
              ms(s.answered),
              ms(s.buildStart, 0),
              ms(s.buildEnd, 0),
              ms(s.containerStarted, 0),
              ms(s.healthy, 0),
              ms(s.routed, 0),
              ms(s.total, 0),
              cacheText(s.cache),
            ]),
          ]),
        );
        console.log("");
        console.log(
          `${kind}, by hand: git clone → docker build → docker run -p → first 200 with the new commit (ms from the clone)`,
        );
        console.log(
          table([
            ["run", "cloned", "built", "started", "first 200", "steps cached"],
            ...reference.map((s, i) => [
              String(i + 1),
              ms(s.cloned, 0),
              ms(s.built, 0),
              ms(s.started, 0),
              ms(s.total, 0),
              cacheText(s.cache),
            ]),
          ]),
        );
        console.log("");
      }

      console.log("medians");
      const rows: string[][] = [
        ["", "platform: push → live", "min", "max", "by hand: clone → live", "min", "max", "ratio"],
      ];
      for (const kind of KINDS) {
        const r = results.get(kind);
        const p = summarize((r?.platform ?? []).map((s) => s.total));
        const h = summarize((r?.reference ?? []).map((s) => s.total));
        rows.push([
          kind,
          ms(p.median, 0),
          ms(p.min, 0),
          ms(p.max, 0),
          ms(h.median, 0),
          ms(h.min, 0),
          ms(h.max, 0),
          (p.median / h.median).toFixed(2),
        ]);
      }
      console.log(table(rows));
      console.log("ratio = platform median / by-hand median");
      console.log("");

      // Where each side's time goes, step by step; "build" is the clone and the docker build on
      // both sides (the platform's: builds.started_at → finished_at, which also plans and packs).
      console.log("step durations (medians)");
      const med = (xs: Array<number | undefined>) =>
        ms(summarize(xs.filter((x): x is number => x !== undefined)).median, 0);
      const steps: string[][] = [
        ["", "before the build", "clone + build", "→ container started", "started → 200", "total"],
      ];
      for (const kind of KINDS) {
        const p = results.get(kind)?.platform ?? [];
        const h = results.get(kind)?.reference ?? [];
        const after = (x: number | undefined, y: number | undefined) =>
          x === undefined || y === undefined ? undefined : x - y;
        steps.push([
          `${kind}, platform`,
          med(p.map((s) => s.buildStart)),
          med(p.map((s) => s.buildEnd - s.buildStart)),
          med(p.map((s) => after(s.containerStarted, s.buildEnd))),
          med(p.map((s) => after(s.total, s.containerStarted))),
          med(p.map((s) => s.total)),
        ]);
        steps.push([
          `${kind}, by hand`,
          "—",
          med(h.map((s) => s.built)),
          med(h.map((s) => s.started - s.built)),
          med(h.map((s) => s.total - s.started)),
          med(h.map((s) => s.total)),
        ]);
      }
      console.log(table(steps));
    },
    async () => {
      await bp?.close();
      await removeBenchContainers(NAME);
      const leftover = await docker
        .listImages({ filters: { label: [`${BENCH_LABEL}=${NAME}`] } })
        .catch((error: unknown) => {
          console.error("could not list the reference's images:", error);
          return [];
        });
      await removeImages(leftover.map((image) => image.Id));
      await repo.cleanup();
    },
  );
  printFooter();
}

await main();
