/**
 * The builder against the real git CLI and the real Docker engine: each fixture app builds to an
 * image that serves its own page, and every kind of bad input or failed build is refused with a
 * clear message, leaving no image, no work folder and no file anywhere else.
 * Needs the local base images (scripts/test-images.sh); nothing is pulled, RUN steps have no network.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Dockerode from "dockerode";
import {
  BUILD_ID_LABEL,
  type BuildImageOptions,
  buildImage,
  cloneShallow,
  DEPLOYMENT_ID_LABEL,
} from "../src/builder/index.js";
import { DomainError } from "../src/domain/errors.js";
import {
  BUSYBOX_IMAGE,
  CADDY_IMAGE,
  FIXTURE_CONTENT,
  type FixtureRepo,
  makeFixtureRepo,
  NODE_IMAGE,
} from "./helpers/git-fixtures.js";
import { type InjectionProbe, makeInjectionProbe, provesLive } from "./helpers/injection-probe.js";

const docker = new Dockerode();
const RUN_LABEL = "cloud.obiente.test-run";
const runId = randomUUID();
const SENTINEL_TEXT = "the builder must not touch this\n";

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** GET on loopback without keep-alive (no socket outlives the test), retried until `deadline`. */
async function getUntilOk(port: number, path: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>(
        (resolve, reject) => {
          const request = http.get(
            { host: "127.0.0.1", port, path, agent: false, timeout: 2_000 },
            (response) => {
              let body = "";
              response.setEncoding("utf8");
              response.on("data", (chunk: string) => {
                body += chunk;
              });
              response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
              response.on("error", reject);
            },
          );
          request.on("timeout", () => request.destroy(new Error("timeout")));
          request.on("error", reject);
        },
      );
      if (status === 200) return body;
      last = `HTTP ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`no HTTP 200 from 127.0.0.1:${port}${path}: ${last}`);
}

/** Runs the image with its port published on a random loopback port. */
async function serve(imageId: string, port: number) {
  const container = await docker.createContainer({
    Image: imageId,
    Labels: { [RUN_LABEL]: runId },
    ExposedPorts: { [`${port}/tcp`]: {} },
    HostConfig: {
      PortBindings: { [`${port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
    },
  });
  await container.start();
  const info = await container.inspect();
  const hostPort = Number(info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort);
  assert.ok(hostPort > 0, "a published host port");
  return { container, hostPort };
}

async function imagesOfBuild(buildId: string) {
  return docker.listImages({ all: true, filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] } });
}

