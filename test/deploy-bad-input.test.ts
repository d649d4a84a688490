/**
 * Bad input through the API, with file:// repositories allowed: what could run commands is
 * refused at once with InvalidArgument and creates nothing; what fails later (a missing branch,
 * an unreachable repository, a failing or too slow Dockerfile) ends the deployment FAILED with a
 * message that says why, and leaves no container, no image and no file behind.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BuildStatus,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  containersOf,
  type DeployHarness,
  docker,
  imagesOf,
  Leftovers,
  startDeployHarness,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { makeInjectionProbe, provesLive } from "./helpers/injection-probe.js";

/** Payloads that really run a script creating a marker file unique to this run. */
const probe = makeInjectionProbe();

describe("bad deployment input", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let projectId = "";

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const buildsFolder = () => join(harness().t.dataDir, "builds");

  before(async () => {
    repo = await makeFixtureRepo();
    assert.ok(await provesLive(probe, repo.url), "the payloads work where git honours them");
    h = await startDeployHarness({ BUILD_TIMEOUT_SECONDS: "10" }, leftovers);
    projectId = await h.project("Bad input");
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
    await probe.cleanup();
  });

  const refused = async (gitRepo: string, branch: string, pattern: RegExp) => {
    const { deployments } = harness();
    const error = await deployments
      .createDeployment({ projectId, name: "evil", gitRepo, branch })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ConnectError, `refused: ${String(error)}`);
    assert.equal(error.code, Code.InvalidArgument, error.message);
    assert.match(error.rawMessage, pattern);
  };

  it("refuses a git remote helper URL (ext::) at once, creating nothing", async () => {
    // Without whitespace, the remote helper rule alone answers.
    await refused(probe.extRemote, "dockerfile", /remote helper.*not allowed/);
    await refused(probe.extRemote.replace("ext::", "EXT::"), "dockerfile", /remote helper/);
    const { deployments } = await harness().deployments.listDeployments({ projectId });
    assert.deepEqual(deployments, []);
    assert.equal(await probe.fired(), false);
  });

  it("refuses option-like input (--upload-pack=…) at once, creating nothing", async () => {
    await refused(repo?.url ?? "", probe.uploadPackOption, /must not start with '-'/);
    await refused(repo?.url ?? "", "-u", /must not start with '-'/);
    await refused(probe.uploadPackOption, "main", /git_repo must not start with '-'/);
    const { deployments } = await harness().deployments.listDeployments({ projectId });
    assert.deepEqual(deployments, []);
    assert.equal(await probe.fired(), false);
  });

  const cases: Array<{
    what: string;
    gitRepo: () => string;
    branch: string;
    why: RegExp;
  }> = [
    {
      what: "a branch the repository does not have",
      gitRepo: () => repo?.url ?? "",
      branch: "no-such-branch",
      why: /^build failed: branch 'no-such-branch' does not exist in file:\/\//,
    },
    {
      what: "a repository that cannot be reached",
      gitRepo: () => "https://127.0.0.1:1/nope.git",
      branch: "main",
      why: /^build failed: repository https:\/\/127\.0\.0\.1:1\/nope\.git is unreachable: .*connect/i,
    },
    {
      what: "a Dockerfile that fails",
      gitRepo: () => repo?.url ?? "",
      branch: "fails",
      why: /^build failed: step \d+\/\d+ RUN false returned 1/,
    },
    {
      what: "a build slower than BUILD_TIMEOUT_SECONDS",
      gitRepo: () => repo?.url ?? "",
      branch: "slow",
      why: /^build timed out after 10 s/,
    },
  ];

  for (const c of cases) {
    it(`ends FAILED, saying why, and leaves nothing behind: ${c.what}`, async () => {
      const { deployments } = harness();
      const { id } = await harness().deploy({
        projectId,
        name: c.branch,
        gitRepo: c.gitRepo(),
        branch: c.branch,
      });
      const started = Date.now();
      const result = await waitForStatus(deployments, id, DeploymentStatus.FAILED, 60_000);
      assert.match(result.message, c.why, `the status message says why: ${result.message}`);
      if (c.branch === "slow") {
        assert.ok(Date.now() - started < 25_000, "the slow build was stopped at its time limit");
      }

      const { deployment } = await deployments.getDeployment({ id });
      assert.equal(deployment?.status, DeploymentStatus.FAILED);
      assert.equal(deployment?.statusMessage, result.message);
      assert.equal(deployment?.currentBuildId, "");
      const { builds } = await deployments.listBuilds({ deploymentId: id });
      assert.equal(builds.length, 1);
      assert.equal(builds[0]?.status, BuildStatus.FAILED);
      assert.ok(builds[0]?.statusMessage, "the build says why it failed");
      assert.equal(builds[0]?.imageId, "");

      assert.deepEqual(await containersOf(id), [], "no container");
      // Nor a build step container (the failing steps echo the repository's nonce).
      const steps = (await docker.listContainers({ all: true })).filter((x) =>
        x.Command.includes(repo?.nonce ?? "?"),
      );
      assert.deepEqual(steps, [], "no build step container");
      assert.deepEqual(await imagesOf(id), [], "no image");
      assert.deepEqual(await readdir(buildsFolder()), [], "the build folder is empty");
      assert.equal(await probe.fired(), false);
      // A failed deployment is left alone until someone redeploys it: no retry builds again.
      await harness().t.platform.deploying?.reconciler.reconcileOnce();
      assert.equal((await deployments.listBuilds({ deploymentId: id })).builds.length, 1);
    });
  }

  it("deletes failed deployments at once, since nothing of theirs runs", async () => {
    const { deployments } = harness();
    const before = await deployments.listDeployments({ projectId });
    assert.equal(before.deployments.length, cases.length);
    for (const d of before.deployments) await deployments.deleteDeployment({ id: d.id });
    const after = await deployments.listDeployments({ projectId });
    assert.deepEqual(after.deployments, []);
    assert.deepEqual(await readdir(buildsFolder()), []);
  });
});
