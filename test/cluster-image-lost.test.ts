/**
 * A deployment whose image was only on the node that is lost, on a real 3-node Swarm without a
 * registry: the image lives only on the engines it was built on or copied to. With it gone from
 * the engine that built it and the node that ran it dead, moving the deployment cannot copy the
 * image anywhere; the controller builds the same commit again and runs that on another node
 * (src/controller/plan-deployment.ts, planFailedStart), instead of failing it.
 * Skipped, with the reason, where the Swarm harness cannot run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Dockerode from "dockerode";
import { eq } from "drizzle-orm";
import { NodeAvailability, NodeService } from "../src/gen/obiente/cloud/node/v1/node_pb.js";
import { builds, deployments } from "../src/store/schema.js";
import { eventually } from "./helpers/caddy.js";
import {
  APP_TEXT,
  type ClusterPlatform,
  startCluster,
  swarmSkipReason,
} from "./helpers/cluster.js";

const skip = swarmSkipReason();

describe("an image whose only copy was on a lost node, on a 3-node Swarm", {
  skip: skip ?? false,
}, () => {
  let c: ClusterPlatform;

  before(async () => {
    c = await startCluster({ heartbeatTimeoutSeconds: 9 });
  });

  after(async () => {
    await c?.close();
  });

  const engineOf = (socket: string) =>
    new Dockerode({ socketPath: socket.replace(/^unix:\/\//, "") });

  test("the deployment is built again from its commit and runs on another node", async () => {
    const db = c.platform.ctx.db;
    const nodes = c.client(NodeService);
    const manager = c.swarm.nodes.find((node) => node.role === "manager");
    assert.ok(manager);
    // Nothing runs on the manager, whose engine builds: the image is copied to a worker.
    await nodes.drainNode({ id: manager.id });
    await eventually(
      async () =>
        (await nodes.getNode({ id: manager.id })).node?.availability === NodeAvailability.DRAIN
          ? true
          : undefined,
      30_000,
      "the manager's record to say drained",
      250,
    );
    const d = await c.deploy("lost");
    await c.running(d.id);
    const [location] = await c.locations(d.id);
    assert.ok(location && location.nodeId !== manager.id, "it runs on a worker");
    const holder = c.swarm.nodes.find((node) => node.id === location.nodeId);
    const other = c.swarm.nodes.find((node) => node.role === "worker" && node !== holder);
    assert.ok(holder && other);
    const [row] = await db.select().from(deployments).where(eq(deployments.id, d.id));
    assert.ok(row?.currentBuildId);
    const [lost] = await db.select().from(builds).where(eq(builds.id, row.currentBuildId));
    assert.ok(lost?.imageId);

    // The only copy left is on the node that is about to die.
    await engineOf(manager.socket).getImage(lost.imageId).remove({ force: true });
    await assert.rejects(engineOf(other.socket).getImage(lost.imageId).inspect(), {
      statusCode: 404,
    });
    c.swarm.stopEngine(holder.name);

    // Ends at a failure too, which the assertion below then shows.
    const rebuilt = await eventually(
      async () => {
        const [now] = await db.select().from(deployments).where(eq(deployments.id, d.id));
        if (now?.status === "failed") return now;
        if (now?.status !== "running" || now.currentBuildId === lost.id) return undefined;
        const locations = await c.locations(d.id);
        return locations.length === 1 && locations[0]?.nodeId === other.id ? now : undefined;
      },
      240_000,
      "the deployment to run a new build on the other worker",
      500,
    );
    assert.equal(rebuilt.status, "running", rebuilt.statusMessage);
    const [build] = await db
      .select()
      .from(builds)
      .where(eq(builds.id, rebuilt.currentBuildId as string));
    assert.equal(build?.status, "succeeded");
    assert.equal(build?.commitSha, lost.commitSha, "the same commit");
    const [old] = await db.select().from(builds).where(eq(builds.id, lost.id));
    assert.equal(old?.imageId, "", "no rollback chooses the lost image");
    const answer = await c.get(d.domain);
    assert.equal(answer.status, 200);
    assert.ok(answer.body.includes(APP_TEXT));
  });
});
