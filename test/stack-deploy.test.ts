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
import { setTimeout as sleep } from "node:timers/promises";
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
  let organizationId = "";
  let projectId = "";
  /** The deployments made so far: each must answer through the edge at the end. */
  const apps: Array<{ id: string; domain: string }> = [];

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

  /** Deploys the fixture app from the git daemon; resolves once it runs. */
  async function deployApp(name: string, replicas = 1) {
    const deployments = stack.client(DeploymentService);
    const { deployment } = await deployments.createDeployment({
      projectId,
      name,
      gitRepo: stack.gitUrl,
      branch: "dockerfile",
      replicas,
      resources: { cpuMillicores: 0, memoryMb: 64 },
    });
    assert.ok(deployment?.domains[0]);
    const app = { id: deployment.id, domain: deployment.domains[0] };
    apps.push(app);
    return {
      ...app,
      running: () => waitForStatus(deployments, app.id, DeploymentStatus.RUNNING, 300_000),
    };
  }

  /** Every app answers through every edge in `edges`. */
  async function everyAppAnswers(edges = stack.edges, timeoutMs = 30_000) {
    return until(
      "every app through every edge",
      async () => {
        for (const edge of edges) {
          for (const app of apps) {
            const response = await stack.get(app.domain, "/", edge, 3_000);
            if (response.status !== 200 || !response.body.includes("dockerfile app")) return false;
          }
        }
        return true;
      },
      timeoutMs,
      500,
    );
  }

  test("through the edge: an app deployed from a git repository answers", async () => {
    const { organization } = await stack
      .client(OrganizationService)
      .createOrganization({ name: "Stack" });
    assert.ok(organization);
    organizationId = organization.id;
    const { project } = await stack
      .client(ProjectService)
      .createProject({ organizationId: organization.id, name: "stack" });
    assert.ok(project);
    projectId = project.id;
    const started = Date.now();
    const hello = await deployApp("hello");
    await hello.running();
    await everyAppAnswers(stack.edges, 30_000);
    console.log(
      `# git repository to a page through the edge: ${Math.round((Date.now() - started) / 1000)} s`,
    );
    const api = await stack.get(API_DOMAIN, "/health");
    assert.equal(api.status, 200);
    // Two more, with two replicas: spread over the nodes, for the node loss below.
    const more = [await deployApp("second", 2), await deployApp("third", 2)];
    for (const app of more) await app.running();
    await everyAppAnswers();
  });

  test("the PostgreSQL leader killed: a new leader; writes resume through HAProxy; none lost", async () => {
    const leader = await stack.postgresLeader();
    assert.ok(leader, "a leader");
    // A writer through the API: each acknowledged project must be there afterwards.
    const acknowledged: string[] = [];
    let failed = 0;
    let stopped = false;
    let firstAfterKill = 0;
    let killedAt = 0;
    const writer = (async () => {
      for (let seq = 0; !stopped; seq++) {
        const sentAt = Date.now();
        try {
          const response = await stack.api("/api/v1/projects", {
            method: "POST",
            body: JSON.stringify({ organization_id: organizationId, name: `w-${seq}` }),
            timeoutMs: 15_000,
          });
          if (response.status === 201) {
            acknowledged.push((JSON.parse(response.body) as { id: string }).id);
            if (killedAt > 0 && sentAt > killedAt && firstAfterKill === 0) {
              firstAfterKill = Date.now() - killedAt;
            }
          } else failed++;
        } catch {
          failed++;
        }
        await sleep(100);
      }
    })();
    await sleep(2_000);
    killedAt = Date.now();
    const node = await stack.kill(leader);
    const promotedIn = await until(
      "a new PostgreSQL leader",
      async () => {
        const now = await stack.postgresLeader();
        return now !== undefined && now !== leader;
      },
      60_000,
      500,
    );
    await until("a write acknowledged after the kill", async () => firstAfterKill > 0, 60_000);
    await sleep(3_000);
    stopped = true;
    await writer;
    const listed = await stack.api(`/api/v1/projects?organization_id=${organizationId}`);
    assert.equal(listed.status, 200, listed.body);
    const ids = new Set(
      (JSON.parse(listed.body) as { projects: Array<{ id: string }> }).projects.map((p) => p.id),
    );
    const lost = acknowledged.filter((id) => !ids.has(id));
    console.log(
      `# PostgreSQL leader ${leader} killed on ${node.name}: ${await stack.postgresLeader()} leads ${promotedIn} ms later; first write acknowledged after the kill ${firstAfterKill} ms after it; ${acknowledged.length} writes acknowledged, ${lost.length} lost, ${failed} failed`,
    );
    assert.deepEqual(lost, [], "every acknowledged write is there");
    assert.ok(promotedIn <= 30_000, `a new leader within 30 s (${promotedIn} ms)`);
  });

  test("the Redis master killed: the queue, cache, locks and rate limits carry on", async () => {
    const master = await stack.redisMaster();
    assert.ok(master);
    const killedAt = Date.now();
    await stack.kill(master);
    // A deployment made right away: its job goes through the queue of the new master.
    const during = await deployApp("during-redis-failover");
    const promotedIn = await until(
      "a new Redis master",
      async () => {
        const now = await stack.redisMaster();
        return now !== undefined && now !== master;
      },
      60_000,
      500,
    );
    await during.running();
    const runningIn = Date.now() - killedAt;
    // The API (its cache, rate limits and sessions are in Redis) answers; a controller leads.
    const listed = await stack.api(`/api/v1/projects?organization_id=${organizationId}`);
    assert.equal(listed.status, 200);
    await until(
      "a controller holds the leader lock",
      async () => !!(await stack.controllerLeader()),
      30_000,
    );
    await everyAppAnswers();
    console.log(
      `# Redis master ${master} killed: ${await stack.redisMaster()} promoted ${promotedIn} ms later; a deployment made at the kill ran ${runningIn} ms after it`,
    );
  });

  test("an API replica killed under load through the edge: at least 99.9 % succeed", async () => {
    let ok = 0;
    const failures: string[] = [];
    let stopped = false;
    const loop = async (edgeIndex: number) => {
      const edge = stack.edges[edgeIndex % stack.edges.length];
      while (!stopped) {
        try {
          const response = await stack.api(`/api/v1/projects?organization_id=${organizationId}`, {
            edge,
            timeoutMs: 10_000,
          });
          if (response.status === 200) ok++;
          else failures.push(`${response.status} ${response.body.slice(0, 80)}`);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    };
    const loops = [0, 1, 2, 3].map(loop);
    await sleep(5_000);
    const node = await stack.kill("api");
    await sleep(15_000);
    stopped = true;
    await Promise.all(loops);
    const total = ok + failures.length;
    const rate = ok / total;
    console.log(
      `# API replica killed on ${node.name} under load: ${ok} of ${total} requests succeeded (${(rate * 100).toFixed(3)} %); failures: ${JSON.stringify(failures.slice(0, 5))}`,
    );
    assert.ok(total > 200, `requests flowed (${total})`);
    assert.ok(rate >= 0.999, `${(rate * 100).toFixed(3)} % succeeded`);
  });

  test("a node lost (edge, controller leader, app replicas): everything answers from the others", async () => {
    // The node to lose: an edge node whose controller leads. If the leader runs elsewhere, its
    // container is killed and the standby, on an edge node, takes over (the lock's TTL).
    let leaderNode = await stack.controllerLeader();
    assert.ok(leaderNode, "a controller leads");
    if (!stack.edges.includes(leaderNode)) {
      const killedAt = Date.now();
      await stack.kill("controller", leaderNode);
      const previous = leaderNode;
      await until(
        "the standby controller to lead",
        async () => {
          const now = await stack.controllerLeader();
          return now !== undefined && now !== previous;
        },
        60_000,
        500,
      );
      leaderNode = await stack.controllerLeader();
      console.log(
        `# controller leader killed on ${previous.name}: the standby on ${leaderNode?.name} leads ${Date.now() - killedAt} ms later`,
      );
    }
    assert.ok(leaderNode && stack.edges.includes(leaderNode));
    const victim = leaderNode;
    const survivor = stack.edges.find((edge) => edge !== victim);
    assert.ok(survivor);
    const crashedAt = Date.now();
    await stack.crash(victim);

    // The other edge serves the API and every app.
    const apiBack = await until(
      "the API through the other edge",
      async () => (await stack.api("/health", { edge: survivor, timeoutMs: 3_000 })).status === 200,
      60_000,
      250,
    );
    const leaderBack = await until(
      "a controller on another node to lead",
      async () => {
        const now = await stack.controllerLeader();
        return now !== undefined && now !== victim;
      },
      60_000,
      500,
    );
    const appsBack = await everyAppAnswers([survivor], 120_000);
    // Deployments converge: every one runs, on the nodes that are left.
    const deployments = stack.client(DeploymentService, survivor);
    for (const app of apps) {
      await waitForStatus(deployments, app.id, DeploymentStatus.RUNNING, 120_000);
    }
    console.log(
      `# ${victim.name} crashed (an edge, the controller leader): the API answered through ${survivor.name} ${apiBack} ms later, a controller elsewhere led ${leaderBack} ms later, every app answered ${Date.now() - crashedAt} ms later (${appsBack} ms after the API)`,
    );
  });
});