describe("builder (real git CLI, real Docker engine)", () => {
  let fixture: FixtureRepo;
  let root: string;
  let workRoot: string;
  let sentinel: string;
  const probe: InjectionProbe = makeInjectionProbe();
  const buildIds: string[] = [];

  before(async () => {
    for (const image of [BUSYBOX_IMAGE, NODE_IMAGE, CADDY_IMAGE]) {
      await docker
        .getImage(image)
        .inspect()
        .catch(() => assert.fail(`${image} is missing: run scripts/test-images.sh`));
    }
    fixture = await makeFixtureRepo();
    assert.ok(
      await provesLive(probe, fixture.url),
      "the injection payloads work where git honours them",
    );
    root = await mkdtemp(join(tmpdir(), "obiente-builder-test-"));
    workRoot = join(root, "work");
    await mkdir(workRoot);
    sentinel = join(root, "sentinel", "file.txt");
    await mkdir(join(root, "sentinel"));
    await writeFile(sentinel, SENTINEL_TEXT);
  });

  after(async () => {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${RUN_LABEL}=${runId}`] },
    });
    for (const c of containers) await docker.getContainer(c.Id).remove({ force: true });
    for (const buildId of buildIds) {
      for (const image of await imagesOfBuild(buildId)) {
        await docker.getImage(image.Id).remove({ force: true });
      }
    }
    await fixture?.cleanup();
    await probe.cleanup();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  function options(branch: string, overrides: Partial<BuildImageOptions> = {}) {
    const buildId = randomUUID();
    buildIds.push(buildId);
    const logs: string[] = [];
    const opts: BuildImageOptions = {
      docker,
      buildId,
      deploymentId: randomUUID(),
      gitRepo: fixture.url,
      branch,
      workRoot,
      limits: { timeoutMs: 120_000, maxRepoBytes: 50 * 1024 * 1024 },
      images: { nodeImage: NODE_IMAGE, staticImage: CADDY_IMAGE },
      allowFile: true,
      onLog: (line) => logs.push(line),
      networkMode: "none",
      ...overrides,
    };
    return { opts, logs };
  }

  /** Nothing left behind: no image of the build, no work folder, nothing written elsewhere. */
  async function assertNoTrace(buildId: string) {
    assert.deepEqual(await imagesOfBuild(buildId), [], "no image labelled with the build id");
    assert.deepEqual(await readdir(workRoot), [], "the work root is empty");
    assert.equal(await probe.fired(), false, `${probe.marker} was not created`);
    assert.equal(await readFile(sentinel, "utf8"), SENTINEL_TEXT, "the sentinel is untouched");
    assert.deepEqual(await readdir(join(root, "sentinel")), ["file.txt"]);
  }

  async function rejectsWith(
    promise: Promise<unknown>,
    kind: DomainError["kind"],
    message: RegExp,
  ): Promise<void> {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof DomainError, `a DomainError, got ${String(error)}`);
      assert.equal(error.kind, kind, error.message);
      assert.match(error.message, message);
      return true;
    });
  }

  describe("builds each app to an image that serves it", () => {
    const apps = [
      { branch: "dockerfile", kind: "dockerfile", content: FIXTURE_CONTENT.dockerfile },
      { branch: "node", kind: "node", content: FIXTURE_CONTENT.node },
      { branch: "static", kind: "static", content: FIXTURE_CONTENT.static },
    ] as const;
    for (const app of apps) {
      it(app.branch, async () => {
        const { opts, logs } = options(app.branch);
        const built = await buildImage(opts);
        assert.match(built.imageId, /^sha256:[0-9a-f]{64}$/);
        assert.equal(built.kind, app.kind);
        assert.equal(built.port, 8080);
        assert.equal(built.commitSha, fixture.commits[app.branch]);
        assert.equal(built.tag, `obiente/${opts.deploymentId}:${built.commitSha.slice(0, 12)}`);
        assert.deepEqual(await readdir(workRoot), [], "the work folder is gone after success");
        assert.ok(logs.some((line) => line.startsWith("Step 1/")));

        const image = await docker.getImage(built.imageId).inspect();
        assert.equal(image.Config.Labels?.[BUILD_ID_LABEL], opts.buildId);
        assert.equal(image.Config.Labels?.[DEPLOYMENT_ID_LABEL], opts.deploymentId);
        assert.ok(image.RepoTags?.includes(built.tag));

        const { container, hostPort } = await serve(built.imageId, built.port);
        try {
          const body = await getUntilOk(hostPort, "/");
          assert.ok(body.includes(app.content), `"${app.content}" in ${body}`);
          if (app.branch === "node") {
            assert.ok(body.includes("built by npm run build"), "npm run build ran");
            const files = JSON.parse(await getUntilOk(hostPort, "/files")) as string[];
            assert.ok(files.includes("server.js") && files.includes("dist"));
            assert.ok(!files.includes("secret.txt"), ".dockerignore is honoured");
            assert.ok(!files.includes("NOTES.md"), ".dockerignore patterns are honoured");
            assert.ok(!files.includes(".git"), "git's metadata is not sent");
            assert.ok(!files.includes(".obiente-build"), "the builder's own files stay out");
          }
        } finally {
          await container.remove({ force: true });
          await docker.getImage(built.imageId).remove({ force: true });
        }
      });
    }
  });

  describe("refuses bad input and failed builds, leaving nothing behind", () => {
    const cases: {
      name: string;
      branch: string;
      overrides?: Partial<BuildImageOptions>;
      kind: DomainError["kind"];
      message: RegExp;
      maxMs?: number;
    }[] = [
      {
        // Whitespace-free, so that the remote helper rule alone answers.
        name: "an ext:: remote that would run a command",
        branch: "static",
        overrides: { gitRepo: probe.extRemote },
        kind: "invalid_argument",
        message: /remote helper/,
      },
      {
        // git reads what follows --branch as its value; the rule refuses it before git is run.
        name: "a branch that is a git option",
        branch: probe.uploadPackOption,
        kind: "invalid_argument",
        message: /branch .* is invalid/,
      },
      {
        name: "a repository that is a git option",
        branch: "static",
        overrides: { gitRepo: probe.uploadPackOption },
        kind: "invalid_argument",
        message: /git_repo must not start with '-'/,
      },
      {
        name: "a missing branch",
        branch: "no-such-branch",
        kind: "failed_precondition",
        message: /^branch 'no-such-branch' does not exist in file:\/\//,
      },
      {
        name: "an unreachable repository",
        branch: "main",
        overrides: { gitRepo: "https://127.0.0.1:1/x.git" },
        kind: "unavailable",
        message:
          /^repository https:\/\/127\.0\.0\.1:1\/x\.git is unreachable: .*(connect|refused)/i,
      },
      {
        name: "a file:// repository when the platform does not allow them",
        branch: "static",
        overrides: { allowFile: false },
        kind: "invalid_argument",
        message: /file:\/\/ URLs are disabled/,
      },
      {
        name: "a repository that does not exist",
        branch: "main",
        overrides: { gitRepo: "file:///nonexistent/obiente-repo" },
        kind: "failed_precondition",
        message: /was not found/,
      },
      {
        name: "a Dockerfile step that fails",
        branch: "fails",
        kind: "failed_precondition",
        message: /^build failed: step 3\/\d+ RUN false returned 1$/,
      },
      {
        name: "a build over its time limit",
        branch: "slow",
        overrides: { limits: { timeoutMs: 3_000, maxRepoBytes: 50 * 1024 * 1024 } },
        kind: "deadline_exceeded",
        message: /^build timed out after 3 s$/,
        maxMs: 10_000,
      },
      {
        name: "a repository over the size limit",
        branch: "node",
        overrides: { limits: { timeoutMs: 60_000, maxRepoBytes: 2_048 } },
        kind: "failed_precondition",
        message: /^the repository is larger than the limit of 2 KB$/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const { opts, logs } = options(c.branch, c.overrides);
        const started = Date.now();
        await rejectsWith(buildImage(opts), c.kind, c.message);
        if (c.maxMs !== undefined) assert.ok(Date.now() - started < c.maxMs, "stopped in time");
        await assertNoTrace(opts.buildId);
        if (c.branch === "fails" || c.branch === "slow") {
          // The step containers and the images of the steps before the failure are gone too.
          const containers = await docker.listContainers({ all: true });
          assert.ok(!containers.some((container) => container.Command.includes(fixture.nonce)));
          const base = (await docker.getImage(BUSYBOX_IMAGE).inspect()).Id.slice(7, 19);
          const stepImages = logs
            .map((line) => /^ ---> ([0-9a-f]{12})$/.exec(line)?.[1])
            .filter((id): id is string => id !== undefined && id !== base);
          for (const id of stepImages) {
            await assert.rejects(docker.getImage(id).inspect(), /no such image/i, id);
          }
        }
      });
    }

    it("a build cancelled through its signal", async () => {
      const controller = new AbortController();
      const { opts } = options("slow", { signal: controller.signal });
      const timer = setTimeout(() => controller.abort(), 1_500);
      try {
        await rejectsWith(buildImage(opts), "unavailable", /^the build was cancelled$/);
      } finally {
        clearTimeout(timer);
      }
      await assertNoTrace(opts.buildId);
    });

    it("credentials in a repository URL never reach the message or the log", async () => {
      const { opts, logs } = options("main", {
        gitRepo: "https://deploy:s3cr3t-token@127.0.0.1:1/x.git",
      });
      await rejectsWith(buildImage(opts), "unavailable", /https:\/\/\*\*\*@127\.0\.0\.1:1/);
      assert.ok(!logs.some((line) => line.includes("s3cr3t")), logs.join("\n"));
      await assertNoTrace(opts.buildId);
    });

    it("an invalid build id, which would name the work folder", async () => {
      const { opts } = options("static", { buildId: "../../escape" });
      await rejectsWith(buildImage(opts), "invalid_argument", /build_id must be an id/);
      assert.deepEqual(await readdir(workRoot), []);
      assert.deepEqual((await readdir(root)).sort(), ["sentinel", "work"]);
    });
  });

  describe("cloneShallow", () => {
    it("clones one branch at depth 1 and reports its commit", async () => {
      const dir = join(workRoot, "clone");
      const lines: string[] = [];
      try {
        const { commitSha } = await cloneShallow({
          repo: fixture.url,
          branch: "node",
          dir,
          allowFile: true,
          timeoutMs: 30_000,
          maxBytes: 10 * 1024 * 1024,
          onLog: (line) => lines.push(line),
        });
        assert.equal(commitSha, fixture.commits.node);
        const files = await readdir(dir);
        assert.ok(files.includes("package.json") && !files.includes("Dockerfile"));
        assert.equal(await exists(join(dir, ".git", "hooks")), false, "no template hooks");
        assert.equal((await readFile(join(dir, ".git", "shallow"), "utf8")).trim(), commitSha);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("validates its input again (defence in depth)", async () => {
      const base = {
        dir: join(workRoot, "clone"),
        allowFile: true,
        timeoutMs: 30_000,
        maxBytes: 10 * 1024 * 1024,
      };
      await rejectsWith(
        cloneShallow({ ...base, repo: probe.extRemote, branch: "main" }),
        "invalid_argument",
        /remote helper/,
      );
      await rejectsWith(
        cloneShallow({ ...base, repo: fixture.url, branch: probe.uploadPackOption }),
        "invalid_argument",
        /branch/,
      );
      await rejectsWith(
        cloneShallow({ ...base, repo: probe.uploadPackOption, branch: "main" }),
        "invalid_argument",
        /must not start with '-'/,
      );
      assert.deepEqual(await readdir(workRoot), []);
      assert.equal(await probe.fired(), false);
    });

    it("refuses a folder that holds files, and leaves them alone", async () => {
      const dir = join(root, "sentinel");
      await rejectsWith(
        cloneShallow({
          repo: fixture.url,
          branch: "static",
          dir,
          allowFile: true,
          timeoutMs: 30_000,
          maxBytes: 10 * 1024 * 1024,
        }),
        "invalid_argument",
        /is not empty/,
      );
      assert.equal(await readFile(sentinel, "utf8"), SENTINEL_TEXT);
    });
  });
});
