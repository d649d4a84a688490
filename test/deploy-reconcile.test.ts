/**
 * The reconcile loop against a real engine: containers removed or stopped behind the platform's
 * back come back by themselves, and labelled containers no deployment owns are removed (the
 * default ORPHAN_POLICY=remove) or left alone (ORPHAN_POLICY=keep).
 *
 * A platform that removes orphans takes every labelled container of the engine that its database
 * does not know for one: run on a shared engine, it would remove the containers of other tests,
 * or of a developer's own platform. So the platform here keeps orphans (and shows that it does),
 * and the removal is shown by a Reconciler with the default policy, wired like the platform's
 * (its database, deployer and route sync, the real engine) but seeing only this test's
 * containers.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { loadConfig } from "../src/config/config.js";
import { Reconciler } from "../src/controller/reconciler.js";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import type { RuntimePort } from "../src/runtime/runtime-port.js";
import { requestByHost } from "./helpers/caddy.js";
import {
  containersOf,
  DEPLOYMENT_ID_LABEL,
  type DeployHarness,
  docker,
  Leftovers,
  startDeployHarness,
  storeRowsOf,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import {
  BUSYBOX_IMAGE,
  FIXTURE_CONTENT,
  type FixtureRepo,
  makeFixtureRepo,
} from "./helpers/git-fixtures.js";

/** Marks the containers this test makes by hand. */
const TEST_LABEL = "cloud.obiente.test";
const testRun = randomUUID();

/** A container made by hand that looks like the platform's, for a deployment with no record. */
async function startOrphan(leftovers: Leftovers): Promise<string> {
  const container = await docker.createContainer({
    Image: BUSYBOX_IMAGE,
    // Ends at once on SIGTERM, as an app should.
    Cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"],
    Labels: {
      "cloud.obiente.deployment": "true",
      [DEPLOYMENT_ID_LABEL]: randomUUID(),
      [TEST_LABEL]: testRun,
    },
    HostConfig: { NetworkMode: "none" },
  });
  leftovers.containerIds.add(container.id);
  await container.start();
  return container.id;
}

const exists = (id: string) =>
  docker
    .getContainer(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );

