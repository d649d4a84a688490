/**
 * A deployment's life after its first start, through the API and the built-in edge: a redeploy
 * of a new commit under continuous requests (none may fail), a rollback to the first build,
 * stop and start, scaling out and back, and a restart that picks up changed env vars.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { requestByHost } from "./helpers/caddy.js";
import {
  commitToBranch,
  containersOf,
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";

const content = (version: string, greeting: string) =>
  `${FIXTURE_CONTENT.echo} ${version}; GREETING=${greeting}`;

/** Requests every `everyMs` until stopped; counts the answers by body and every failure. */
function steadyTraffic(port: number, host: string, everyMs = 20) {
  const bodies = new Map<string, number>();
  const failures: string[] = [];
  let requests = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      requests++;
      try {
        const response = await requestByHost(port, host, "/", { timeoutMs: 5_000 });
        if (response.status === 200)
          bodies.set(response.body, (bodies.get(response.body) ?? 0) + 1);
        else failures.push(`HTTP ${response.status}: ${response.body.slice(0, 200)}`);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
      const wait = everyMs - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    bodies,
    failures,
    requests: () => requests,
    /** Resolves once `body` was answered at least once. */
    async until(body: string, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (!bodies.has(body)) {
        assert.ok(Date.now() < deadline, `never answered "${body}"; saw ${[...bodies.keys()]}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe("a deployment's lifecycle: redeploy, rollback, stop/start, scale, restart", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let id = "";
  let domain = "";
  let firstBuildId = "";

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const port = () => harness().edgePort ?? 0;
  const runningContainers = async () =>
    (await containersOf(id)).filter((c) => c.State === "running");

  before(async () => {
    repo = await makeFixtureRepo();
    h = await startDeployHarness({}, leftovers);
    const projectId = await h.project("Lifecycle");
    ({ id, domain } = await h.deploy({
      projectId,
      name: "echo",
      gitRepo: repo.url,
      branch: "echo",
      envVars: { GREETING: "hello" },
    }));
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
    const { deployment } = await h.deployments.getDeployment({ id });
    firstBuildId = deployment?.currentBuildId ?? "";
    assert.ok(firstBuildId);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  it("serves the first commit", async () => {
    const response = await requestByHost(port(), domain);
    assert.equal(response.status, 200);
    assert.equal(response.body, content("v1", "hello"));
  });

  it("redeploys a new commit under continuous requests without failing one", async () => {
    assert.ok(repo);
    const { deployments } = harness();
    const commit = await commitToBranch(repo, "echo", { "message.txt": "v2\n" }, "v2");
    const [before] = await runningContainers();
    const traffic = steadyTraffic(port(), domain);
    try {
      await traffic.until(content("v1", "hello"), 5_000);
      await deployments.redeployDeployment({ id });
      const result = await waitForStatus(deployments, id, DeploymentStatus.RUNNING);
      assert.ok(result.seen.includes(DeploymentStatus.BUILDING), "it built again");
      await traffic.until(content("v2", "hello"), 5_000);
      // A little more traffic once only the new version serves.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await traffic.stop();
    }
    assert.deepEqual(
      traffic.failures,
      [],
      `${traffic.failures.length} of ${traffic.requests()} requests failed`,
    );
    assert.ok(
      traffic.requests() > 50,
      `enough requests during the redeploy: ${traffic.requests()}`,
    );
    assert.deepEqual(
      [...traffic.bodies.keys()].sort(),
      [content("v1", "hello"), content("v2", "hello")],
      "only the old and the new version answered",
    );
    const response = await requestByHost(port(), domain);
    assert.equal(response.body, content("v2", "hello"));

    const { builds } = await deployments.listBuilds({ deploymentId: id });
    assert.equal(builds.length, 2);
    assert.equal(builds[0]?.commitSha, commit, "the newest build is of the new commit");
    const after = await containersOf(id);
    assert.equal(after.length, 1, "the old container is gone");
    assert.notEqual(after[0]?.Id, before?.Id);
  });

  it("rolls back to the first build and serves the earlier content again", async () => {
    const { deployments } = harness();
    await deployments.rollbackDeployment({ id, buildId: firstBuildId });
    await waitForStatus(deployments, id, DeploymentStatus.RUNNING);
    const { deployment } = await deployments.getDeployment({ id });
    assert.equal(deployment?.currentBuildId, firstBuildId);
    await untilAnswers(port(), domain, 200, content("v1", "hello"), 5_000);
    const { builds } = await deployments.listBuilds({ deploymentId: id });
    assert.equal(builds.length, 2, "a rollback builds nothing");
    assert.equal((await containersOf(id)).length, 1);
  });

  it("stops (the edge answers 502) and starts again (200)", async () => {
    const { deployments } = harness();
    await deployments.stopDeployment({ id });
    await waitForStatus(deployments, id, DeploymentStatus.STOPPED);
    assert.equal((await containersOf(id)).length, 0, "a stopped deployment runs no container");
    const stopped = await requestByHost(port(), domain);
    assert.equal(stopped.status, 502);
    const status = await deployments.getDeploymentStatus({ id });
    assert.equal(status.locations.length, 0);

    await deployments.startDeployment({ id });
    await waitForStatus(deployments, id, DeploymentStatus.RUNNING);
    await untilAnswers(port(), domain, 200, content("v1", "hello"), 5_000);
    assert.equal((await runningContainers()).length, 1);
  });

  it("scales to two replicas and back to one", async () => {
    const { deployments } = harness();
    await deployments.scaleDeployment({ id, replicas: 2 });
    await waitForStatus(deployments, id, DeploymentStatus.RUNNING);
    const two = await runningContainers();
    assert.equal(two.length, 2);
    assert.deepEqual(two.map((c) => c.Labels["cloud.obiente.replica"]).sort(), ["0", "1"]);
    const status = await deployments.getDeploymentStatus({ id });
    assert.equal(status.locations.length, 2);
    assert.deepEqual(
      status.locations.map((l) => l.containerId).sort(),
      two.map((c) => c.Id).sort(),
    );
    assert.equal(new Set(status.locations.map((l) => l.port)).size, 2, "one host port each");
    // Both replicas answer through the edge (round robin).
    for (let i = 0; i < 4; i++) {
      const response = await requestByHost(port(), domain);
      assert.equal(response.status, 200);
    }

    await deployments.scaleDeployment({ id, replicas: 1 });
    await waitForStatus(deployments, id, DeploymentStatus.RUNNING);
    const one = await containersOf(id);
    assert.equal(one.length, 1);
    assert.equal(one[0]?.Labels["cloud.obiente.replica"], "0");
    const after = await deployments.getDeploymentStatus({ id });
    assert.equal(after.locations.length, 1);
    assert.equal(after.locations[0]?.containerId, one[0]?.Id);
    assert.equal((await requestByHost(port(), domain)).status, 200);
  });

  it("restarts into a new container that sees the changed env vars", async () => {
    const { deployments } = harness();
    const [before] = await runningContainers();
    assert.ok(before);
    await deployments.setEnvVars({ deploymentId: id, envVars: { GREETING: "changed" } });
    // Env vars apply on the next start, not to the running container.
    assert.equal((await requestByHost(port(), domain)).body, content("v1", "hello"));

    await deployments.restartDeployment({ id });
    await waitForStatus(deployments, id, DeploymentStatus.RUNNING);
    const after = await runningContainers();
    assert.equal(after.length, 1);
    assert.notEqual(after[0]?.Id, before.Id, "a restart makes a new container");
    assert.equal((await containersOf(id)).length, 1, "the old container is gone");
    await untilAnswers(port(), domain, 200, content("v1", "changed"), 5_000);
  });
});
