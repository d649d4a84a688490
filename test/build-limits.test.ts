/**
 * What one build may use, on the real Docker engine with the local base images
 * (scripts/test-images.sh): its output (a step printing 2 GB leaves the platform's memory where it
 * was, and the log says what was cut), CPU and memory (the engine's cgroup limits, seen from inside
 * a step), disk (a step writing past the limit is stopped), the number of files in the checkout,
 * and the labels of the image it makes (no routes at the edge from a Dockerfile).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import { BUILD_ID_LABEL, type BuildImageOptions, buildImage } from "../src/builder/index.js";
import { DomainError } from "../src/domain/errors.js";
import type { ChildReport } from "./helpers/build-child.js";
import { BUSYBOX_IMAGE } from "./helpers/git-fixtures.js";
import { makeRepo, type TestRepo } from "./helpers/repo.js";

const run = promisify(execFile);
const docker = new Dockerode();
const MB = 1024 * 1024;
/** What the flooding step prints. */
const FLOOD_MB = 2048;

describe("build limits (real Docker engine)", () => {
  let root: string;
  let workRoot: string;
  const repos: TestRepo[] = [];
  const buildIds: string[] = [];

  before(async () => {
    await docker
      .getImage(BUSYBOX_IMAGE)
      .inspect()
      .catch(() => assert.fail(`${BUSYBOX_IMAGE} is missing: run scripts/test-images.sh`));
    root = await mkdtemp(join(tmpdir(), "obiente-build-limits-"));
    workRoot = join(root, "work");
    await mkdir(workRoot);
  });

  after(async () => {
    try {
      for (const buildId of buildIds) {
        const images = await docker.listImages({
          all: true,
          filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] },
        });
        // The newest first: removing it removes its untagged parents, which may be listed too.
        for (const image of images.sort((a, b) => b.Created - a.Created)) {
          await docker
            .getImage(image.Id)
            .remove({ force: true })
            .catch((error: { statusCode?: number }) => {
              if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
            });
        }
      }
    } finally {
      for (const repo of repos) await repo.cleanup();
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    }
  });

  /** A repository whose Dockerfile has these steps after FROM; a nonce keeps the cache out. */
  async function dockerfileRepo(steps: string[], options: { emptyFiles?: number } = {}) {
    const dockerfile = [`FROM ${BUSYBOX_IMAGE}`, `RUN echo ${randomUUID()}`, ...steps, ""].join(
      "\n",
    );
    const repo = await makeRepo({ Dockerfile: dockerfile }, options);
    repos.push(repo);
    return repo;
  }

  function options(repo: TestRepo, limits: Partial<BuildImageOptions["limits"]> = {}) {
    const buildId = randomUUID();
    buildIds.push(buildId);
    const logs: string[] = [];
    const opts: BuildImageOptions = {
      docker,
      buildId,
      deploymentId: randomUUID(),
      gitRepo: repo.url,
      branch: "main",
      workRoot,
      limits: { timeoutMs: 120_000, maxRepoBytes: 50 * MB, ...limits },
      images: { nodeImage: BUSYBOX_IMAGE, staticImage: BUSYBOX_IMAGE },
      allowFile: true,
      onLog: (line) => logs.push(line),
      networkMode: "none",
    };
    return { opts, logs };
  }

  async function rejectsWith(promise: Promise<unknown>, kind: string, message: RegExp) {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof DomainError, `a DomainError, got ${String(error)}`);
      assert.equal(error.kind, kind, error.message);
      assert.match(error.message, message);
      return true;
    });
  }

  async function assertNoImage(buildId: string) {
    const images = await docker.listImages({
      all: true,
      filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] },
    });
    assert.deepEqual(images, [], "no image of the build is left");
    assert.deepEqual(await readdir(workRoot), [], "the work folder is gone");
  }

  it(`a step printing ${FLOOD_MB} MB: memory stays flat, the log says it was cut, the build succeeds`, async () => {
    const repo = await dockerfileRepo([
      "RUN echo before the flood",
      `RUN yes | head -c ${FLOOD_MB}m && echo the flood is over`,
    ]);
    const maxLogChars = 64 * 1024;
    const { opts } = options(repo, { timeoutMs: 600_000, maxLogChars });
    const { docker: _docker, onLog: _onLog, ...input } = opts;
    // The platform's side of the build in a process of its own, so that its memory is its own.
    const { stdout } = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "--max-old-space-size=4096",
        "test/helpers/build-child.ts",
        JSON.stringify(input),
      ],
      { maxBuffer: 16 * MB, timeout: 660_000 },
    );
    const report = JSON.parse(stdout) as ChildReport;
    const grewMb = (report.maxRss - report.baselineRss) / MB;
    console.log(
      `${FLOOD_MB} MB of build output: ${Math.round(report.durationMs / 1000)} s, RSS ${Math.round(report.baselineRss / MB)} MB at rest, +${grewMb.toFixed(1)} MB at most, ${report.logChars} characters of log`,
    );
    assert.ok(report.ok, `the build succeeded: ${report.message}`);
    assert.ok(grewMb < 100, `RSS grew by ${grewMb.toFixed(1)} MB`);
    assert.ok(
      report.lines.some((line) => /^\[[\d.]+ [KMG]?B of the build's output cut/.test(line)),
      "the log says how much was cut",
    );
    assert.ok(report.logChars < maxLogChars + 4096, `the log is bounded: ${report.logChars}`);
    assert.ok(report.lines.includes("before the flood"), "the head is kept");
    assert.ok(report.lines.includes("the flood is over"), "the tail is kept");
    assert.match(report.lines[report.lines.length - 1] ?? "", /^built obiente\//);
  });

  it("runs each step with the CPU and memory limits (seen from inside the step)", async () => {
    const repo = await dockerfileRepo([
      // cgroup v1 or v2, whichever the engine uses.
      "RUN echo cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max) memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)",
    ]);
    const { opts, logs } = options(repo, { cpus: 0.5, memoryBytes: 96 * MB });
    await buildImage(opts);
    assert.ok(logs.includes(`cpu=50000 memory=${96 * MB}`), logs.join("\n"));
  });

  it("a step over the memory limit fails the build", async () => {
    const repo = await dockerfileRepo([
      `RUN x="$(head -c 200m /dev/zero | tr '\\0' a)"; echo "held \${#x} bytes"`,
    ]);
    const { opts, logs } = options(repo, { memoryBytes: 64 * MB });
    await rejectsWith(buildImage(opts), "failed_precondition", /^build failed: step 3\/\d+ .*/);
    assert.ok(!logs.some((line) => line.startsWith("held ")), logs.join("\n"));
    await assertNoImage(opts.buildId);
  });

  it("a step writing past the disk limit is stopped", async () => {
    const repo = await dockerfileRepo(["RUN head -c 300m /dev/zero > /big && sleep 20"]);
    const { opts } = options(repo, { maxDiskBytes: 100 * MB });
    const started = Date.now();
    await rejectsWith(
      buildImage(opts),
      "failed_precondition",
      /^the build uses more disk than its limit of 100 MB \(BUILD_MAX_DISK_MB\)$/,
    );
    assert.ok(Date.now() - started < 20_000, "stopped before the step ended by itself");
    await assertNoImage(opts.buildId);
  });

  it("a checkout over the disk limit is refused", async () => {
    const repo = await dockerfileRepo(["RUN true"]);
    const { opts } = options(repo, { maxDiskBytes: 2048 });
    await rejectsWith(buildImage(opts), "failed_precondition", /limit of 2 KB/);
    await assertNoImage(opts.buildId);
  });

  it("a repository of many empty files is refused by its file count", async () => {
    const repo = await dockerfileRepo(["RUN true"], { emptyFiles: 3_000 });
    const { opts } = options(repo, { maxRepoFiles: 1_000 });
    await rejectsWith(
      buildImage(opts),
      "failed_precondition",
      /^the repository holds more than the limit of 1000 files and folders \(BUILD_MAX_FILES\)$/,
    );
    await assertNoImage(opts.buildId);
  });

  for (const label of [
    "traefik.http.routers.x.rule=Host(`victim.example`)",
    "Traefik.enable=true",
    "caddy=victim.example",
    "caddy_0.reverse_proxy={{upstreams 8080}}",
    "cloud.obiente.project_id=someone-elses",
  ]) {
    it(`refuses an image labelled ${label.split("=")[0]}`, async () => {
      const [name, value] = label.split(/=(.*)/s) as [string, string];
      const repo = await dockerfileRepo([`LABEL ${JSON.stringify(name)}=${JSON.stringify(value)}`]);
      const { opts } = options(repo);
      await rejectsWith(
        buildImage(opts),
        "failed_precondition",
        new RegExp(
          `^build refused: the image carries the label "${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"`,
        ),
      );
      await assertNoImage(opts.buildId);
    });
  }

  it("refuses a routing label inherited from the base image", async () => {
    const base = `obiente-test/labelled-base:${randomUUID().slice(0, 8)}`;
    const baseRepo = await dockerfileRepo(["LABEL traefik.http.routers.evil.rule=Host(`x`)"]);
    // The base is built by the engine directly: the platform would refuse it.
    await run("docker", ["build", "-q", "-t", base, baseRepo.dir], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
    });
    try {
      const repo = await makeRepo({ Dockerfile: `FROM ${base}\nRUN echo ${randomUUID()}\n` });
      repos.push(repo);
      const { opts } = options(repo);
      await rejectsWith(
        buildImage(opts),
        "failed_precondition",
        /traefik\.http\.routers\.evil\.rule/,
      );
      await assertNoImage(opts.buildId);
    } finally {
      await docker.getImage(base).remove({ force: true });
    }
  });
});
