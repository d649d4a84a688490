/**
 * The plan a person reads before anything is built: the PlanBuild RPC on the real platform
 * (which clones the branch with the builder's own clone code) and `obiente plan` on a folder, a
 * git URL and a deployment. Scaffolded trees from test/fixtures/apps, committed to real git
 * repositories; no image is built.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { REPO_ROOT } from "./helpers/image.js";
import { gitEnv } from "./helpers/repo.js";

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL("./fixtures/apps/", import.meta.url));

/** A monorepo: web/ (create-vite), api/ (Go), site/ and docs/ (plain HTML), tools/ (a script). */
async function monorepo(root: string): Promise<{ dir: string; url: string }> {
  const dir = await mkdtemp(join(root, "repo-"));
  await cp(join(FIXTURES, "vite"), join(dir, "web"), { recursive: true });
  await cp(join(FIXTURES, "go"), join(dir, "api"), { recursive: true });
  await cp(join(FIXTURES, "static"), join(dir, "site"), { recursive: true });
  await cp(join(FIXTURES, "static"), join(dir, "docs"), { recursive: true });
  await writeFile(join(dir, "docs", "Dockerfile.web"), "FROM scratch\nCOPY . /\n");
  await writeFile(join(dir, "README.md"), "# a monorepo\n");
  await mkdir(join(dir, "tools"));
  await writeFile(join(dir, "tools", "release.sh"), "#!/bin/sh\necho release\n");
  const env = gitEnv(dir);
  const git = (...args: string[]) =>
    run("git", ["-c", "commit.gpgsign=false", ...args], { cwd: dir, env });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "monorepo");
  return { dir, url: pathToFileURL(dir).href };
}

