/**
 * Metrics on a real 3-node Swarm with an agent against each node's engine, as in production
 * (test/helpers/cluster.ts): node1's agent in the platform on the manager, node2's and node3's in
 * agent-only platforms sharing the database and Redis. A deployment placed on a worker is
 * collected by that worker's agent under the worker's Swarm node id: its samples reach the API
 * over Redis (StreamDeploymentMetrics), the metrics database records them under that node, and
 * the node's usage goes into its own node_metadata row. Skipped, with the reason, where the Swarm
 * harness cannot run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Dockerode from "dockerode";
import { sql } from "drizzle-orm";
import { NodeService } from "../src/gen/obiente/cloud/node/v1/node_pb.js";
import { parseBatch, SAMPLES_CHANNEL, type SampleBatch } from "../src/metrics/index.js";
import { dockerOptions } from "../src/runtime/docker-host.js";
import { executeRows } from "../src/store/index.js";
import { eventually } from "./helpers/caddy.js";
import { type ClusterPlatform, startCluster, swarmSkipReason } from "./helpers/cluster.js";

const skip = swarmSkipReason();
const INTERVAL_MS = 500;
const MIB = 1024 * 1024;

describe("metrics on a 3-node Swarm, an agent per node", { skip: skip ?? false }, () => {
  let c: ClusterPlatform;

  before(async () => {
    c = await startCluster({
      env: {
        METRICS_INTERVAL_MS: String(INTERVAL_MS),
        METRICS_BUCKET_MS: "1000",
        METRICS_AGGREGATE_INTERVAL_MS: "1000",
        METRICS_NODE_USAGE: "true",
      },
    });
  });

  after(async () => {
    await c?.close();
  });

  test("each agent knows its node by its Swarm node id; only the manager's records the nodes", () => {
    const manager = c.swarm.nodes.find((node) => node.role === "manager");
    assert.ok(manager);
    assert.equal(c.platform.deploying?.nodeId(), manager.id);
    assert.ok(c.platform.deploying?.nodeSync, "the manager's agent records the Swarm's nodes");
    assert.equal(c.agents.length, 2);
    for (const agent of c.agents) {
      assert.equal(agent.node.role, "worker");
      assert.equal(agent.platform.deploying?.nodeId(), agent.node.id, agent.node.name);
      assert.ok(agent.platform.metrics.system.collector, `${agent.node.name}'s agent collects`);
    }
  });

  test("a deployment on a worker: live samples under the worker's id, its usage in node_metadata", async (t) => {
    const worker = c.agents.find((agent) => agent.node.name === "node2");
    assert.ok(worker);
    const nodes = c.client(NodeService);
    // Only node2 takes user deployments.
    for (const node of c.swarm.nodes) {
      if (node.id !== worker.node.id) await nodes.labelNode({ id: node.id, remove: ["compute"] });
    }

    // What the agents publish on the bus, as every API process receives it.
    const batches: SampleBatch[] = [];
    const unsubscribe = await c.platform.ctx.services.bus.subscribe(SAMPLES_CHANNEL, (message) => {
      const batch = parseBatch(message);
      if (batch) batches.push(batch);
    });
    try {
      const d = await c.deploy("metrics-on-worker", { memoryMb: 64 });
      await c.running(d.id);
      const locations = await c.locations(d.id);
      assert.deepEqual(
        locations.map((l) => c.nameOf(l.nodeId)),
        ["node2"],
      );
      // Its task gets STOP_TIMEOUT_SECONDS (2 on the harness) to stop.
      const manager = new Dockerode(dockerOptions(c.swarm.managerSocket).options);
      const [service] = (await c.platform.deploying?.swarm?.list({ deploymentId: d.id })) ?? [];
      assert.ok(service);
      const inspected = await manager.getService(service.id).inspect();
      assert.equal(inspected.Spec?.TaskTemplate?.ContainerSpec?.StopGracePeriod, 2_000_000_000);

      // The live view through the API.
      const startedAt = performance.now();
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 20 * INTERVAL_MS + 10_000);
      let live: { memoryBytes: bigint; memoryLimitBytes: bigint } | undefined;
      try {
        for await (const { sample } of c.deployments.streamDeploymentMetrics(
          { deploymentId: d.id },
          { signal: abort.signal },
        )) {
          if (sample && sample.memoryBytes > 0n) {
            live = sample;
            break;
          }
        }
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
      assert.ok(live, "StreamDeploymentMetrics gave no sample of the worker's replica");
      assert.equal(live.memoryLimitBytes, BigInt(64 * MIB), "the replica's memory limit");
      t.diagnostic(
        `first live sample ${Math.round(performance.now() - startedAt)} ms after RUNNING`,
      );

      // The samples came from node2's agent, under node2's Swarm node id.
      const carrying = batches.filter((b) => b.samples.some((s) => s.deploymentId === d.id));
      assert.ok(carrying.length > 0, "batches with the deployment's samples");
      assert.deepEqual([...new Set(carrying.map((b) => b.nodeId))], [worker.node.id]);
      assert.ok(
        carrying.every((b) => b.node?.nodeId === worker.node.id),
        "the batch's node usage is node2's",
      );

      // The metrics database records them under node2.
      const rows = await eventually(
        async () => {
          const found = await executeRows<{ node_id: string }>(
            c.platform.ctx.db,
            sql`SELECT DISTINCT node_id FROM container_metrics_minute WHERE deployment_id = ${d.id}`,
          );
          return found.length > 0 ? found : undefined;
        },
        15_000,
        "the deployment's per-minute rows",
        250,
      );
      assert.deepEqual(
        rows.map((r) => r.node_id),
        [worker.node.id],
      );

      // node2's row in node_metadata has its usage, written by its own agent.
      const { node } = await eventually(
        async () => {
          const answer = await nodes.getNode({ id: worker.node.id });
          return (answer.node?.usage?.memoryBytes ?? 0n) > 0n ? answer : undefined;
        },
        10_000,
        "node2's usage in node_metadata",
        250,
      );
      assert.ok(node?.usage);
      assert.ok(node.usage.diskPercent > 0, `disk ${node.usage.diskPercent}%`);
      assert.ok(node.usage.cpuPercent >= 0 && node.usage.cpuPercent <= 100);
      const written = worker.platform.metrics.system.observability().node;
      assert.ok(written && written.updates > 0, "node2's agent wrote its node's usage");
      // And the row stays the Swarm's: ready, active, recorded by the manager's agent.
      assert.equal(node.role, "worker");
      assert.ok(node.lastHeartbeat, "node2's heartbeat comes from the manager's record");
      await c.remove(d.id);
    } finally {
      await unsubscribe();
      for (const node of c.swarm.nodes) {
        await nodes.labelNode({ id: node.id, set: { compute: "true" } }).catch(() => undefined);
      }
    }
  });
});
