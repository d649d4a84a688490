/**
 * Building a given commit of a branch, and the commit's metadata, against the real git CLI: a
 * repository made here with history on `main`, served as file:// and by `git http-backend` over
 * HTTPS (protocol v2, and v0 as older servers speak it). cloneShallow checks out the branch's head
 * or an older commit of it and reports the commit's id, message, author and time; a commit the
 * server no longer has, or will not serve, is refused saying why; a malformed id is refused before
 * any git process runs. Then one image built through ImageBuilder from an older commit (needs
 * the Docker engine and the local busybox image of scripts/test-images.sh).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { access, chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import {
  BUILD_ID_LABEL,
  buildImage,
  type CloneOptions,
  cloneShallow,
  ImageBuilder,
  MAX_COMMIT_MESSAGE_CHARS,
} from "../src/builder/index.js";
import { DomainError } from "../src/domain/errors.js";
import { BUSYBOX_IMAGE, CADDY_IMAGE, NODE_IMAGE } from "./helpers/git-fixtures.js";
import { type GitHttpServer, startGitHttpServer } from "./helpers/git-http-server.js";
import { gitEnv } from "./helpers/repo.js";

const run = promisify(execFile);
const docker = new Dockerode();
const RUN_LABEL = "cloud.obiente.test-run";
const runId = randomUUID();

/** The head of `main`: several lines, non-ASCII text, blank lines around it (reported trimmed). */
const HEAD_MESSAGE =
  "\n\nZweite Fassung: größer ✨ — “quoted”\n\nBody line one: 日本語のテキスト\nline two 🚀 ends here\n\n";
const HEAD_AUTHOR = { name: "Zoë Ångström-Núñez", email: "zoë@obiente.test" };
/** An author date with a zone: reported as the same instant. */
const HEAD_DATE = "2024-05-06T07:08:09+02:00";
const FIRST_DATE = "2024-01-02T03:04:05Z";
const FIXTURE_AUTHOR = { name: "Fixture", email: "fixture@obiente.test" };
/** The committer time of the commit whose author date git cannot read. */
const BAD_DATE_COMMITTER_SECONDS = 1_700_000_000;

interface History {
  dir: string;
  url: string;
  /** main's first commit (version.txt "v1") and its head ("v2"). */
  first: string;
  head: string;
  headTree: string;
  /** The head of branch `long`: a message far over the limit. */
  long: string;
  /** The head of branch `baddate`: an author line without a readable date. */
  badDate: string;
  /** A commit of branch `rewritten` that a force-push replaced, and that gc then removed. */
  rewrittenAway: string;
}