describe("plans: the PlanBuild RPC and obiente plan", () => {
  let t: TestPlatform;
  let root: string;
  let repo: { dir: string; url: string };
  let projectId: string;
  let orgId: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "obiente-plan-test-"));
    repo = await monorepo(root);
    t = await startTestPlatform({
      env: {
        GIT_ALLOW_FILE: "true",
        NODE_BASE_IMAGE: "node:{major}-bookworm-slim",
        STATIC_BASE_IMAGE: "caddy:2-alpine",
      },
    });
    const me = await t.client(AuthService).whoAmI({});
    orgId = me.memberships[0]?.organizationId ?? "";
    assert.ok(orgId);
    const project = (
      await t.client(ProjectService).createProject({ organizationId: orgId, name: "Plans" })
    ).project;
    assert.ok(project);
    projectId = project.id;
  });

  after(async () => {
    await t?.close();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  const plan = (request: Parameters<ReturnType<typeof planner>["planBuild"]>[0]) =>
    planner().planBuild(request);
  const planner = () => t.client(DeploymentService);

  const rejects = async (promise: Promise<unknown>, code: Code, message: RegExp) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof ConnectError, String(error));
      assert.equal(error.code, code, error.message);
      assert.match(error.rawMessage, message);
      return true;
    });
  };

  it("PlanBuild: a git URL's root directory, with the stack, the reasons and the Dockerfile", async () => {
    const head = (await run("git", ["rev-parse", "HEAD"], { cwd: repo.dir })).stdout.trim();
    const web = await plan({ projectId, gitRepo: repo.url, branch: "main", rootDirectory: "web" });
    assert.equal(web.commitSha, head);
    assert.equal(web.kind, "static");
    assert.equal(web.stack, "Node.js 22 · npm · Vite (static output)");
    assert.ok(web.generated);
    assert.ok(
      web.reasons.some((r) => r.file === "package-lock.json" && /npm's lockfile/.test(r.detail)),
    );
    assert.ok(web.reasons.some((r) => /vite build/.test(r.detail)));
    assert.match(web.dockerfile, /^FROM node:22-bookworm-slim AS build$/m);
    assert.match(web.dockerfile, /^RUN npm ci$/m);
    assert.match(web.dockerfile, /^FROM caddy:2-alpine$/m);
    assert.match(web.files[0]?.contents ?? "", /try_files .* \/index\.html/, "the SPA fallback");

    const api = await plan({ projectId, gitRepo: repo.url, rootDirectory: "api" });
    assert.equal(api.kind, "go");
    assert.deepEqual(api.command, ["/app/bin/hello"]);

    const own = await plan({
      projectId,
      gitRepo: repo.url,
      rootDirectory: "site",
      dockerfilePath: "docs/Dockerfile.web",
    });
    assert.equal(own.kind, "dockerfile");
    assert.equal(own.generated, false);
    assert.equal(own.dockerfile, "FROM scratch\nCOPY . /\n");
  });

  it("PlanBuild of a deployment: its repository, branch, root directory and Dockerfile", async () => {
    const deployment = (
      await planner().createDeployment({
        projectId,
        name: "docs",
        gitRepo: repo.url,
        branch: "main",
        rootDirectory: "docs",
        dockerfilePath: "docs/Dockerfile.web",
      })
    ).deployment;
    assert.ok(deployment);
    const docs = await plan({ deploymentId: deployment.id });
    assert.equal(docs.kind, "dockerfile", "the deployment's dockerfile_path");
    assert.equal(docs.dockerfilePath, "Dockerfile.web", "its path inside the root directory");
    // The request's fields, when given, replace the deployment's.
    const api = await plan({
      deploymentId: deployment.id,
      rootDirectory: "api",
      dockerfilePath: "",
    });
    assert.equal(api.kind, "go");
    await planner().deleteDeployment({ id: deployment.id });
  });

  it("CreateDeployment with redeploy_existing: a root directory or Dockerfile given replaces the deployment's, an empty one keeps it", async () => {
    const create = (fields: { rootDirectory?: string; dockerfilePath?: string }) =>
      planner().createDeployment({
        projectId,
        name: "mono",
        gitRepo: repo.url,
        branch: "main",
        redeployExisting: true,
        ...fields,
      });
    const first = await create({ rootDirectory: "docs", dockerfilePath: "docs/Dockerfile.web" });
    assert.equal(first.redeployed, false);
    assert.ok(first.deployment);
    const kept = await create({});
    assert.equal(kept.redeployed, true);
    assert.equal(kept.deployment?.rootDirectory, "docs");
    assert.equal(kept.deployment?.dockerfilePath, "docs/Dockerfile.web");
    const moved = await create({ rootDirectory: "web/" });
    assert.equal(moved.redeployed, true);
    assert.equal(moved.deployment?.rootDirectory, "web", "the request's, normalised");
    assert.equal(moved.deployment?.dockerfilePath, "docs/Dockerfile.web");
    await rejects(create({ rootDirectory: "../outside" }), Code.InvalidArgument, /root_directory/);
    const [again] = (await planner().listDeployments({ projectId })).deployments.filter(
      (d) => d.name === "mono",
    );
    assert.equal(again?.rootDirectory, "web", "a refused request changes nothing");
    await planner().deleteDeployment({ id: first.deployment.id });
  });

  it("PlanBuild refuses, with the right code and what it looked for", async () => {
    await rejects(
      plan({ projectId, gitRepo: repo.url }),
      Code.FailedPrecondition,
      /cannot tell how to build this repository: it has no Dockerfile, no package\.json \(Node\.js\), no requirements\.txt, pyproject\.toml or Pipfile \(Python\), no go\.mod \(Go\) and no index\.html \(static site\)/,
    );
    await rejects(
      plan({ projectId, gitRepo: repo.url, rootDirectory: "tools" }),
      Code.FailedPrecondition,
      /cannot tell how to build root_directory "tools": it has no Dockerfile, no package\.json/,
    );
    await rejects(
      plan({ projectId, gitRepo: repo.url, rootDirectory: "mobile" }),
      Code.FailedPrecondition,
      /root_directory "mobile" does not exist in the repository/,
    );
    await rejects(
      plan({ projectId, gitRepo: repo.url, rootDirectory: "../etc" }),
      Code.InvalidArgument,
      /root_directory/,
    );
    await rejects(
      plan({ projectId, gitRepo: repo.url, branch: "nope" }),
      Code.FailedPrecondition,
      /nope/,
    );
    await rejects(plan({ gitRepo: repo.url }), Code.InvalidArgument, /project_id/);
  });

  /** `obiente …` as a user runs it, against the test's API with its admin token. */
  const cli = (...args: string[]) =>
    run(process.execPath, ["bin/obiente.js", ...args], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: t.dataDir,
        OBIENTE_API: t.baseUrl,
        OBIENTE_TOKEN: t.adminToken,
        NODE_BASE_IMAGE: "node:{major}-bookworm-slim",
        STATIC_BASE_IMAGE: "caddy:2-alpine",
      },
      timeout: 60_000,
    });

  it("obiente plan: a folder here, a git URL on the server, --json", async () => {
    const local = await cli("plan", join(FIXTURES, "next"));
    assert.match(local.stdout, /^stack: Node\.js 22 · npm · Next\.js \(standalone server\)$/m);
    assert.match(local.stdout, /next\.config\.mjs: output: "standalone"/);
    assert.match(local.stdout, /^runs: \["node","server\.js"\]$/m);
    assert.match(local.stdout, /^Dockerfile \(written by the builder\):$/m);
    assert.match(local.stdout, /^ {2}COPY --from=build \/app\/\.next\/standalone \/app$/m);

    const python = await cli("plan", join(FIXTURES, "django"), "--json");
    const parsed = JSON.parse(python.stdout) as { kind: string; stack: string; command: string[] };
    assert.equal(parsed.kind, "python");
    assert.equal(parsed.stack, "Python 3.11 · Django");
    assert.match(parsed.command.join(" "), /gunicorn .*mysite\.wsgi/);

    const remote = await cli("plan", repo.url, "--project", projectId, "--root-dir", "web");
    assert.match(remote.stdout, /^commit: [0-9a-f]{40}$/m);
    assert.match(remote.stdout, /Vite \(static output\)/);
  });

  it("obiente deploy --root-dir --dockerfile: the deployment keeps both, and plans with them", async () => {
    const { stdout } = await cli(
      "deploy",
      "--git",
      repo.url,
      "--name",
      "docs-site",
      "--project",
      "Plans",
      "--org",
      orgId,
      "--root-dir",
      "docs",
      "--dockerfile",
      "docs/Dockerfile.web",
      "--no-follow",
    );
    const id = /\(([0-9a-f-]{36})\) queued/.exec(stdout)?.[1];
    assert.ok(id, stdout);
    const { deployment } = await planner().getDeployment({ id });
    assert.equal(deployment?.rootDirectory, "docs");
    assert.equal(deployment?.dockerfilePath, "docs/Dockerfile.web");
    const planned = await cli("plan", "--deployment", id);
    assert.match(planned.stdout, /^Dockerfile \(the repository's own, Dockerfile\.web\):$/m);
    await planner().deleteDeployment({ id });
  });

  it("obiente plan on a folder nothing recognises: exit code 1 and what was looked for", async () => {
    const empty = await mkdtemp(join(root, "empty-"));
    await writeFile(join(empty, "notes.txt"), "nothing to build\n");
    await assert.rejects(
      cli("plan", empty),
      (error: Error & { code?: number; stderr?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr ?? "", /no Dockerfile, no package\.json \(Node\.js\)/);
        return true;
      },
    );
    assert.deepEqual((await readdir(empty)).sort(), ["notes.txt"], "nothing written beside it");
  });
});
