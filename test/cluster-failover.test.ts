/**
 * Moving deployments between the nodes of a real 3-node Swarm while requests flow through the
 * built-in edge:
 * - draining a node (DrainNode) moves its deployments without a single failed request: each new
 *   replica is healthy and routed before the old one goes, and Swarm drains the node only once
 *   it runs nothing of the platform's;
 * - a node whose engine dies (SIGKILL): its deployments answer again from the other nodes within
 *   30 s, the records say where they run, and nothing runs twice.
 * Skipped, with the reason, where the Swarm harness cannot run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import { eq } from "drizzle-orm";
import { NodeAvailability, NodeService } from "../src/gen/obiente/cloud/node/v1/node_pb.js";
import { nodeSpecs } from "../src/store/schema.js";
import { eventually } from "./helpers/caddy.js";
import {
  APP_TEXT,
  type ClusterPlatform,
  keepRequesting,
  startCluster,
  swarmSkipReason,
} from "./helpers/cluster.js";
import { DEPLOYMENT_ID_LABEL } from "./helpers/deploy-harness.js";

const skip = swarmSkipReason();
const NODE_LOSS_BUDGET_MS = 30_000;

describe("drain and node failure on a 3-node Swarm", { skip: skip ?? false }, () => {
  let c: ClusterPlatform;
  const deployed = new Map<string, { id: string; domain: string }>();

  before(async () => {
    c = await startCluster({ heartbeatTimeoutSeconds: 9 });
    // One replica on each node, and one deployment with two replicas.
    const specs: Array<[string, number]> = [
      ["a", 1],
      ["b", 1],
      ["c", 1],
      ["d", 2],
    ];
    for (const [name, replicas] of specs) {
      const d = await c.deploy(name, { replicas });
      deployed.set(name, d);
      await c.running(d.id);
    }
  });

  after(async () => {
    await c?.close();
  });

  /** The deployments with a replica recorded on `nodeId`. */
  async function on(nodeId: string) {
    const found: Array<{ id: string; domain: string }> = [];
    for (const d of deployed.values()) {
      if ((await c.locations(d.id)).some((l) => l.nodeId === nodeId)) found.push(d);
    }
    return found;
  }

  /** Running containers of the platform's deployments on every engine but `dead`'s, by deployment. */
  async function runningContainers(dead?: string): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    for (const node of c.swarm.nodes) {
      if (node.id === dead) continue;
      const engine = new Dockerode({ socketPath: node.socket.replace(/^unix:\/\//, "") });
      const containers = await engine.listContainers({
        filters: { label: [DEPLOYMENT_ID_LABEL], status: ["running"] },
      });
      for (const container of containers) {
        const id = container.Labels[DEPLOYMENT_ID_LABEL] ?? "";
        found.set(id, [...(found.get(id) ?? []), node.name]);
      }
    }
    return found;
  }

  /**
   * Every deployment runs once per replica, recorded where its service runs, nowhere near
   * `avoid`; the engines agree (one running container per replica), `dead`'s engine aside.
   */
  async function assertRunsOnce(avoid: string, dead?: string) {
    const swarm = c.platform.deploying?.swarm;
    assert.ok(swarm);
    for (const [name, d] of deployed) {
      const { deployment } = await c.deployments.getDeployment({ id: d.id });
      const replicas = deployment?.replicas ?? 0;
      const services = await swarm.list({ deploymentId: d.id });
      const locations = await c.locations(d.id);
      assert.equal(services.length, replicas, `${name}: one service per replica`);
      assert.equal(locations.length, replicas, `${name}: one location per replica`);
      assert.deepEqual(
        locations.map((l) => l.replica).sort(),
        Array.from({ length: replicas }, (_, i) => i),
      );
      for (const location of locations) {
        assert.notEqual(location.nodeId, avoid, `${name} still recorded on the node`);
        const service = services.find((s) => s.id === location.containerId);
        assert.ok(service, `${name}: its location's service exists`);
        assert.equal(service.nodeId, location.nodeId);
        assert.equal(service.hostPort, location.port);
        assert.equal(location.address, c.addressOf(location.nodeId));
      }
    }
    // Containers of replaced services stop within their grace period; then one per replica.
    const expected = new Map<string, number>();
    for (const d of deployed.values()) {
      const { deployment } = await c.deployments.getDeployment({ id: d.id });
      expected.set(d.id, deployment?.replicas ?? 0);
    }
    let seen = new Map<string, string[]>();
    await eventually(
      async () => {
        seen = await runningContainers(dead);
        return [...expected].every(([id, n]) => (seen.get(id)?.length ?? 0) === n)
          ? true
          : undefined;
      },
      20_000,
      "one running container per replica",
      250,
    ).catch(() => {
      assert.fail(`running containers by deployment: ${JSON.stringify([...seen])}`);
    });
    for (const [name, d] of deployed) {
      assert.ok(!seen.get(d.id)?.includes(c.nameOf(avoid)), `${name}: a container on the node`);
    }
  }

  test("draining a node moves its deployments with no failed request", async () => {
    const worker = c.swarm.nodes.find((node) => node.role === "worker");
    assert.ok(worker);
    const moving = await on(worker.id);
    assert.ok(moving.length > 0, "something runs on the drained node");
    const load = keepRequesting(
      c,
      [...deployed.values()].map((d) => d.domain),
      50,
    );
    await sleep(500);
    const nodes = c.client(NodeService);
    const drained = await nodes.drainNode({ id: worker.id });
    assert.equal(drained.node?.availability, NodeAvailability.DRAIN);

    const swarm = c.platform.deploying?.swarm;
    assert.ok(swarm);
    await eventually(
      async () => ((await on(worker.id)).length === 0 ? true : undefined),
      60_000,
      "the drained node's deployments to move",
      250,
    );
    await eventually(
      async () => ((await swarm.node(worker.id)).availability === "drain" ? true : undefined),
      30_000,
      "Swarm to drain the node once it is empty",
      250,
    );
    await sleep(1_000);
    const { total, failures } = await load.stop();
    assert.deepEqual(failures, [], `no failed request out of ${total}`);
    assert.ok(total > 50, `requests flowed (${total})`);
    await assertRunsOnce(worker.id);
    const [spec] = await c.platform.ctx.db
      .select()
      .from(nodeSpecs)
      .where(eq(nodeSpecs.nodeId, worker.id));
    assert.equal(spec?.applied, true, "the drain is applied to Swarm");

    // Activated again: at once in Swarm, and it takes new deployments.
    await nodes.activateNode({ id: worker.id });
    await eventually(
      async () => ((await swarm.node(worker.id)).availability === "active" ? true : undefined),
      30_000,
      "Swarm to make the node active again",
      250,
    );
    // The record follows within a heartbeat of the node sync.
    await eventually(
      async () =>
        (await nodes.getNode({ id: worker.id })).node?.availability === NodeAvailability.ACTIVE
          ? true
          : undefined,
      10_000,
      "the node's record to say active",
      250,
    );
  });

  test("a node that dies: its deployments answer from other nodes within 30 s, once each", async () => {
    // The emptiest node is the one just activated: new deployments go there.
    const victim = c.swarm.nodes.find((node) => node.role === "worker");
    assert.ok(victim);
    for (const name of ["e", "f"]) {
      const d = await c.deploy(name);
      deployed.set(name, d);
      await c.running(d.id);
    }
    const affected = await on(victim.id);
    assert.ok(affected.length >= 2, `deployments run on ${victim.name}`);
    const load = keepRequesting(
      c,
      affected.map((d) => d.domain),
      100,
    );
    await sleep(500);

    const killedAt = performance.now();
    c.swarm.stopEngine(victim.name);
    await eventually(
      async () => {
        for (const d of affected) {
          const ok = load.lastOk.get(d.domain) ?? 0;
          if (ok <= killedAt) return undefined;
          const locations = await c.locations(d.id);
          if (locations.length === 0 || locations.some((l) => l.nodeId === victim.id)) {
            return undefined;
          }
        }
        return true;
      },
      NODE_LOSS_BUDGET_MS + 15_000,
      "the lost node's deployments to answer from elsewhere",
      100,
    );
    const recovered = performance.now() - killedAt;
    const { failures } = await load.stop();
    // The edge sends each of them elsewhere now, and they answer.
    for (const d of affected) {
      const upstreams = await c.upstreams(d.domain);
      assert.ok(upstreams.length > 0, `${d.domain} has upstreams`);
      assert.ok(!upstreams.some((u) => u.startsWith(`${victim.address}:`)), upstreams.join());
      const answer = await c.get(d.domain);
      assert.equal(answer.status, 200);
      assert.ok(answer.body.includes(APP_TEXT));
    }
    const lastFailure = Math.max(0, ...failures.map((f) => f.at - killedAt));
    console.log(
      `node loss: every affected deployment answered from another node ${Math.round(recovered)} ms after the engine died (${affected.length} deployments; ${failures.length} failed requests, the last at ${Math.round(lastFailure)} ms)`,
    );
    assert.ok(recovered < NODE_LOSS_BUDGET_MS, `recovered after ${recovered} ms`);
    assert.ok(lastFailure < NODE_LOSS_BUDGET_MS, `failures ended after ${lastFailure} ms`);

    const { node } = await c.client(NodeService).getNode({ id: victim.id });
    assert.equal(node?.availability, NodeAvailability.DOWN);
    assert.match(node?.statusMessage ?? "", /down/);
    await assertRunsOnce(victim.id, victim.id);
  });
});
