/**
 * Images through a registry on a real 3-node Swarm: with REGISTRY set (a real docker-registry on
 * the harness's bridge address, plain HTTP, htpasswd credentials) and no SWARM_NODE_SOCKETS, the
 * building engine (node1, the manager) pushes the image, the services name it by digest and the
 * worker nodes pull it with the credentials the services were created with. A registry that
 * refuses the credentials, or cannot be reached, fails the deployment with a message saying so.
 * Only loopback and the harness's 10.77.0.0/24 addresses are contacted.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Dockerode from "dockerode";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { dockerOptions } from "../src/runtime/docker-host.js";
import {
  APP_TEXT,
  type ClusterPlatform,
  startCluster,
  swarmSkipReason,
} from "./helpers/cluster.js";
import { waitForStatus } from "./helpers/deploy-harness.js";
import {
  prepareRegistry,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  registrySkipReason,
  type TestRegistry,
} from "./helpers/registry.js";

const skip = swarmSkipReason() ?? registrySkipReason();
const NAMESPACE = "obiente-test";

describe("images through a registry on a 3-node Swarm", { skip: skip ?? false }, () => {
  let c: ClusterPlatform;
  let registry: TestRegistry;

  before(async () => {
    registry = await prepareRegistry();
    c = await startCluster({
      env: {
        SWARM_NODE_SOCKETS: "", // not set: the nodes get images from the registry only
        REGISTRY: `${registry.host}/${NAMESPACE}`,
        REGISTRY_USERNAME: REGISTRY_USER,
        REGISTRY_PASSWORD,
        REGISTRY_INSECURE: "true",
      },
    });
    // The bridge address exists now that the harness is up.
    await registry.start();
  });

  after(async () => {
    await c?.close();
    await registry?.close();
  });

  test("a deployment's image is pushed, named by digest, and pulled by every node", async () => {
    const started = performance.now();
    const { id, domain } = await c.deploy("registry-app", { replicas: 3 });
    await c.running(id, 180_000);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);

    // One replica per node: the two workers had to pull the image from the registry.
    const locations = await c.locations(id);
    assert.deepEqual(locations.map((l) => c.nameOf(l.nodeId)).sort(), ["node1", "node2", "node3"]);
    for (const location of locations) {
      const direct = await c.getAt(location.address, location.port);
      assert.equal(direct.status, 200);
      assert.ok(direct.body.includes(APP_TEXT));
    }
    // Through the edge, from each replica in turn (the workers' among them).
    const upstreams = await c.upstreams(domain);
    assert.ok(upstreams.some((u) => u.startsWith("10.77.0.12:") || u.startsWith("10.77.0.13:")));
    for (const _ of upstreams) {
      const answer = await c.get(domain);
      assert.equal(answer.status, 200);
      assert.ok(answer.body.includes(APP_TEXT));
    }

    // The services name the image by digest, in the registry's repository for the deployment.
    const swarm = c.platform.deploying?.swarm;
    assert.ok(swarm);
    const services = await swarm.list({ deploymentId: id });
    assert.equal(services.length, 3);
    const repository = `${registry.host}/${NAMESPACE}/obiente-${id}`;
    for (const service of services) {
      assert.match(service.image, /@sha256:[0-9a-f]{64}$/);
      assert.equal(service.image.split("@")[0], repository);
    }
    // The registry holds the repository.
    assert.ok((await registry.catalog()).includes(`${NAMESPACE}/obiente-${id}`));
    // A worker's engine has it as pulled from the registry (a repo digest), not loaded.
    const worker = c.swarm.nodes.find((node) => node.role === "worker");
    assert.ok(worker);
    const engine = new Dockerode(dockerOptions(worker.socket).options);
    const image = await engine.getImage(services[0]?.image ?? "").inspect();
    assert.ok(image.RepoDigests.includes(services[0]?.image ?? ""));
    console.log(`# registry: 3 replicas pushed, pulled and answering in ${seconds} s`);
    await c.remove(id);
  });

  test("a registry that refuses the credentials fails the deployment, saying so", async () => {
    // The registry's password changed: the platform's is wrong now.
    await registry.start("other");
    const { id } = await c.deploy("refused-app");
    const failed = await waitForStatus(c.deployments, id, DeploymentStatus.FAILED, 120_000);
    assert.match(
      failed.message,
      new RegExp(
        `the registry ${registry.host.replace(/\./g, "\\.")} refused the credentials of user "${REGISTRY_USER}"`,
      ),
    );
    assert.ok(!failed.message.includes(REGISTRY_PASSWORD), "the password is never shown");
    assert.deepEqual(await c.locations(id), []);
    console.log(`# refused: ${failed.message}`);
    await c.remove(id);
  });

  test("a registry that cannot be reached fails the deployment, saying so", async () => {
    await registry.stop();
    const { id } = await c.deploy("unreachable-app");
    const failed = await waitForStatus(c.deployments, id, DeploymentStatus.FAILED, 120_000);
    assert.match(
      failed.message,
      new RegExp(`the registry ${registry.host.replace(/\./g, "\\.")} cannot be reached`),
    );
    assert.deepEqual(await c.locations(id), []);
    console.log(`# unreachable: ${failed.message}`);
    await c.remove(id);
  });
});
