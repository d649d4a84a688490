/**
 * The reconciler across the nodes of a real 3-node Swarm: it reads every platform service
 * through the manager and the database, plans with the same pure diff as on one engine
 * (src/controller/plan.ts), and acts. Each kind of drift is fixed by one pass:
 * - a service removed by hand is started again (and recorded, and routed);
 * - a labelled service that no deployment owns is removed;
 * - a location record that lies (another node, another port) is recorded again as it is.
 * Skipped, with the reason, where the Swarm harness cannot run.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import Dockerode from "dockerode";
import { eq } from "drizzle-orm";
import type { Reconciler } from "../src/controller/reconciler.js";
import type { SwarmRuntime } from "../src/runtime/swarm-runtime.js";
import { deploymentLocations } from "../src/store/schema.js";
import {
  APP_TEXT,
  type ClusterPlatform,
  startCluster,
  swarmSkipReason,
} from "./helpers/cluster.js";
import { BUSYBOX_IMAGE } from "./helpers/git-fixtures.js";

const skip = swarmSkipReason();

describe("the reconciler on a 3-node Swarm", { skip: skip ?? false }, () => {
  let c: ClusterPlatform;
  let swarm: SwarmRuntime;
  let reconciler: Reconciler;
  let manager: Dockerode;
  let app: { id: string; domain: string };

  before(async () => {
    // No timed pass during the tests: each drift must be fixed by the one pass the test runs.
    c = await startCluster({ env: { RECONCILE_INTERVAL_SECONDS: "3600" } });
    assert.ok(c.platform.deploying?.swarm);
    swarm = c.platform.deploying.swarm;
    reconciler = c.platform.deploying.reconciler;
    manager = new Dockerode({ socketPath: c.swarm.managerSocket.replace(/^unix:\/\//, "") });
    app = await c.deploy("drifting", { replicas: 2 });
    await c.running(app.id);
  });

  after(async () => {
    await c?.close();
  });

  /** Runs once per replica, recorded where it runs, and answers through the edge. */
  async function assertConverged() {
    const services = await swarm.list({ deploymentId: app.id });
    const locations = await c.locations(app.id);
    assert.equal(services.length, 2, "one service per replica");
    assert.equal(locations.length, 2, "one location per replica");
    for (const location of locations) {
      const service = services.find((s) => s.id === location.containerId);
      assert.ok(service, "each location names a service that exists");
      assert.equal(service.state, "running");
      assert.equal(location.nodeId, service.nodeId);
      assert.equal(location.port, service.hostPort);
      assert.equal(location.address, c.addressOf(location.nodeId));
    }
    const answer = await c.get(app.domain);
    assert.equal(answer.status, 200);
    assert.ok(answer.body.includes(APP_TEXT));
  }

  test("a service removed by hand runs again after one pass", async () => {
    const [first] = await swarm.list({ deploymentId: app.id });
    assert.ok(first);
    await manager.getService(first.id).remove();
    const plan = await reconciler.reconcileOnce();
    assert.ok(plan?.converge.includes(app.id), "the deployment was converged");
    assert.equal(plan?.dropLocations.length, 1, "the location of the removed service was dropped");
    await assertConverged();
    assert.ok(!(await swarm.list({ deploymentId: app.id })).some((s) => s.id === first.id));
  });

  test("a stray labelled service is removed by one pass", async () => {
    const image = (await manager.getImage(BUSYBOX_IMAGE).inspect()).Id;
    const stray = await manager.createService({
      Name: `obiente-stray-${randomUUID().slice(0, 8)}`,
      Labels: {
        "cloud.obiente.deployment": "true",
        "cloud.obiente.deployment_id": randomUUID(),
      },
      TaskTemplate: {
        ContainerSpec: { Image: image, Args: ["sleep", "600"] },
        Placement: { Constraints: [`node.id==${c.idOf("node3")}`] },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
    assert.ok((await swarm.list()).some((s) => s.id === stray.id));
    const plan = await reconciler.reconcileOnce();
    assert.deepEqual(plan?.removeOrphans, [stray.id]);
    assert.ok(!(await swarm.list()).some((s) => s.id === stray.id), "the stray is gone");
    await assertConverged();
  });

  test("a location record that lies is recorded again as it is by one pass", async () => {
    const db = c.platform.ctx.db;
    const [one, two] = (await c.locations(app.id)).sort((a, b) => a.replica - b.replica);
    assert.ok(one && two);
    // One says another port, the other another node (and its address).
    const elsewhere = c.swarm.nodes.find((node) => node.id !== two.nodeId);
    assert.ok(elsewhere);
    await db
      .update(deploymentLocations)
      .set({ port: one.port === 42999 ? 42998 : one.port + 1 })
      .where(eq(deploymentLocations.id, one.id));
    await db
      .update(deploymentLocations)
      .set({ nodeId: elsewhere.id, address: elsewhere.address })
      .where(eq(deploymentLocations.id, two.id));
    const plan = await reconciler.reconcileOnce();
    assert.deepEqual(plan?.dropLocations, [one.id, two.id].sort());
    assert.ok(plan?.converge.includes(app.id));
    await assertConverged();
    // The services themselves were left running: nothing needed moving.
    const after = await c.locations(app.id);
    assert.deepEqual(
      after.map((l) => l.containerId).sort(),
      [one.containerId, two.containerId].sort(),
    );
  });

  test("a converged cluster gives an empty plan", async () => {
    const plan = await reconciler.reconcileOnce();
    assert.deepEqual(plan, { converge: [], removeOrphans: [], dropLocations: [] });
  });
});
