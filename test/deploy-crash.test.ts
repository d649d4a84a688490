/**
 * A crash in the middle of a deploy: `obiente up` (every role, PGlite on a fixed data folder) is
 * killed with SIGKILL while a deployment is BUILDING, then while another is DEPLOYING, and started
 * again on the same data folder each time. The restarted platform finishes the deployment on its
 * own (the reconciler, from the database: no queue survives), with exactly one container for it.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Client, createClient } from "@connectrpc/connect";
import {
  BuildStatus,
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { type SpawnedPlatform, spawnPlatform, transport } from "./helpers/api.js";
import { requestByHost } from "./helpers/caddy.js";
import {
  containersOf,
  deployEnv,
  imagesOf,
  Leftovers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";

describe("a platform killed in the middle of a deploy", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let dataDir = "";
  let server: SpawnedPlatform | undefined;
  let token = "";
  let projectId = "";

  const start = async () => {
    server = await spawnPlatform(deployEnv({ DATA_DIR: dataDir, LOG_LEVEL: "info" }));
    return server;
  };
  const deploymentsClient = (): Client<typeof DeploymentService> => {
    assert.ok(server, "the platform is not running");
    return createClient(DeploymentService, transport(server.baseUrl, token));
  };
  /** The built-in edge's port, from the platform's log. */
  const edgePort = () => {
    const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)","msg":"built-in edge listening"/.exec(
      server?.output() ?? "",
    );
    assert.ok(match?.[1], `no edge port in the log:\n${server?.output()}`);
    return Number(match[1]);
  };

  /** Creates a deployment, SIGKILLs the platform once the deployment shows `at`, starts it again. */
  const crashDuring = async (
    at: DeploymentStatus,
    input: { name: string; branch: string; envVars?: Record<string, string> },
  ) => {
    const client = deploymentsClient();
    const { deployment } = await client.createDeployment({
      projectId,
      gitRepo: repo?.url ?? "",
      ...input,
    });
    assert.ok(deployment);
    leftovers.deploymentIds.add(deployment.id);
    const seen = await waitForStatus(client, deployment.id, [at, DeploymentStatus.RUNNING], 60_000);
    assert.equal(
      seen.status,
      at,
      `the deployment was ${DeploymentStatus[seen.status]} before the kill`,
    );
    await server?.kill();
    const restarted = await start();
    assert.equal(restarted.adminToken, undefined, "the restart found the first start's data");
    return deployment;
  };

  before(async () => {
    repo = await makeFixtureRepo();
    dataDir = await mkdtemp(join(tmpdir(), "obiente-crash-"));
    const first = await start();
    assert.ok(first.adminToken, `no admin token printed:\n${first.output()}`);
    token = first.adminToken;
    const { organization } = await createClient(
      OrganizationService,
      transport(first.baseUrl, token),
    ).createOrganization({ name: "Crash" });
    assert.ok(organization);
    const { project } = await createClient(
      ProjectService,
      transport(first.baseUrl, token),
    ).createProject({ organizationId: organization.id, name: "Crash" });
    assert.ok(project);
    projectId = project.id;
    leftovers.projectIds.add(projectId);
  });

  after(async () => {
    await server?.stop();
    await leftovers.cleanup();
    await repo?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("finishes a deployment killed while BUILDING, with exactly one container", async () => {
    const deployment = await crashDuring(DeploymentStatus.BUILDING, {
      name: "node",
      branch: "node",
    });
    const client = deploymentsClient();
    await waitForStatus(client, deployment.id, DeploymentStatus.RUNNING, 120_000);
    const containers = await containersOf(deployment.id);
    assert.equal(containers.length, 1, "exactly one container");
    assert.equal(containers[0]?.State, "running");
    // The build the crash cut short is recorded as such; the next one succeeded.
    const { builds } = await client.listBuilds({ deploymentId: deployment.id });
    const succeeded = builds.filter((b) => b.status === BuildStatus.SUCCEEDED);
    assert.equal(succeeded.length, 1);
    for (const b of builds.filter((x) => x.status !== BuildStatus.SUCCEEDED)) {
      assert.equal(b.status, BuildStatus.FAILED);
      assert.match(b.statusMessage, /interrupted/);
    }
    // Nothing of the interrupted build is left: no work folder, no image but the current one.
    assert.deepEqual(await readdir(join(dataDir, "builds")), []);
    assert.deepEqual(
      (await imagesOf(deployment.id)).map((i) => i.Id),
      [succeeded[0]?.imageId],
    );
    const response = await requestByHost(edgePort(), deployment.domains[0] ?? "");
    assert.equal(response.status, 200);
    assert.ok(response.body.includes(FIXTURE_CONTENT.node), response.body);
    const status = await client.getDeploymentStatus({ id: deployment.id });
    assert.deepEqual(
      status.locations.map((l) => l.containerId),
      [containers[0]?.Id],
    );
  });

  it("finishes a deployment killed while DEPLOYING, with exactly one container", async () => {
    // The app listens only after 4 s, so that the kill lands while the platform waits for it.
    const deployment = await crashDuring(DeploymentStatus.DEPLOYING, {
      name: "late",
      branch: "echo",
      envVars: { START_DELAY_MS: "4000", GREETING: "after the crash" },
    });
    const client = deploymentsClient();
    await waitForStatus(client, deployment.id, DeploymentStatus.RUNNING, 120_000);
    const containers = await containersOf(deployment.id);
    assert.equal(containers.length, 1, "exactly one container");
    assert.equal(containers[0]?.State, "running");
    const { builds } = await client.listBuilds({ deploymentId: deployment.id });
    assert.equal(builds.length, 1, "the build had finished: it is not made again");
    const response = await requestByHost(edgePort(), deployment.domains[0] ?? "");
    assert.equal(response.status, 200);
    assert.equal(response.body, `${FIXTURE_CONTENT.echo} v1; GREETING=after the crash`);
  });

  it("keeps one container per deployment across one more restart", async () => {
    await server?.kill();
    await start();
    const client = deploymentsClient();
    const { deployments } = await client.listDeployments({ projectId });
    assert.equal(deployments.length, 2);
    // Give the restarted controller its first reconcile pass, then count again.
    for (const d of deployments) {
      await waitForStatus(client, d.id, DeploymentStatus.RUNNING, 30_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const d of deployments) {
      const containers = await containersOf(d.id);
      assert.equal(containers.length, 1, `${d.name} has one container`);
      const response = await requestByHost(edgePort(), d.domains[0] ?? "");
      assert.equal(response.status, 200, d.name);
    }
  });
});
