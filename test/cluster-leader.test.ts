/**
 * The controller's leader lock with two platform processes (`obiente up`, roles api, controller
 * and agent) sharing PostgreSQL, Redis and the local Docker engine: one leads and does all the
 * controller's work (the other hands the jobs it receives over to it); when the leader is
 * killed, the other takes over within the lock's TTL and deploys. No Swarm needed.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { generateMasterKey } from "../src/crypto/secret-box.js";
import { DEPLOY_JOB } from "../src/domain/jobs.js";
import {
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { createPlatformServices } from "../src/platform/index.js";
import {
  deleteRedisKeys,
  type SpawnedPlatform,
  spawnPlatform,
  testRedisUrl,
  transport,
} from "./helpers/api.js";
import { eventually } from "./helpers/caddy.js";
import { freshPostgresUrl } from "./helpers/databases.js";
import { containersOf, Leftovers, waitForStatus } from "./helpers/deploy-harness.js";
import {
  CADDY_IMAGE,
  type FixtureRepo,
  makeFixtureRepo,
  NODE_IMAGE,
} from "./helpers/git-fixtures.js";

/** The Controller's default lease. */
const LOCK_TTL_MS = 15_000;
const ELECTED = '"msg":"this controller is the leader"';
const HANDED = '"msg":"standing by: job handed to the leader"';

/** The status changes a process logged for a deployment: the work it did. */
const statusLines = (server: SpawnedPlatform, deploymentId: string) =>
  server
    .output()
    .split("\n")
    .filter((line) => line.includes('"msg":"deployment status"') && line.includes(deploymentId));

describe("two controllers on one leader lock", () => {
  const keyPrefix = `obiente-test-leader-${randomBytes(6).toString("hex")}:`;
  const leftovers = new Leftovers();
  const dataDirs: string[] = [];
  const servers: SpawnedPlatform[] = [];
  let pg: { url: string; drop(): Promise<void> };
  let repo: FixtureRepo;
  let leader: SpawnedPlatform;
  let standby: SpawnedPlatform;
  let adminToken: string;
  let projectId: string;

  before(async () => {
    [pg, repo] = await Promise.all([freshPostgresUrl(), makeFixtureRepo()]);
    const masterKey = generateMasterKey();
    const env = async () => {
      const dir = await mkdtemp(join(tmpdir(), "obiente-leader-"));
      dataDirs.push(dir);
      return {
        DATA_DIR: dir,
        DATABASE_URL: pg.url,
        REDIS_URL: testRedisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        SECRETS_MASTER_KEY: masterKey,
        ROLES: "api,controller,agent",
        GIT_ALLOW_FILE: "true",
        NODE_BASE_IMAGE: NODE_IMAGE,
        STATIC_BASE_IMAGE: CADDY_IMAGE,
        // A shared engine: never remove what another platform runs.
        ORPHAN_POLICY: "keep",
        STOP_TIMEOUT_SECONDS: "2",
      };
    };
    // The first elects itself before the second starts, so that which one leads is known.
    const first = await spawnPlatform(await env());
    servers.push(first);
    await eventually(
      async () => (first.output().includes(ELECTED) ? true : undefined),
      20_000,
      "the first controller to lead",
      50,
    );
    const second = await spawnPlatform(await env());
    servers.push(second);
    [leader, standby] = [first, second];
    assert.ok(first.adminToken, "the first start printed the administrator's token");
    adminToken = first.adminToken;
    const organizations = createClient(OrganizationService, transport(first.baseUrl, adminToken));
    const { organization } = await organizations.createOrganization({ name: "Leader test" });
    assert.ok(organization);
    const { project } = await createClient(
      ProjectService,
      transport(first.baseUrl, adminToken),
    ).createProject({ organizationId: organization.id, name: "leader" });
    assert.ok(project);
    projectId = project.id;
    leftovers.projectIds.add(project.id);
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await leftovers.cleanup();
    await pg?.drop();
    await repo?.cleanup();
    await deleteRedisKeys(keyPrefix);
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function deployThrough(server: SpawnedPlatform, name: string): Promise<string> {
    const deployments = createClient(DeploymentService, transport(server.baseUrl, adminToken));
    const { deployment } = await deployments.createDeployment({
      projectId,
      name,
      gitRepo: repo.url,
      branch: "dockerfile",
    });
    assert.ok(deployment);
    leftovers.deploymentIds.add(deployment.id);
    await waitForStatus(deployments, deployment.id, DeploymentStatus.RUNNING, 120_000);
    return deployment.id;
  }

  test("only the leader acts: a deployment made through the standby is deployed by the leader", async () => {
    await sleep(2_000);
    assert.ok(!standby.output().includes(ELECTED), "the second controller stands by");
    // Jobs go to a queue both processes take from: several, so that the standby gets some.
    const ids: string[] = [];
    for (const name of ["through-standby-1", "through-standby-2", "through-standby-3"]) {
      ids.push(await deployThrough(standby, name));
    }
    // And jobs for deployments that are gone (nothing to do), enough that the standby takes some.
    const services = await createPlatformServices({ redisUrl: testRedisUrl, keyPrefix });
    try {
      for (let i = 0; i < 20; i++) {
        await services.queue.enqueue(DEPLOY_JOB, { deploymentId: randomUUID() });
      }
    } finally {
      await services.close();
    }
    await eventually(
      async () => (standby.output().includes(HANDED) ? true : undefined),
      10_000,
      "the standby to hand a job over",
      50,
    );
    assert.ok(!leader.output().includes(HANDED), "the leader hands nothing over");
    for (const id of ids) {
      assert.ok(statusLines(leader, id).length > 0, "the leader deployed it");
      assert.deepEqual(statusLines(standby, id), [], "the standby did nothing for it");
      assert.equal(
        (await containersOf(id)).filter((c) => c.State === "running").length,
        1,
        "it runs once",
      );
    }
  });

  test("when the leader dies, the other takes over within the lock's TTL and deploys", async () => {
    const killedAt = performance.now();
    await leader.kill();
    await eventually(
      async () => (standby.output().includes(ELECTED) ? true : undefined),
      LOCK_TTL_MS + 10_000,
      "the standby to take over",
      50,
    );
    const tookMs = performance.now() - killedAt;
    console.log(`leader takeover: ${Math.round(tookMs)} ms after the leader was killed`);
    // The lease runs out at most TTL after the last renewal; the standby tries every TTL/3.
    assert.ok(tookMs <= LOCK_TTL_MS + LOCK_TTL_MS / 3 + 1_000, `took ${tookMs} ms`);

    const id = await deployThrough(standby, "after-takeover");
    assert.ok(statusLines(standby, id).length > 0, "the new leader deployed it");
  });
});
