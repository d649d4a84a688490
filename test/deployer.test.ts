/**
 * The deployer (src/controller/deployer.ts) on its own, against the real engine and database of
 * a platform in this process: converge() called directly, the outcome read from the engine and
 * the store. What a deployment needs is planDeployment's (plan-deployment.test.ts); these tests
 * check that the deployer carries the plans out, and that a converged deployment is left alone.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { deploymentRecordsDeps } from "../src/app/controller-deps.js";
import { Deployer } from "../src/controller/deployer.js";
import { DatabaseDeploymentRecords } from "../src/controller/deployment-records.js";
import { edgeTls } from "../src/edge/index.js";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { DockerRuntimePort } from "../src/runtime/docker-port.js";
import { builds, deployments } from "../src/store/schema.js";
import { requestByHost } from "./helpers/caddy.js";
import {
  containersOf,
  type DeployHarness,
  docker,
  Leftovers,
  startDeployHarness,
  storeRowsOf,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";

describe("the deployer, converging one deployment", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let id = "";
  let domain = "";

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const deployer = (): Deployer => {
    const deploying = harness().t.platform.deploying;
    assert.ok(deploying, "the platform deploys");
    return deploying.deployer;
  };
  const rows = () => storeRowsOf(harness().t, id);
  const db = () => harness().t.platform.ctx.db;
  const buildRow = async (buildId: string | null | undefined) => {
    assert.ok(buildId, "a current build");
    const [row] = await db().select().from(builds).where(eq(builds.id, buildId));
    assert.ok(row, `build ${buildId} has a row`);
    return row;
  };
  /** Stops the deployment, then removes its current build's image, as a lost node takes it. */
  const loseImage = async () => {
    const lost = await buildRow((await rows()).deployment?.currentBuildId);
    await db().update(deployments).set({ desiredState: "stopped" }).where(eq(deployments.id, id));
    await deployer().converge(id);
    assert.deepEqual(await containersOf(id), [], "nothing runs the image any more");
    await docker.getImage(lost.imageId).remove({ force: true });
    await assert.rejects(docker.getImage(lost.imageId).inspect(), { statusCode: 404 });
    await db().update(deployments).set({ desiredState: "running" }).where(eq(deployments.id, id));
    return lost;
  };
  const running = async () =>
    (await containersOf(id)).filter((c) => c.State === "running").map((c) => c.Id);
  const answers = async () => {
    const response = await requestByHost(harness().edgePort ?? 0, domain);
    assert.equal(response.status, 200);
    assert.equal(response.body, `${FIXTURE_CONTENT.echo} v1; GREETING=hello`);
  };

  before(async () => {
    repo = await makeFixtureRepo();
    h = await startDeployHarness({}, leftovers);
    const projectId = await h.project("Deployer");
    ({ id, domain } = await h.deploy({
      projectId,
      name: "echo",
      gitRepo: repo.url,
      branch: "echo",
      envVars: { GREETING: "hello" },
    }));
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  it("leaves a converged deployment as it is: same container, same records, same status", async () => {
    const before = await rows();
    const containers = await running();
    assert.equal(containers.length, 1);
    await deployer().converge(id);
    await deployer().converge(id);
    const now = await rows();
    assert.deepEqual(await running(), containers);
    assert.deepEqual(now.locations, before.locations, "the location rows were not written again");
    assert.deepEqual(now.routes, before.routes);
    assert.deepEqual(now.deployment?.updatedAt, before.deployment?.updatedAt);
    assert.equal(now.deployment?.statusMessage, before.deployment?.statusMessage);
    await answers();
  });

  it("starts a replica removed by hand again, and records where it runs", async () => {
    const [gone] = await running();
    assert.ok(gone);
    await docker.getContainer(gone).remove({ force: true });
    await deployer().converge(id);
    const [again] = await running();
    assert.ok(again && again !== gone, "a new container");
    const { locations, deployment } = await rows();
    assert.deepEqual(
      locations.map((l) => l.containerId),
      [again],
      "the location is the new container's",
    );
    assert.equal(deployment?.status, "running");
    await answers();
  });

  it("a restart runs the new replica, routes to it, and retires the old one", async () => {
    const [old] = await running();
    const [row] = await db().select().from(deployments).where(eq(deployments.id, id));
    assert.ok(row && old);
    await db()
      .update(deployments)
      .set({ restartGeneration: row.restartGeneration + 1 })
      .where(eq(deployments.id, id));
    await deployer().converge(id);
    const now = await running();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], old, "the new generation runs in a new container");
    assert.deepEqual(
      (await rows()).locations.map((l) => l.containerId),
      now,
    );
    assert.match((await rows()).deployment?.statusMessage ?? "", /^1 replica\(s\) running build/);
    await answers();
  });

  it("stops: no container, no location, status stopped; converging again changes nothing", async () => {
    await db().update(deployments).set({ desiredState: "stopped" }).where(eq(deployments.id, id));
    await deployer().converge(id);
    assert.deepEqual(await running(), []);
    assert.deepEqual(await containersOf(id), [], "removed, not only stopped");
    const stopped = await rows();
    assert.deepEqual(stopped.locations, []);
    assert.equal(stopped.deployment?.status, "stopped");
    await deployer().converge(id);
    assert.deepEqual((await rows()).deployment?.updatedAt, stopped.deployment?.updatedAt);
  });

  it("starts again from the build it has, without building", async () => {
    const before = (await rows()).deployment?.currentBuildId;
    await db().update(deployments).set({ desiredState: "running" }).where(eq(deployments.id, id));
    await deployer().converge(id);
    const { deployment, locations } = await rows();
    assert.equal(deployment?.status, "running");
    assert.equal(deployment?.currentBuildId, before, "the same build");
    assert.equal(locations.length, 1);
    await answers();
  });

  it("its image gone from every engine (a lost node): builds the same commit again and runs it", async () => {
    const lost = await loseImage();
    await deployer().converge(id);
    const { deployment, locations } = await rows();
    assert.equal(deployment?.status, "running", deployment?.statusMessage);
    assert.notEqual(deployment?.currentBuildId, lost.id, "a new build");
    const rebuilt = await buildRow(deployment?.currentBuildId);
    assert.equal(rebuilt.status, "succeeded");
    assert.equal(rebuilt.commitSha, lost.commitSha, "of the same commit");
    assert.notEqual(rebuilt.imageId, "");
    assert.equal(deployment?.wantedCommit, lost.commitSha);
    assert.equal((await buildRow(lost.id)).imageId, "", "no rollback chooses the lost image");
    const containers = await running();
    assert.equal(containers.length, 1);
    assert.deepEqual(
      locations.map((l) => l.containerId),
      containers,
    );
    const inspected = await docker.getContainer(containers[0] as string).inspect();
    assert.equal(inspected.Image, rebuilt.imageId, "the container runs the rebuilt image");
    await answers();
  });

  it("an image missing right after its build is not built again: failed, as without an image", async () => {
    const { platform } = harness().t;
    const deploying = platform.deploying;
    assert.ok(deploying);
    // Only this test's deployer converges the deployment meanwhile.
    await deploying.reconciler.stop();
    try {
      const lost = await loseImage();
      // A build whose image is gone at once: as if the engine it was built on went with it.
      const missing = `sha256:${"0".repeat(64)}`;
      let built = 0;
      const deployer = new Deployer({
        runtime: new DockerRuntimePort({
          runtime: deploying.runtime,
          docker,
          hostAddress: platform.ctx.config.HOST_ADDRESS,
          stopTimeoutSec: 2,
        }),
        records: new DatabaseDeploymentRecords(
          deploymentRecordsDeps(platform.ctx, edgeTls(platform.ctx.config)),
        ),
        routes: deploying.routes,
        builds: {
          async build(row) {
            // Bounded, so that a deployer that built again and again still ends the test.
            if (++built > 3) return undefined;
            const buildId = randomUUID();
            await db().insert(builds).values({
              id: buildId,
              deploymentId: row.id,
              status: "succeeded",
              gitRepo: row.gitRepo,
              branch: row.branch,
              commitSha: row.wantedCommit,
              imageId: missing,
              port: lost.port,
              trigger: "api",
            });
            const [updated] = await db()
              .update(deployments)
              .set({ currentBuildId: buildId })
              .where(eq(deployments.id, row.id))
              .returning();
            return updated;
          },
        },
        nodeId: deploying.nodeId,
        installationId: deploying.installation,
        defaults: { cpuMillicores: 500, memoryMb: 256 },
        healthTimeoutMs: 30_000,
        logger: platform.ctx.logger,
      });
      await deployer.converge(id);
      assert.equal(built, 1, "the lost image's commit was built once, and not again");
      const { deployment } = await rows();
      assert.equal(deployment?.status, "failed");
      assert.match(
        deployment?.statusMessage ?? "",
        /^the new version could not be started: image sha256:0{64} not found/,
      );
      assert.equal((await buildRow(lost.id)).imageId, "");
      assert.deepEqual(await running(), []);
    } finally {
      deploying.reconciler.start();
    }
  });
});
