/**
 * The three kinds of app the builder knows (a repo's own Dockerfile, a Node.js app without one, a
 * static site) go from git to a live URL through the API: CreateDeployment, watched until RUNNING,
 * answering through the built-in edge by Host header; their status, builds, build logs and
 * container logs read back through the API; then DeleteDeployment removes everything.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BuildStatus,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { requestByHost } from "./helpers/caddy.js";
import {
  containersOf,
  type DeployHarness,
  imagesOf,
  Leftovers,
  startDeployHarness,
  storeRowsOf,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";

/** Waits until nothing of the deployment is left: record, routes, locations, containers, images. */
async function untilGone(t: DeployHarness["t"], id: string, what: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await storeRowsOf(t, id);
    const containers = await containersOf(id);
    const images = await imagesOf(id);
    const left = {
      record: rows.deployment?.status ?? null,
      routes: rows.routes.length,
      locations: rows.locations.length,
      containers: containers.length,
      images: images.length,
    };
    if (Object.values(left).every((v) => v === null || v === 0)) return;
    assert.ok(Date.now() < deadline, `${what} still has ${JSON.stringify(left)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const APPS = ["dockerfile", "node", "static"] as const;
type App = (typeof APPS)[number];

describe("deploying the fixture apps through the API and the built-in edge", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  const deployed = new Map<App, { id: string; domain: string; seen: DeploymentStatus[] }>();

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const app = (name: App) => {
    const d = deployed.get(name);
    assert.ok(d, `${name} was not deployed`);
    return d;
  };

  before(async () => {
    repo = await makeFixtureRepo();
    h = await startDeployHarness({}, leftovers);
    assert.ok(h.edgePort, "the built-in edge listens");
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  it("deploys each app to RUNNING, watched through StreamDeploymentStatus", async () => {
    const { deployments } = harness();
    const projectId = await harness().project("Apps");
    for (const name of APPS) {
      const { id, domain } = await harness().deploy({
        projectId,
        name,
        gitRepo: repo?.url ?? "",
        branch: name,
      });
      assert.equal(domain, `${name}.localhost`);
      deployed.set(name, { id, domain, seen: [] });
    }
    // The three build and start side by side; each is watched to the end.
    await Promise.all(
      APPS.map(async (name) => {
        const d = app(name);
        const result = await waitForStatus(deployments, d.id, DeploymentStatus.RUNNING);
        d.seen = result.seen;
        assert.match(result.message, /1 replica\(s\) running build/);
      }),
    );
    for (const name of APPS) {
      const { deployment } = await deployments.getDeployment({ id: app(name).id });
      assert.equal(deployment?.status, DeploymentStatus.RUNNING, name);
      assert.equal(deployment?.url, `http://${name}.localhost:${harness().edgePort}`);
      assert.ok(deployment?.currentBuildId, `${name} has a current build`);
    }
  });

  it("serves each app's own content by Host header through the edge", async () => {
    const port = harness().edgePort ?? 0;
    for (const name of APPS) {
      const response = await requestByHost(port, app(name).domain);
      assert.equal(response.status, 200, `${name}: ${response.body}`);
      assert.ok(
        response.body.includes(FIXTURE_CONTENT[name]),
        `${name} answered its own content, got: ${response.body}`,
      );
      for (const other of APPS.filter((o) => o !== name)) {
        assert.ok(!response.body.includes(FIXTURE_CONTENT[other]), `${name} is not ${other}`);
      }
    }
    // The node app ran its build script in the image.
    const node = await requestByHost(port, app("node").domain);
    assert.equal(node.body, `${FIXTURE_CONTENT.node} (built by npm run build)`);
  });

  it("GetDeploymentStatus shows where each app runs", async () => {
    const { deployments } = harness();
    for (const name of APPS) {
      const status = await deployments.getDeploymentStatus({ id: app(name).id });
      assert.equal(status.status, DeploymentStatus.RUNNING);
      assert.equal(status.locations.length, 1, `${name} has one location`);
      const [location] = status.locations;
      assert.ok(location);
      assert.equal(location.status, "running");
      assert.equal(location.healthStatus, "healthy");
      assert.equal(location.address, "127.0.0.1");
      assert.ok(location.port > 0);
      assert.ok(location.nodeId.length > 0 && location.nodeId !== "local", "the engine's node id");
      const [container] = await containersOf(app(name).id);
      assert.equal(location.containerId, container?.Id, `${name}'s location is its container`);
      // The app answers on the recorded address and port itself, too.
      const direct = await requestByHost(location.port, "anything");
      assert.equal(direct.status, 200);
    }
  });

  it("ListBuilds shows one succeeded build with its image, and StreamBuildLogs replays it", async () => {
    const { deployments } = harness();
    for (const name of APPS) {
      const { builds } = await deployments.listBuilds({ deploymentId: app(name).id });
      assert.equal(builds.length, 1, `${name} was built once`);
      const [build] = builds;
      assert.ok(build);
      assert.equal(build.status, BuildStatus.SUCCEEDED, build.statusMessage);
      assert.match(build.imageId, /^sha256:[0-9a-f]{64}$/);
      assert.equal(build.commitSha, repo?.commits[name]);
      assert.ok(build.finishedAt, "a finished build has its end time");
      const { deployment } = await deployments.getDeployment({ id: app(name).id });
      assert.equal(deployment?.currentBuildId, build.id);
      // The image is the container's image, and carries the deployment's label.
      const [container] = await containersOf(app(name).id);
      assert.equal(container?.ImageID, build.imageId);
      const images = await imagesOf(app(name).id);
      assert.deepEqual(
        images.map((i) => i.Id),
        [build.imageId],
      );

      // A finished build's stream gives its stored lines, then ends by itself.
      const lines: string[] = [];
      for await (const message of deployments.streamBuildLogs(
        { buildId: build.id },
        { signal: AbortSignal.timeout(10_000) },
      )) {
        lines.push(message.line);
      }
      assert.ok(lines.length >= 3, `${name}'s build log has lines: ${lines.join("\n")}`);
      const log = lines.join("\n");
      assert.ok(log.includes(name), `the log names the branch:\n${log}`);
      assert.ok(/Step \d+\/\d+|FROM/.test(log), `the log shows Docker's steps:\n${log}`);
      if (name === "node") assert.ok(log.includes("npm run build"), log);
    }
  });

  it("GetDeploymentLogs returns the node app's output", async () => {
    const { deployments } = harness();
    const { lines } = await deployments.getDeploymentLogs({ deploymentId: app("node").id });
    assert.ok(lines.length > 0, "the node app logged something");
    const [container] = await containersOf(app("node").id);
    for (const line of lines) {
      assert.equal(line.containerId, container?.Id);
      assert.ok(line.stream === "stdout" || line.stream === "stderr");
      assert.ok(line.at, "each line has its time");
    }
    // `npm start` prints the script it runs.
    const text = lines.map((l) => l.line).join("\n");
    assert.ok(text.includes("node server.js"), `the logs show npm start's output:\n${text}`);
    const tail = await deployments.getDeploymentLogs({ deploymentId: app("node").id, tail: 1 });
    assert.equal(tail.lines.length, 1);
  });

  it("DeleteDeployment removes containers, routes, locations, images and the record; the host answers 404", async () => {
    const { deployments, t } = harness();
    const port = harness().edgePort ?? 0;
    for (const name of APPS) await deployments.deleteDeployment({ id: app(name).id });
    for (const name of APPS) {
      const { id, domain } = app(name);
      // Gone from the API at once…
      await assert.rejects(deployments.getDeployment({ id }), /not_found/);
      // …and from the engine, the store and the edge once the controller is done.
      await untilAnswers(port, domain, 404, undefined, 60_000);
      await untilGone(t, id, name);
      const response = await requestByHost(port, domain);
      assert.equal(response.status, 404);
    }
  });

  for (const phase of [DeploymentStatus.BUILDING, DeploymentStatus.DEPLOYING]) {
    it(`DeleteDeployment while it is ${DeploymentStatus[phase]} leaves nothing behind`, async () => {
      const { deployments, t } = harness();
      const projectId = await harness().project(`Deleted while ${DeploymentStatus[phase]}`);
      // The echo app listens only after START_DELAY_MS: the deployment stays DEPLOYING meanwhile.
      const { id, domain } = await harness().deploy({
        projectId,
        name: "short-lived",
        gitRepo: repo?.url ?? "",
        branch: "echo",
        envVars: { START_DELAY_MS: "3000" },
      });
      const seen = await waitForStatus(deployments, id, [phase, DeploymentStatus.RUNNING]);
      assert.equal(seen.status, phase);
      await deployments.deleteDeployment({ id });
      await assert.rejects(deployments.getDeployment({ id }), /not_found/);
      await untilGone(t, id, `the deployment deleted while ${DeploymentStatus[phase]}`);
      // And it stays so once the deploy in progress has had time to finish.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      await untilGone(t, id, `the deployment deleted while ${DeploymentStatus[phase]}`);
      assert.equal((await requestByHost(harness().edgePort ?? 0, domain)).status, 404);
    });
  }
});
