/**
 * Placement on a real 3-node Swarm (node1 manager at 10.77.0.11, node2 and node3 workers at .12
 * and .13, each 2 CPUs as the machine has): each strategy places a series of deployments as it
 * should, every deployment answers through the built-in edge at its node's address, and a
 * deployment that fits nowhere is refused, at CreateDeployment (ResourceExhausted) or when it
 * starts (FAILED), saying which constraint failed on which node; ExplainPlacement shows every
 * node's verdict. Skipped, with the reason, where the Swarm harness cannot run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { Command } from "commander";
import { placementGuardDeps } from "../src/app/controller-deps.js";
import { placementGuard } from "../src/app/deploying.js";
import { registerClusterCommands } from "../src/cli/cluster-commands.js";
import { DomainError } from "../src/domain/errors.js";
import {
  DeploymentStatus,
  PlacementStrategy,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeService } from "../src/gen/obiente/cloud/node/v1/node_pb.js";
import { eventually } from "./helpers/caddy.js";
import {
  APP_TEXT,
  type ClusterPlatform,
  startCluster,
  swarmSkipReason,
} from "./helpers/cluster.js";

const skip = swarmSkipReason();

describe("placement on a 3-node Swarm", { skip: skip ?? false }, () => {
  let c: ClusterPlatform;
  /** Node ids in id order: the order ties and the rotation go by. */
  let byId: string[];

  before(async () => {
    c = await startCluster();
    byId = c.swarm.nodes.map((node) => node.id).sort();
    // The agent has recorded the three nodes, ready and labelled compute=true.
    const { nodes } = await c.client(NodeService).listNodes({});
    assert.deepEqual(
      nodes.map((node) => [node.hostname, node.address, node.labels.compute]).sort(),
      [
        ["node1", "10.77.0.11", "true"],
        ["node2", "10.77.0.12", "true"],
        ["node3", "10.77.0.13", "true"],
      ],
    );
  });

  after(async () => {
    await c?.close();
  });

  /** Deploys, waits until it runs, checks it answers at its node; returns its nodes by replica. */
  async function deployAndCheck(
    name: string,
    options: Parameters<ClusterPlatform["deploy"]>[1] = {},
  ): Promise<{ id: string; nodes: string[] }> {
    const { id, domain } = await c.deploy(name, options);
    await c.running(id);
    const locations = (await c.locations(id)).sort((a, b) => a.replica - b.replica);
    assert.equal(locations.length, options.replicas ?? 1);
    for (const location of locations) {
      assert.equal(location.address, c.addressOf(location.nodeId), "routed at its node's address");
      assert.ok(location.port >= 42000 && location.port <= 42999);
      // The replica itself answers there.
      const direct = await c.getAt(location.address, location.port);
      assert.equal(direct.status, 200);
      assert.ok(direct.body.includes(APP_TEXT));
    }
    // The edge routes the domain to exactly those node addresses and ports, and answers through
    // each of them (its upstreams take turns).
    assert.deepEqual(
      await c.upstreams(domain),
      locations.map((l) => `${l.address}:${l.port}`).sort(),
    );
    for (const _ of locations) {
      const answer = await c.get(domain);
      assert.equal(answer.status, 200);
      assert.ok(answer.body.includes(APP_TEXT));
    }
    return { id, nodes: locations.map((l) => l.nodeId) };
  }

  /** Runs `obiente <args>` (the cluster commands) in this process; returns what it printed. */
  async function cli(args: string[]): Promise<string[]> {
    const program = new Command().exitOverride();
    registerClusterCommands(program);
    const printed: string[] = [];
    const write = process.stdout.write;
    process.env.OBIENTE_API = c.baseUrl;
    process.env.OBIENTE_TOKEN = c.token;
    process.stdout.write = ((chunk: string) => {
      printed.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      await program.parseAsync(["node", "obiente", ...args]);
    } finally {
      process.stdout.write = write;
      delete process.env.OBIENTE_API;
      delete process.env.OBIENTE_TOKEN;
    }
    return printed.join("").split("\n").slice(0, -1);
  }

  async function removeAll(ids: string[]) {
    await Promise.all(ids.map((id) => c.remove(id)));
  }

  test("least-loaded: replicas spread, then the emptiest node gets the next deployment", async () => {
    const wide = await deployAndCheck("ll-wide", { replicas: 2 });
    assert.equal(new Set(wide.nodes).size, 2, "two replicas, two nodes");
    const next = await deployAndCheck("ll-next");
    const empty = byId.filter((id) => !wide.nodes.includes(id));
    assert.deepEqual(next.nodes, empty, "the node that had nothing");
    // Now one deployment each: the lowest id wins the tie.
    const tie = await deployAndCheck("ll-tie");
    assert.deepEqual(tie.nodes, [byId[0]]);

    const { strategy, nodes } = await c.deployments.explainPlacement({ deploymentId: tie.id });
    assert.equal(strategy, PlacementStrategy.LEAST_LOADED);
    assert.deepEqual(
      nodes.map((n) => [n.nodeId, n.feasible, n.selected]),
      byId.map((id, i) => [id, true, i === 0]),
    );
    assert.ok(nodes.every((n) => typeof n.scores["least-loaded"] === "number"));

    // The CLI shows the same: `obiente explain <name>` and `obiente nodes`.
    const explained = await cli(["explain", "ll-tie"]);
    assert.match(explained[0] ?? "", /^ll-tie \(/);
    assert.match(explained[1] ?? "", /^ {2}strategy: least-loaded, decided \d{4}-\d{2}-\d{2}T/);
    const chosen = c.nameOf(byId[0] as string);
    assert.ok(
      explained.some((line) => line.startsWith(`  ✓ ${chosen} `) && line.includes("total=")),
    );
    const listed = await cli(["nodes"]);
    assert.match(listed[0] ?? "", /^HOSTNAME +ID +ADDRESS +ROLE +AVAILABILITY/);
    for (const name of ["node1", "node2", "node3"]) {
      assert.ok(listed.some((line) => line.startsWith(name) && line.includes(" active ")));
    }
    await removeAll([wide.id, next.id, tie.id]);
  });

  test("round-robin: consecutive deployments cycle through the nodes", async () => {
    const placed: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await deployAndCheck(`rr-${i}`, { strategy: PlacementStrategy.ROUND_ROBIN });
      placed.push(d.nodes[0] as string);
      ids.push(d.id);
    }
    assert.equal(new Set(placed.slice(0, 3)).size, 3, `three nodes in turn: ${placed}`);
    assert.equal(placed[3], placed[0], "then the first again");
    // In id order, wrapping: each is the one after the previous.
    for (let i = 1; i < 4; i++) {
      const previous = byId.indexOf(placed[i - 1] as string);
      assert.equal(placed[i], byId[(previous + 1) % byId.length]);
    }
    await removeAll(ids);
  });

  test("resource-based: the fullest node that still fits (best fit)", async () => {
    const big = await deployAndCheck("rb-big", {
      cpuMillicores: 1500,
      strategy: PlacementStrategy.RESOURCE_BASED,
    });
    const full = big.nodes[0] as string;
    // 500m left there: a 400m deployment fits best on it, where least-loaded would avoid it.
    const small = await deployAndCheck("rb-small", {
      cpuMillicores: 400,
      strategy: PlacementStrategy.RESOURCE_BASED,
    });
    assert.deepEqual(small.nodes, [full]);
    // 100m left: the next 400m goes elsewhere.
    const other = await deployAndCheck("rb-other", {
      cpuMillicores: 400,
      strategy: PlacementStrategy.RESOURCE_BASED,
    });
    assert.notEqual(other.nodes[0], full);
    const explained = await c.deployments.explainPlacement({ deploymentId: other.id });
    const verdict = explained.nodes.find((n) => n.nodeId === full);
    assert.equal(verdict?.feasible, false);
    assert.match(verdict?.reason ?? "", /^cpu: not enough CPU: 100m free, 400m requested/);
    await removeAll([big.id, small.id, other.id]);
  });

  test("a full cluster refuses CreateDeployment with ResourceExhausted, naming the constraint and the nodes", async () => {
    // Every node has 2 CPUs: 3 do not fit anywhere.
    const guard = placementGuard(placementGuardDeps(c.platform.ctx));
    await assert.rejects(guard({ replicas: 1, cpuMillicores: 3000, memoryMb: 64 }), (error) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.kind, "resource_exhausted");
      for (const id of byId) {
        assert.ok(error.message.includes(`${id}: not enough CPU: 2000m free, 3000m requested`));
      }
      return true;
    });
    await guard({ replicas: 3, cpuMillicores: 1000, memoryMb: 64 }); // fits: no error

    // Through the API: refused at once (ResourceExhausted, the reason in the message).
    const refusal = async (made: Promise<unknown>): Promise<string> => {
      const error = await made.then(
        () => assert.fail("CreateDeployment accepted it"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConnectError, String(error));
      assert.equal(error.code, Code.ResourceExhausted, error.message);
      return error.rawMessage;
    };
    const tooBig = await refusal(c.deploy("too-big", { cpuMillicores: 3000 }));
    assert.match(tooBig, /^replica 1 of 1 of deployment .* fits on no node \(3 checked\): /);
    for (const id of byId) {
      assert.ok(tooBig.includes(`${id}: not enough CPU: 2000m free, 3000m requested`), tooBig);
    }
    // Replicas share nodes when they must; here capacity runs out (2 CPUs × 3 nodes) at the 7th.
    const tooMany = await refusal(c.deploy("too-many", { replicas: 7, cpuMillicores: 1000 }));
    assert.match(tooMany, /^replica 7 of 7 .*not enough CPU: 0m free, 1000m requested/);
    const { deployments: made } = await c.deployments.listDeployments({ projectId: c.projectId });
    assert.deepEqual(
      made.filter((d) => d.name.startsWith("too-")),
      [],
      "no refused deployment was recorded",
    );

    // What fits when it is made but not when it starts (here a scale-up) fails then, saying why,
    // and what ran before keeps running.
    const growing = await deployAndCheck("growing", { cpuMillicores: 1000 });
    const [kept] = await c.locations(growing.id);
    assert.ok(kept);
    await c.deployments.scaleDeployment({ id: growing.id, replicas: 7 });
    const failed = await eventually(
      async () => {
        const { deployment } = await c.deployments.getDeployment({ id: growing.id });
        return deployment?.status === DeploymentStatus.FAILED ? deployment : undefined;
      },
      60_000,
      "the scale-up to fail",
      250,
    );
    // One replica runs (1000m), 6 more are placed: 5 fit (1000m left on its node, 2000m on each other).
    assert.match(failed.statusMessage, /^cannot be placed: replica 6 of 6 of deployment /);
    assert.match(failed.statusMessage, /fits on no node \(3 checked\)/);
    for (const node of byId) {
      assert.ok(
        failed.statusMessage.includes(`${node}: not enough CPU: 0m free, 1000m requested`),
        failed.statusMessage,
      );
    }
    const explained = await c.deployments.explainPlacement({ deploymentId: growing.id });
    assert.deepEqual(
      explained.nodes.map((n) => [n.nodeId, n.feasible, n.selected, n.reason]),
      byId.map((node) => [node, false, false, "cpu: not enough CPU: 0m free, 1000m requested"]),
    );
    assert.deepEqual(
      (await c.locations(growing.id)).map((l) => [l.replica, l.containerId]),
      [[0, kept.containerId]],
    );
    assert.deepEqual(
      (await c.platform.deploying?.swarm?.list({ deploymentId: growing.id }))?.map((s) => s.id),
      [kept.containerId],
    );
    assert.equal((await c.get(failed.domains[0] ?? "")).status, 200);
    await removeAll([growing.id]);
  });

  test("a drain with nowhere to go keeps the deployments where they run", async () => {
    // 1.5 CPUs on each node: none has room for another.
    const ids: string[] = [];
    for (const name of ["full-1", "full-2", "full-3"]) {
      ids.push((await deployAndCheck(name, { cpuMillicores: 1500 })).id);
    }
    const [stuck] = ids as [string];
    const [location] = await c.locations(stuck);
    assert.ok(location);
    const nodes = c.client(NodeService);
    await nodes.drainNode({ id: location.nodeId });
    const explained = await eventually(
      async () => {
        const e = await c.deployments.explainPlacement({ deploymentId: stuck });
        return e.nodes.some((n) => n.nodeId === location.nodeId && !n.feasible) ? e : undefined;
      },
      30_000,
      "the move to be tried",
      250,
    );
    for (const verdict of explained.nodes) {
      assert.equal(verdict.feasible, false);
      assert.match(
        verdict.reason,
        verdict.nodeId === location.nodeId
          ? /^active: node is draining/
          : /^cpu: not enough CPU: 500m free, 1500m requested/,
      );
    }
    // It still runs there and answers; Swarm does not drain a node the platform could not empty.
    const { deployment } = await c.deployments.getDeployment({ id: stuck });
    assert.equal(deployment?.status, DeploymentStatus.RUNNING);
    assert.deepEqual(
      (await c.locations(stuck)).map((l) => l.containerId),
      [location.containerId],
    );
    assert.equal((await c.get(deployment?.domains[0] ?? "")).status, 200);
    assert.equal(
      (await c.platform.deploying?.swarm?.node(location.nodeId))?.availability,
      "active",
    );
    await nodes.activateNode({ id: location.nodeId });
    await removeAll(ids);
  });

  test("ExplainPlacement of a deployment the caller cannot see is NotFound", async () => {
    await assert.rejects(
      c.deployments.explainPlacement({ deploymentId: "00000000-0000-4000-8000-000000000000" }),
      (error) => error instanceof ConnectError && error.code === Code.NotFound,
    );
  });
});