async function makeHistory(root: string): Promise<History> {
  const dir = join(root, "source");
  await mkdir(dir);
  const git = async (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) => {
    const child = run("git", ["-c", "commit.gpgsign=false", ...args], {
      cwd: dir,
      env: { ...gitEnv(root), ...env },
    });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    return (await child).stdout.trim();
  };
  await git(["init", "-q", "-b", "main"]);
  await writeFile(
    join(dir, "Dockerfile"),
    [
      `FROM ${BUSYBOX_IMAGE}`,
      "COPY version.txt /version.txt",
      'CMD ["cat", "/version.txt"]',
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "version.txt"), "v1\n");
  await git(["add", "-A"]);
  await git(["commit", "-q", "-m", "first version"], { GIT_AUTHOR_DATE: FIRST_DATE });
  const first = await git(["rev-parse", "HEAD"]);

  await writeFile(join(dir, "version.txt"), "v2\n");
  await git(["commit", "-q", "-a", "--cleanup=verbatim", "-m", HEAD_MESSAGE], {
    GIT_AUTHOR_NAME: HEAD_AUTHOR.name,
    GIT_AUTHOR_EMAIL: HEAD_AUTHOR.email,
    GIT_AUTHOR_DATE: HEAD_DATE,
  });
  const head = await git(["rev-parse", "HEAD"]);
  const headTree = await git(["rev-parse", "HEAD^{tree}"]);

  await git(["switch", "-q", "-c", "long"]);
  await git([
    "commit",
    "-q",
    "--allow-empty",
    "-m",
    `${"é".repeat(1_500)}\n\n${"x".repeat(3_000)}`,
  ]);
  const long = await git(["rev-parse", "HEAD"]);

  // git commit would never write this author line: made by hand, as a broken tool might.
  const badDate = await git(
    ["hash-object", "-t", "commit", "-w", "--literally", "--stdin"],
    {},
    [
      `tree ${headTree}`,
      `parent ${head}`,
      "author Broken Clock <clock@obiente.test> notanumber +0000",
      `committer Broken Clock <clock@obiente.test> ${BAD_DATE_COMMITTER_SECONDS} +0000`,
      "",
      "a commit without a readable author date",
      "",
    ].join("\n"),
  );
  await git(["update-ref", "refs/heads/baddate", badDate]);

  await git(["switch", "-q", "-c", "rewritten", "main"]);
  await git(["commit", "-q", "--allow-empty", "-m", "pushed, then force-pushed away"]);
  const rewrittenAway = await git(["rev-parse", "HEAD"]);
  await git(["commit", "-q", "--amend", "--allow-empty", "-m", "what the branch holds now"]);
  await git(["switch", "-q", "main"]);
  await git(["reflog", "expire", "--expire=now", "--all"]);
  await git(["gc", "-q", "--prune=now"]);
  await assert.rejects(git(["cat-file", "-e", rewrittenAway]), "gc removed the replaced commit");

  return {
    dir,
    url: pathToFileURL(dir).href,
    first,
    head,
    headTree,
    long,
    badDate,
    rewrittenAway,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
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

describe("building a given commit, and the commit's metadata (real git CLI)", () => {
  let root: string;
  let repo: History;
  let clones = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "obiente-git-commit-"));
    repo = await makeHistory(root);
  });

  after(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  /** A fresh checkout folder and the options every clone here shares. */
  function cloneOptions(overrides: Partial<CloneOptions> = {}) {
    const lines: string[] = [];
    const options: CloneOptions = {
      repo: repo.url,
      branch: "main",
      dir: join(root, `clone-${++clones}`),
      allowFile: true,
      timeoutMs: 30_000,
      maxBytes: 10 * 1024 * 1024,
      onLog: (line) => lines.push(line),
      ...overrides,
    };
    return { options, lines };
  }

  /** What cloneShallow and the builder report for main's first commit. */
  const firstCommit = () => ({
    sha: repo.first,
    message: "first version",
    authorName: FIXTURE_AUTHOR.name,
    authorEmail: FIXTURE_AUTHOR.email,
    authoredAt: new Date(FIRST_DATE),
  });

  const headOf = async (dir: string) =>
    (await run("git", ["-C", dir, "rev-parse", "HEAD"], { env: gitEnv(root) })).stdout.trim();

  describe("cloneShallow", () => {
    it("checks out the branch's head and reports its metadata", async () => {
      const { options } = cloneOptions();
      const result = await cloneShallow(options);
      assert.equal(result.commitSha, repo.head);
      assert.deepEqual(result.commit, {
        sha: repo.head,
        message: HEAD_MESSAGE.trim(),
        authorName: HEAD_AUTHOR.name,
        authorEmail: HEAD_AUTHOR.email,
        authoredAt: new Date(HEAD_DATE),
      });
      assert.equal(result.commit.authoredAt.toISOString(), "2024-05-06T05:08:09.000Z");
      assert.equal(await readFile(join(options.dir, "version.txt"), "utf8"), "v2\n");
    });

    it("checks out an older commit of the branch when asked for it", async () => {
      const { options, lines } = cloneOptions({ commit: repo.first });
      const result = await cloneShallow(options);
      assert.equal(await readFile(join(options.dir, "version.txt"), "utf8"), "v1\n");
      assert.equal(await headOf(options.dir), repo.first);
      assert.equal(result.commitSha, repo.first);
      assert.deepEqual(result.commit, firstCommit());
      assert.ok(
        lines.some((line) => line.includes(repo.first)),
        `git's fetch of the commit is in the log: ${lines.join("\n")}`,
      );
    });

    it("fetches nothing more when the commit asked for is the branch's head", async () => {
      const { options, lines } = cloneOptions({ commit: repo.head });
      const result = await cloneShallow(options);
      assert.equal(result.commit.sha, repo.head);
      assert.equal(await readFile(join(options.dir, "version.txt"), "utf8"), "v2\n");
      assert.ok(!lines.some((line) => line.includes("FETCH_HEAD")), lines.join("\n"));
    });

    it("cuts a long message at the limit", async () => {
      const { options } = cloneOptions({ branch: "long" });
      const { commit } = await cloneShallow(options);
      assert.equal(commit.sha, repo.long);
      assert.equal(commit.message.length, MAX_COMMIT_MESSAGE_CHARS);
      assert.ok(commit.message.startsWith("é".repeat(1_500)));
      assert.equal(commit.message.at(-1), "x");
    });

    it("falls back to the committer's time when git cannot read the author's", async () => {
      const { options } = cloneOptions({ branch: "baddate" });
      const { commit } = await cloneShallow(options);
      assert.equal(commit.sha, repo.badDate);
      assert.equal(commit.authorName, "Broken Clock");
      assert.equal(commit.message, "a commit without a readable author date");
      assert.equal(commit.authoredAt.getTime(), BAD_DATE_COMMITTER_SECONDS * 1000);
    });

    it("refuses a commit the server does not have, saying the branch may have been force-pushed", async () => {
      for (const [branch, commit] of [
        ["main", "0123456789abcdef0123456789abcdef01234567"],
        ["rewritten", repo.rewrittenAway],
      ] as const) {
        const { options } = cloneOptions({ branch, commit });
        await rejectsWith(
          cloneShallow(options),
          "failed_precondition",
          new RegExp(
            `^commit ${commit.slice(0, 7)} is not on branch ${branch} any more \\(was the branch force-pushed\\?\\)$`,
          ),
        );
        assert.equal(await exists(options.dir), false, "the failed checkout is removed");
      }
    });

    it("refuses an object that is not a commit", async () => {
      const { options } = cloneOptions({ commit: repo.headTree });
      await rejectsWith(cloneShallow(options), "failed_precondition", /is not a commit of/);
      assert.equal(await exists(options.dir), false);
    });

    it("refuses a malformed commit id before any git process runs", async () => {
      // A `git` first on PATH that only records that it ran.
      const fakeBin = join(root, "fake-bin");
      const marker = join(root, "git-ran");
      await mkdir(fakeBin, { recursive: true });
      await writeFile(join(fakeBin, "git"), `#!/bin/sh\necho "$@" >> '${marker}'\nexit 1\n`);
      await chmod(join(fakeBin, "git"), 0o755);
      const savedPath = process.env.PATH;
      process.env.PATH = `${fakeBin}:${savedPath ?? "/usr/bin:/bin"}`;
      try {
        // The probe works: a valid request does reach the fake git.
        await assert.rejects(cloneShallow(cloneOptions({ commit: repo.first }).options));
        assert.equal(await exists(marker), true, "the fake git ran for a valid request");
        await rm(marker);

        const malformed = [
          "",
          repo.first.slice(0, 7),
          repo.first.slice(0, 39),
          `${repo.first}0`,
          repo.first.toUpperCase(),
          `${repo.first}\n`,
          ` ${repo.first}`,
          "HEAD",
          "main",
          `--upload-pack=touch ${join(root, "pwned")}`,
          `-${repo.first.slice(1)}`,
          "g".repeat(40),
          `${repo.first.slice(0, 32)}^{tree}`,
        ];
        for (const commit of malformed) {
          const { options } = cloneOptions({ commit });
          await rejectsWith(cloneShallow(options), "invalid_argument", /full commit id/);
          assert.equal(await exists(options.dir), false);
        }
        await rejectsWith(
          buildImage({
            docker,
            buildId: randomUUID(),
            deploymentId: randomUUID(),
            gitRepo: repo.url,
            branch: "main",
            commitSha: repo.first.slice(0, 12),
            workRoot: join(root, "unused-work"),
            limits: { timeoutMs: 30_000, maxRepoBytes: 10 * 1024 * 1024 },
            images: { nodeImage: NODE_IMAGE, staticImage: CADDY_IMAGE },
            allowFile: true,
          }),
          "invalid_argument",
          /full commit id/,
        );
        assert.equal(await exists(marker), false, "no git process ran for a malformed id");
        assert.equal(await exists(join(root, "unused-work")), false);
        assert.equal(await exists(join(root, "pwned")), false);
      } finally {
        process.env.PATH = savedPath;
      }
    });
  });

  describe("over smart HTTP (git http-backend)", () => {
    const credential = { username: "deploy", password: `tok-${randomUUID()}` };
    const savedCaInfo = process.env.GIT_SSL_CAINFO;
    let bare: string;
    const servers: GitHttpServer[] = [];

    before(async () => {
      bare = join(root, "served.git");
      await run("git", ["clone", "-q", "--bare", repo.dir, bare], { env: gitEnv(root) });
    });

    after(async () => {
      for (const server of servers) await server.close();
      if (savedCaInfo === undefined) delete process.env.GIT_SSL_CAINFO;
      else process.env.GIT_SSL_CAINFO = savedCaInfo;
    });

    async function serve(protocolV0: boolean): Promise<GitHttpServer> {
      const server = await startGitHttpServer(bare, credential, { protocolV0 });
      servers.push(server);
      // The platform's git trusts the test server's certificate (passed through to git).
      process.env.GIT_SSL_CAINFO = server.caFile;
      return server;
    }

    it("fetches an older commit of the branch (protocol v2)", async () => {
      const server = await serve(false);
      const { options } = cloneOptions({
        repo: server.url,
        commit: repo.first,
        httpCredential: credential,
      });
      const result = await cloneShallow(options);
      assert.equal(result.commit.sha, repo.first);
      assert.equal(result.commit.message, "first version");
      assert.equal(await readFile(join(options.dir, "version.txt"), "utf8"), "v1\n");
      assert.equal(await headOf(options.dir), repo.first);

      const unknown = cloneOptions({
        repo: server.url,
        commit: repo.rewrittenAway,
        branch: "rewritten",
        httpCredential: credential,
      });
      await rejectsWith(
        cloneShallow(unknown.options),
        "failed_precondition",
        /is not on branch rewritten any more \(was the branch force-pushed\?\)/,
      );
    });

    it("a server that serves only branch heads (protocol v0) refuses it, saying so", async () => {
      const server = await serve(true);
      const { options } = cloneOptions({
        repo: server.url,
        commit: repo.first,
        httpCredential: credential,
      });
      await rejectsWith(
        cloneShallow(options),
        "failed_precondition",
        new RegExp(
          `^commit ${repo.first.slice(0, 7)} is not the head of branch main any more, and ${server.url.replaceAll(".", "\\.")} serves only the heads of branches`,
        ),
      );
      assert.equal(await exists(options.dir), false);

      // The head itself needs no fetch of its own.
      const head = cloneOptions({
        repo: server.url,
        commit: repo.head,
        httpCredential: credential,
      });
      assert.equal((await cloneShallow(head.options)).commit.sha, repo.head);

      // Once the server serves commits reachable from its branches, the older commit comes.
      await run("git", ["-C", bare, "config", "uploadpack.allowReachableSHA1InWant", "true"], {
        env: gitEnv(root),
      });
      try {
        const again = cloneOptions({
          repo: server.url,
          commit: repo.first,
          httpCredential: credential,
        });
        assert.equal((await cloneShallow(again.options)).commit.sha, repo.first);
        assert.equal(await readFile(join(again.options.dir, "version.txt"), "utf8"), "v1\n");
      } finally {
        await run("git", ["-C", bare, "config", "--unset", "uploadpack.allowReachableSHA1InWant"], {
          env: gitEnv(root),
        });
      }
    });
  });

  describe("ImageBuilder (real Docker engine)", () => {
    let workRoot: string;
    const buildIds: string[] = [];

    before(async () => {
      await docker
        .getImage(BUSYBOX_IMAGE)
        .inspect()
        .catch(() => assert.fail(`${BUSYBOX_IMAGE} is missing: run scripts/test-images.sh`));
      workRoot = join(root, "work");
      await mkdir(workRoot);
    });

    after(async () => {
      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`${RUN_LABEL}=${runId}`] },
      });
      for (const c of containers) await docker.getContainer(c.Id).remove({ force: true });
      for (const buildId of buildIds) {
        const images = await docker.listImages({
          all: true,
          filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] },
        });
        // Children first: an intermediate image of the build is the parent of the next one.
        images.sort((a, b) => b.Created - a.Created);
        for (const image of images) {
          await docker
            .getImage(image.Id)
            .remove({ force: true })
            .catch((error: { statusCode?: number }) => {
              // Removing a child also removes its untagged parents.
              if (error.statusCode !== 404) throw error;
            });
        }
      }
    });

    it("builds the commit asked for and reports its metadata", async () => {
      const builder = new ImageBuilder({
        docker,
        workRoot,
        buildNetwork: async () => "none",
        settings: {
          limits: { timeoutMs: 120_000, maxRepoBytes: 50 * 1024 * 1024 },
          images: { nodeImage: NODE_IMAGE, staticImage: CADDY_IMAGE },
          allowFile: true,
        },
      });
      const buildId = randomUUID();
      buildIds.push(buildId);
      const logs: string[] = [];
      const result = await builder.build({
        buildId,
        deploymentId: randomUUID(),
        gitRepo: repo.url,
        branch: "main",
        commitSha: repo.first,
        onLog: (line) => logs.push(line),
      });
      assert.equal(result.commitSha, repo.first);
      assert.deepEqual(result.commit, firstCommit());
      const short = repo.first.slice(0, 7);
      assert.ok(
        logs.includes(`cloning ${repo.url}, branch main, commit ${short}`),
        logs.join("\n"),
      );
      assert.ok(logs.includes(`commit ${short} by Fixture: first version`), logs.join("\n"));
      assert.deepEqual(await readdir(workRoot), [], "the work folder is gone after success");

      // The image holds the older commit's file.
      const container = await docker.createContainer({
        Image: result.imageId,
        Tty: true,
        Labels: { [RUN_LABEL]: runId },
      });
      await container.start();
      await container.wait();
      const output = (await container.logs({ stdout: true, stderr: true })).toString("utf8");
      await container.remove({ force: true });
      await docker.getImage(result.imageId).remove({ force: true });
      assert.equal(output.trim(), "v1");
    });
  });
});