describe("the reconciler", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  /** Left alone by the platform, which keeps orphans; removed by the default policy. */
  let keptOrphan = "";

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };

  let id = "";
  let domain = "";
  const port = () => harness().edgePort ?? 0;

  before(async () => {
    repo = await makeFixtureRepo();
    h = await startDeployHarness(
      { RECONCILE_INTERVAL_SECONDS: "2", ORPHAN_POLICY: "keep" },
      leftovers,
    );
    const projectId = await h.project("Reconcile");
    ({ id, domain } = await h.deploy({
      projectId,
      name: "web",
      gitRepo: repo.url,
      branch: "dockerfile",
    }));
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
    await untilAnswers(port(), domain, 200, FIXTURE_CONTENT.dockerfile);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  describe("the platform's loop, every 2 s, with ORPHAN_POLICY=keep", () => {
    it("brings back a container removed behind its back", async () => {
      const [before] = await containersOf(id);
      assert.ok(before);
      await docker.getContainer(before.Id).remove({ force: true });
      const started = Date.now();
      // No call to the platform: the loop notices by itself.
      await untilAnswers(port(), domain, 200, FIXTURE_CONTENT.dockerfile, 30_000);
      const after = await containersOf(id);
      assert.equal(after.length, 1, "exactly one container again");
      assert.notEqual(after[0]?.Id, before.Id);
      assert.equal(after[0]?.State, "running");
      const { locations } = await storeRowsOf(harness().t, id);
      assert.deepEqual(
        locations.map((l) => l.containerId),
        [after[0]?.Id],
        "the location follows the new container",
      );
      const status = await harness().deployments.getDeploymentStatus({ id });
      assert.equal(status.status, DeploymentStatus.RUNNING);
      assert.ok(Date.now() - started < 30_000);
    });

    it("starts again a container stopped behind its back", async () => {
      const [before] = await containersOf(id);
      assert.ok(before);
      await docker.getContainer(before.Id).stop({ t: 0 });
      await untilAnswers(port(), domain, 200, FIXTURE_CONTENT.dockerfile, 30_000);
      const after = await containersOf(id);
      assert.equal(after.length, 1);
      assert.equal(after[0]?.State, "running");
      const { locations } = await storeRowsOf(harness().t, id);
      assert.deepEqual(
        locations.map((l) => l.containerId),
        [after[0]?.Id],
      );
    });

    it("leaves a labelled container with no deployment record alone (ORPHAN_POLICY=keep)", async () => {
      const orphan = await startOrphan(leftovers);
      keptOrphan = orphan;
      const plan = await harness().t.platform.deploying?.reconciler.reconcileOnce();
      assert.ok(plan, "the pass ran");
      assert.deepEqual(plan.removeOrphans, []);
      // And a few passes of the loop later, too.
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      assert.equal(await exists(orphan), true);
      // The deployment it runs is not disturbed either.
      assert.equal((await requestByHost(port(), domain)).status, 200);
    });
  });

  describe("the default ORPHAN_POLICY, remove", () => {
    it("removes a labelled container whose deployment has no record", async () => {
      const { t, leftovers: own } = harness();
      const deploying = t.platform.deploying;
      assert.ok(deploying);
      const policy = loadConfig({}).ORPHAN_POLICY;
      assert.equal(policy, "remove", "removing is the default");
      const orphan = await startOrphan(own);
      const real = deploying.runtime;
      const ours = (labels: Record<string, string>) =>
        labels[TEST_LABEL] === testRun || own.deploymentIds.has(labels[DEPLOYMENT_ID_LABEL] ?? "");
      const runtime: RuntimePort = {
        endpoint: real.endpoint,
        hostAddress: t.platform.ctx.config.HOST_ADDRESS,
        ping: () => real.ping(),
        ensureNetwork: async (name, labels) => {
          await real.ensureNetwork(name, labels);
        },
        run: (spec) => real.run(spec),
        waitHealthy: (id, options) => real.waitHealthy(id, options),
        stop: (id) => real.stop(id, { timeoutSec: 10 }),
        remove: (id) => real.remove(id),
        removeImage: async (id) => {
          await real.removeImage(id);
        },
        list: async (filter) => (await real.list(filter)).filter((c) => ours(c.labels)),
      };
      const reconciler = new Reconciler({
        db: t.platform.ctx.db,
        runtime,
        deployer: deploying.deployer,
        routes: deploying.routes,
        intervalMs: 3_600_000,
        orphanPolicy: policy,
        logger: pino({ level: "silent" }),
      });
      try {
        const plan = await reconciler.reconcileOnce();
        assert.ok(plan, "the pass ran");
        assert.deepEqual(plan.removeOrphans, [orphan, keptOrphan].sort());
        assert.deepEqual(plan.converge, [], "the deployment that runs is left as it is");
        assert.equal(await exists(orphan), false);
        assert.equal(await exists(keptOrphan), false);
        // The platform's own deployment still answers.
        assert.equal((await requestByHost(port(), domain)).status, 200);
      } finally {
        await reconciler.close();
      }
    });
  });
});

describe("the reconciler on engine events", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;

  before(async () => {
    repo = await makeFixtureRepo();
    // An hour between passes: only the engine's events can bring the next one forward.
    h = await startDeployHarness(
      { RECONCILE_INTERVAL_SECONDS: "3600", ORPHAN_POLICY: "keep" },
      leftovers,
    );
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  it("brings back a removed container long before the next interval", async () => {
    assert.ok(h && repo);
    const projectId = await h.project("Events");
    const { id, domain } = await h.deploy({
      projectId,
      name: "evented",
      gitRepo: repo.url,
      branch: "dockerfile",
    });
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
    const port = h.edgePort ?? 0;
    await untilAnswers(port, domain, 200, FIXTURE_CONTENT.dockerfile);
    const [before] = await containersOf(id);
    assert.ok(before);
    await docker.getContainer(before.Id).remove({ force: true });
    // The "destroy" event wakes the loop; an hour-long interval would not.
    await untilAnswers(port, domain, 200, FIXTURE_CONTENT.dockerfile, 30_000);
    const after = await containersOf(id);
    assert.equal(after.length, 1, "exactly one container again");
    assert.notEqual(after[0]?.Id, before.Id);
  });
});
