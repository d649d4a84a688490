/**
 * The production stack on a real three-node Swarm (test/helpers/stack.ts): deploy/stack.yml
 * deployed with `docker stack deploy`, every image built from Debian's packages and the
 * repository; then, through the edge, an app deployed from a git repository and its page.
 *
 * Run it alone and under the machine's Swarm lock (one harness per machine):
 *   flock /tmp/obiente-swarm.lock node --import tsx --test test/stack-deploy.test.ts
 * Skipped, with the reason, where the Swarm harness cannot run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { waitForStatus } from "./helpers/deploy-harness.js";
import { API_DOMAIN, type DeployedStack, deployStack, until } from "./helpers/stack.js";
import { swarmSkipReason } from "./helpers/swarm.js";

const skip = swarmSkipReason();

describe("the production stack on a 3-node Swarm", { skip: skip ?? false }, () => {
  let stack: DeployedStack;

  before(async () => {
    const started = Date.now();
    stack = await deployStack();
    console.log(
      `# stack up in ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(stack.timings)}`,
    );
  });

  after(async () => {
    const ms = await stack?.close();
    console.log(`# stack down in ${ms} ms`);
  });

  test("every service runs where its placement says", async () => {
    const expected: Record<string, number> = {
      api: 2,
      controller: 2,
      agent: 3,
      caddy: 2,
      "etcd-1": 1,
      "etcd-2": 1,
      "etcd-3": 1,
      "postgres-1": 1,
      "postgres-2": 1,
      "postgres-3": 1,
      postgres: 2,
      "redis-1": 1,
      "redis-2": 1,
      "redis-3": 1,
      prometheus: 1,
      alertmanager: 1,
    };
    for (const [service, count] of Object.entries(expected)) {
      await until(
        `${service}: ${count} running`,
        async () =>
          (await stack.tasks(service)).filter((t) => t.state.startsWith("Running")).length ===
          count,
        120_000,
        1_000,
      );
    }
    const where = async (service: string) => (await stack.tasks(service)).map((t) => t.node);
    assert.deepEqual(await where("postgres-2"), ["node2"]);
    assert.deepEqual(await where("redis-3"), ["node3"]);
    assert.deepEqual((await where("caddy")).sort(), ["node2", "node3"]);
    assert.deepEqual(await where("prometheus"), ["node1"]);
  });

  test("through the edge: an app deployed from a git repository answers", async () => {
    const { organization } = await stack
      .client(OrganizationService)
      .createOrganization({ name: "Stack" });
    assert.ok(organization);
    const { project } = await stack
      .client(ProjectService)
      .createProject({ organizationId: organization.id, name: "stack" });
    assert.ok(project);
    const deployments = stack.client(DeploymentService);
    const started = Date.now();
    const { deployment } = await deployments.createDeployment({
      projectId: project.id,
      name: "hello",
      gitRepo: stack.gitUrl,
      branch: "dockerfile",
      resources: { cpuMillicores: 0, memoryMb: 64 },
    });
    assert.ok(deployment?.domains[0]);
    await waitForStatus(deployments, deployment.id, DeploymentStatus.RUNNING, 300_000);
    const domain = deployment.domains[0];
    for (const edge of stack.edges) {
      await until(
        `${domain} through the edge on ${edge.name}`,
        async () => {
          const response = await stack.get(domain, "/", edge);
          return response.status === 200 && response.body.includes("dockerfile app");
        },
        30_000,
      );
    }
    console.log(
      `# git repository to a page through the edge: ${Math.round((Date.now() - started) / 1000)} s`,
    );
    const api = await stack.get(API_DOMAIN, "/health");
    assert.equal(api.status, 200);
  });
});
