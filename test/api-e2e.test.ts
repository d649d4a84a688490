/**
 * The real server, end to end: `obiente up` as a child process in the embedded mode (PGlite,
 * in-process services), driven with plain HTTP (the Connect JSON protocol and the REST alias),
 * with gRPC-Web and gRPC clients, and restarted on the same data folder.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import {
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { type SpawnedPlatform, spawnPlatform } from "./helpers/api.js";

type Json = Record<string, unknown>;

/** One unary call in the Connect protocol with JSON, as any HTTP client would make it. */
async function connectCall(
  baseUrl: string,
  token: string,
  service: string,
  method: string,
  body: Json,
): Promise<{ status: number; body: Json }> {
  const [pkg] = service
    .replace(/Service$/, "")
    .toLowerCase()
    .split(".");
  const response = await fetch(`${baseUrl}/obiente.cloud.${pkg}.v1.${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

async function rest(
  baseUrl: string,
  token: string,
  method: "GET" | "POST",
  path: string,
  body?: Json,
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

const ids = (list: unknown) => (list as Json[]).map((item) => item.id);

describe("obiente up, end to end (embedded mode)", () => {
  let dataDir: string;
  let server: SpawnedPlatform | undefined;
  let token: string;
  // What the calls below create, to be found again after the restart.
  const created = {
    organizationId: "",
    projectId: "",
    deploymentId: "",
    restProjectId: "",
    restDeploymentId: "",
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "obiente-e2e-"));
    server = await spawnPlatform({ DATA_DIR: dataDir });
    assert.ok(server.adminToken, `no admin token printed:\n${server.output()}`);
    token = server.adminToken;
  });

  after(async () => {
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  const running = () => {
    assert.ok(server, "the server is not running");
    return server;
  };

  it("creates and reads an organization, a project and a deployment over Connect JSON", async () => {
    const { baseUrl } = running();
    const org = await connectCall(baseUrl, token, "OrganizationService", "CreateOrganization", {
      name: "E2E Org",
    });
    assert.equal(org.status, 200, JSON.stringify(org.body));
    const organization = org.body.organization as Json;
    assert.equal(organization.name, "E2E Org");
    assert.equal(organization.slug, "e2e-org");
    assert.equal(organization.role, "ROLE_OWNER");
    created.organizationId = organization.id as string;

    const project = await connectCall(baseUrl, token, "ProjectService", "CreateProject", {
      organizationId: created.organizationId,
      name: "Shop",
      description: "the web shop",
    });
    assert.equal(project.status, 200, JSON.stringify(project.body));
    created.projectId = (project.body.project as Json).id as string;

    const deployment = await connectCall(baseUrl, token, "DeploymentService", "CreateDeployment", {
      projectId: created.projectId,
      gitRepo: "https://github.com/obiente/example-node.git",
      branch: "main",
      envVars: { GREETING: "hello" },
    });
    assert.equal(deployment.status, 200, JSON.stringify(deployment.body));
    const d = deployment.body.deployment as Json;
    assert.equal(d.status, "DEPLOYMENT_STATUS_QUEUED");
    assert.equal(d.name, "example-node");
    assert.equal(d.projectId, created.projectId);
    assert.equal(d.organizationId, created.organizationId);
    created.deploymentId = d.id as string;

    const gotOrg = await connectCall(baseUrl, token, "OrganizationService", "GetOrganization", {
      id: created.organizationId,
    });
    assert.equal((gotOrg.body.organization as Json).name, "E2E Org");
    const orgs = await connectCall(baseUrl, token, "OrganizationService", "ListOrganizations", {});
    assert.ok(ids(orgs.body.organizations).includes(created.organizationId));

    const gotProject = await connectCall(baseUrl, token, "ProjectService", "GetProject", {
      id: created.projectId,
    });
    assert.equal((gotProject.body.project as Json).description, "the web shop");
    const projects = await connectCall(baseUrl, token, "ProjectService", "ListProjects", {
      organizationId: created.organizationId,
    });
    assert.deepEqual(ids(projects.body.projects), [created.projectId]);

    const gotDeployment = await connectCall(baseUrl, token, "DeploymentService", "GetDeployment", {
      id: created.deploymentId,
    });
    assert.equal((gotDeployment.body.deployment as Json).branch, "main");
    const deployments = await connectCall(baseUrl, token, "DeploymentService", "ListDeployments", {
      projectId: created.projectId,
    });
    assert.deepEqual(ids(deployments.body.deployments), [created.deploymentId]);
    const env = await connectCall(baseUrl, token, "DeploymentService", "ListEnvVars", {
      deploymentId: created.deploymentId,
    });
    assert.deepEqual(env.body.envVars, [{ key: "GREETING", value: "hello" }]);
  });

  it("answers Connect errors in the protocol's JSON shape", async () => {
    const { baseUrl } = running();
    const missing = await connectCall(baseUrl, token, "ProjectService", "GetProject", {
      id: "00000000-0000-4000-8000-000000000000",
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "not_found");
    assert.equal(typeof missing.body.message, "string");
  });

  it("does the same through the REST alias", async () => {
    const { baseUrl } = running();
    const project = await rest(baseUrl, token, "POST", "/api/v1/projects", {
      organization_id: created.organizationId,
      name: "Blog",
    });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    assert.equal(project.body.organization_id, created.organizationId);
    assert.equal(project.body.slug, "blog");
    created.restProjectId = project.body.id as string;

    const deployment = await rest(baseUrl, token, "POST", "/api/v1/deployments", {
      project_id: created.restProjectId,
      git_repo: "https://github.com/obiente/blog.git",
      branch: "release",
      env_vars: { NODE_ENV: "production", PORT: "8080" },
    });
    assert.equal(deployment.status, 201, JSON.stringify(deployment.body));
    assert.equal(deployment.body.project_id, created.restProjectId);
    assert.equal(deployment.body.git_repo, "https://github.com/obiente/blog.git");
    assert.equal(deployment.body.branch, "release");
    assert.equal(deployment.body.status, "DEPLOYMENT_STATUS_QUEUED");
    assert.equal(deployment.body.replicas, 1);
    created.restDeploymentId = deployment.body.id as string;

    const got = await rest(
      baseUrl,
      token,
      "GET",
      `/api/v1/deployments/${created.restDeploymentId}`,
    );
    assert.equal(got.status, 200);
    assert.equal(got.body.id, created.restDeploymentId);
    assert.equal(got.body.name, "blog");

    const list = await rest(
      baseUrl,
      token,
      "GET",
      `/api/v1/deployments?project_id=${created.restProjectId}`,
    );
    assert.equal(list.status, 200);
    assert.deepEqual(ids(list.body.deployments), [created.restDeploymentId]);

    // The REST alias and the RPCs see the same data.
    const viaRpc = await connectCall(baseUrl, token, "DeploymentService", "ListEnvVars", {
      deploymentId: created.restDeploymentId,
    });
    assert.deepEqual(viaRpc.body.envVars, [
      { key: "NODE_ENV", value: "production" },
      { key: "PORT", value: "8080" },
    ]);
    const missing = await rest(
      baseUrl,
      token,
      "GET",
      "/api/v1/deployments/00000000-0000-4000-8000-000000000000",
    );
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "not_found");
  });

  it("serves the same calls over gRPC-Web (HTTP/1.1) and gRPC (h2c)", async () => {
    const { baseUrl, grpcUrl } = running();
    const grpcWeb = createGrpcWebTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: [bearer(token)],
    });
    const web = await createClient(DeploymentService, grpcWeb).getDeployment({
      id: created.deploymentId,
    });
    assert.equal(web.deployment?.id, created.deploymentId);
    assert.equal(web.deployment?.status, DeploymentStatus.QUEUED);

    const sessionManager = new Http2SessionManager(grpcUrl);
    try {
      const grpc = createGrpcTransport({
        baseUrl: grpcUrl,
        sessionManager,
        interceptors: [bearer(token)],
      });
      const viaGrpc = await createClient(DeploymentService, grpc).getDeployment({
        id: created.deploymentId,
      });
      assert.equal(viaGrpc.deployment?.id, created.deploymentId);
      const me = await createClient(AuthService, grpc).whoAmI({});
      assert.equal(me.user?.platformAdmin, true);
      const projects = await createClient(ProjectService, grpc).listProjects({
        organizationId: created.organizationId,
      });
      assert.deepEqual(
        projects.projects.map((p) => p.id).sort(),
        [created.projectId, created.restProjectId].sort(),
      );
    } finally {
      sessionManager.abort();
    }
  });

  it("reports health and metrics", async () => {
    const { baseUrl } = running();
    const health = await fetch(`${baseUrl}/health`);
    assert.equal(health.status, 200);
    const report = (await health.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; kind?: string }>;
    };
    assert.equal(report.status, "ok");
    assert.equal(report.checks.database?.ok, true);
    assert.equal(report.checks.database?.kind, "pglite");
    assert.equal(report.checks.services?.ok, true);
    assert.equal(report.checks.services?.kind, "memory");

    // Prometheus's series are on the metrics listener, not on the API's port.
    assert.equal((await fetch(`${baseUrl}/metrics`)).status, 404);
    const { metricsUrl } = running();
    assert.ok(metricsUrl, "the metrics listener's address in the log");
    const metrics = await (await fetch(metricsUrl)).text();
    for (const procedure of [
      "obiente.cloud.organization.v1.OrganizationService/CreateOrganization",
      "obiente.cloud.project.v1.ProjectService/CreateProject",
      "obiente.cloud.deployment.v1.DeploymentService/CreateDeployment",
      "obiente.cloud.deployment.v1.DeploymentService/GetDeployment",
      "obiente.cloud.auth.v1.AuthService/WhoAmI",
    ]) {
      assert.match(
        metrics,
        new RegExp(`obiente_rpc_requests_total\\{procedure="${procedure}",code="ok"\\} \\d+`),
        procedure,
      );
    }
    assert.match(
      metrics,
      /obiente_rpc_requests_total\{procedure="obiente\.cloud\.project\.v1\.ProjectService\/GetProject",code="not_found"\} 1/,
    );
  });

  it("keeps everything across a restart on the same data folder", async () => {
    const first = running();
    // Neither a gRPC client with its HTTP/2 connection open nor a client still watching holds
    // up the shutdown.
    const idleGrpc = new Http2SessionManager(first.grpcUrl);
    await createClient(
      AuthService,
      createGrpcTransport({
        baseUrl: first.grpcUrl,
        sessionManager: idleGrpc,
        interceptors: [bearer(token)],
      }),
    ).whoAmI({});
    const watching = createClient(
      DeploymentService,
      createGrpcWebTransport({
        baseUrl: first.baseUrl,
        httpVersion: "1.1",
        interceptors: [bearer(token)],
      }),
    )
      .streamDeploymentStatus({ id: created.deploymentId })
      [Symbol.asyncIterator]();
    assert.equal((await watching.next()).value?.status, DeploymentStatus.QUEUED);
    const ending = watching.next().catch((error: unknown) => error);
    const stopping = Date.now();
    assert.equal(await first.stop(), 0, `unclean exit:\n${first.output()}`);
    assert.ok(Date.now() - stopping < 5000, `shutdown took ${Date.now() - stopping} ms`);
    idleGrpc.abort();
    const end = await ending;
    assert.ok(
      end instanceof ConnectError || (end as IteratorResult<unknown>).done === true,
      `the stream ended with ${String(end)}`,
    );
    server = undefined;
    const second = await spawnPlatform({ DATA_DIR: dataDir });
    server = second;
    assert.equal(second.adminToken, undefined, "a second admin token was printed");
    assert.doesNotMatch(second.output(), /An administrator was created/);
    assert.doesNotMatch(second.output(), /database migrated/);

    const { baseUrl } = second;
    const me = await connectCall(baseUrl, token, "AuthService", "WhoAmI", {});
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal((me.body.user as Json).platformAdmin, true);

    const client = <S extends Parameters<typeof createClient>[0]>(service: S) =>
      createClient(
        service,
        createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors: [bearer(token)] }),
      );
    const org = await client(OrganizationService).getOrganization({ id: created.organizationId });
    assert.equal(org.organization?.name, "E2E Org");
    const projects = await client(ProjectService).listProjects({
      organizationId: created.organizationId,
    });
    assert.deepEqual(projects.projects.map((p) => p.name).sort(), ["Blog", "Shop"]);
    const deployments = await client(DeploymentService).listDeployments({
      organizationId: created.organizationId,
    });
    assert.deepEqual(
      deployments.deployments.map((d) => d.id).sort(),
      [created.deploymentId, created.restDeploymentId].sort(),
    );
    // Env vars are encrypted with the master key kept in the data folder: still readable.
    const env = await client(DeploymentService).listEnvVars({
      deploymentId: created.deploymentId,
    });
    assert.deepEqual(
      env.envVars.map((e) => [e.key, e.value]),
      [["GREETING", "hello"]],
    );
    const viaRest = await rest(
      baseUrl,
      token,
      "GET",
      `/api/v1/deployments/${created.restDeploymentId}`,
    );
    assert.equal(viaRest.status, 200);
    assert.equal(viaRest.body.branch, "release");

    assert.equal(await second.stop(), 0, `unclean exit:\n${second.output()}`);
    server = undefined;
  });
});
