/**
 * What belongs to every tenant, or to no tenant, is not served to tenants: Prometheus's series
 * (every deployment's and project's id and usage) are on a listener of their own, or behind
 * METRICS_TOKEN; a node's hostname, address, role, labels and status are for platform
 * administrators, and so are a replica's node address and host port; the Traefik provider's route table needs its token, or a client on this machine.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { type RunningPlatform, startPlatform } from "../src/app/platform.js";
import { TRAEFIK_PROVIDER_PATH } from "../src/app/traefik-provider.js";
import { loadConfig } from "../src/config/config.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeService } from "../src/gen/obiente/cloud/node/v1/node_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { deploymentLocations, nodeMetadata } from "../src/store/schema.js";
import { addUserWithToken, startTestPlatform, type TestPlatform } from "./helpers/api.js";

const TOKEN = "metrics-scrape-token-0123456789";

/** The metric family names of a Prometheus text exposition. */
function families(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);
}

async function scrape(url: string, token?: string) {
  const response = await fetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, text: await response.text() };
}

describe("Prometheus metrics are not on the API's public port", () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
    // An RPC, so that the RPC series have a sample.
    await t.client(NodeService).listNodes({});
  });
  after(() => t?.close());

  it("answers 404 at the API's /metrics, with where to look instead", async () => {
    const { status, text } = await scrape(`${t.baseUrl}/metrics`);
    assert.equal(status, 404);
    assert.match(text, /METRICS_HOST:METRICS_PORT/);
    assert.doesNotMatch(text, /obiente_/);
  });

  it("serves the process's registry on the metrics listener, every series named obiente_*", async () => {
    const { status, text } = await scrape(`http://127.0.0.1:${t.platform.metricsPort}/metrics`);
    assert.equal(status, 200);
    const names = families(text);
    for (const expected of [
      "obiente_rpc_requests_total",
      "obiente_process_cpu_user_seconds_total",
      "obiente_nodejs_heap_size_used_bytes",
      "obiente_deployments",
      "obiente_metrics_subscribers",
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(", ")}`);
    }
    assert.deepEqual(
      names.filter((n) => !n.startsWith("obiente_")),
      [],
    );
  });
});

describe("Prometheus metrics with METRICS_TOKEN", () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ env: { METRICS_TOKEN: TOKEN } });
  });
  after(() => t?.close());

  it("serves /metrics on the API's port to scrapers with the token only", async () => {
    assert.equal((await scrape(`${t.baseUrl}/metrics`)).status, 401);
    assert.equal((await scrape(`${t.baseUrl}/metrics`, `${TOKEN}x`)).status, 401);
    assert.equal((await scrape(`${t.baseUrl}/metrics`, t.adminToken)).status, 401);
    const ok = await scrape(`${t.baseUrl}/metrics`, TOKEN);
    assert.equal(ok.status, 200);
    assert.ok(families(ok.text).includes("obiente_rpc_requests_total"));
  });

  it("asks the metrics listener for the token too", async () => {
    const url = `http://127.0.0.1:${t.platform.metricsPort}/metrics`;
    assert.equal((await scrape(url)).status, 401);
    assert.equal((await scrape(url, TOKEN)).status, 200);
  });
});

describe("a process without the api role serves its metrics alike", () => {
  let dataDir: string;
  let agent: RunningPlatform;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "obiente-agent-metrics-"));
    const config = loadConfig({
      ROLES: "agent",
      DATA_DIR: dataDir,
      METRICS_PORT: "0",
      METRICS_NODE_USAGE: "false",
      LOG_LEVEL: "silent",
    });
    const silence = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      agent = await startPlatform(config, pino({ level: "silent" }));
    } finally {
      process.stdout.write = silence;
    }
  });
  after(async () => {
    await agent?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("has the collector's and the process's series, every one named obiente_*", async () => {
    const { status, text } = await scrape(`http://127.0.0.1:${agent.metricsPort}/metrics`);
    assert.equal(status, 200);
    const names = families(text);
    assert.ok(names.includes("obiente_metrics_collection_ticks_total"), names.join(", "));
    assert.ok(names.includes("obiente_process_resident_memory_bytes"), names.join(", "));
    assert.deepEqual(
      names.filter((n) => !n.startsWith("obiente_")),
      [],
    );
  });
});

describe("nodes: what a tenant sees", () => {
  let t: TestPlatform;
  let member: string;
  const secret = {
    hostname: "worker-7.dc1.internal",
    address: "10.1.0.57",
    statusMessage: "engine at 10.1.0.57:2376 does not answer",
  };
  before(async () => {
    t = await startTestPlatform();
    member = (await addUserWithToken(t.platform.database.db)).token;
    await t.platform.database.db.insert(nodeMetadata).values([
      {
        id: "n7abcdefghijklmnopqrstuvw",
        ...secret,
        role: "manager",
        availability: "down",
        labels: { name: "eu-small-7", region: "eu-west", compute: "true", net: "10.1.0.0/16" },
        cpuCores: 4,
        memoryBytes: 8 * 1024 ** 3,
        deploymentCount: 3,
      },
      {
        id: "n8abcdefghijklmnopqrstuvw",
        hostname: "worker-8.dc1.internal",
        address: "10.1.0.58",
        cpuCores: 2,
        memoryBytes: 4 * 1024 ** 3,
      },
    ]);
  });
  after(() => t?.close());

  it("gives a member the name, region, availability and capacity, and nothing else", async () => {
    const nodes = t.client(NodeService, member);
    const { nodes: listed } = await nodes.listNodes({});
    const { node } = await nodes.getNode({ id: "n7abcdefghijklmnopqrstuvw" });
    for (const n of [listed.find((x) => x.id === "n7abcdefghijklmnopqrstuvw"), node]) {
      assert.ok(n);
      assert.equal(n.name, "eu-small-7");
      assert.equal(n.region, "eu-west");
      assert.equal(n.capacity?.cpuCores, 4);
      assert.equal(n.deploymentCount, 3);
      assert.equal(n.hostname, "");
      assert.equal(n.address, "");
      assert.equal(n.role, "");
      assert.equal(n.statusMessage, "");
      assert.deepEqual(n.labels, {});
    }
    const plain = listed.find((x) => x.id === "n8abcdefghijklmnopqrstuvw");
    assert.equal(plain?.name, "node-n8abcdefghij");
    assert.equal(plain?.region, "");
  });

  it("leaves no trace of them in the answer's bytes", async () => {
    const response = await fetch(`${t.baseUrl}/obiente.cloud.node.v1.NodeService/ListNodes`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${member}` },
      body: "{}",
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    for (const value of [...Object.values(secret), "10.1.0.58", "worker-8", "10.1.0.0/16"]) {
      assert.ok(!text.includes(value), `${value} in ${text}`);
    }
  });

  it("gives a platform administrator everything", async () => {
    const { node } = await t.client(NodeService).getNode({ id: "n7abcdefghijklmnopqrstuvw" });
    assert.equal(node?.hostname, secret.hostname);
    assert.equal(node?.address, secret.address);
    assert.equal(node?.role, "manager");
    assert.equal(node?.statusMessage, secret.statusMessage);
    assert.equal(node?.labels.net, "10.1.0.0/16");
    assert.equal(node?.name, "eu-small-7");
  });
});

describe("a deployment's replicas: what a tenant sees", () => {
  let t: TestPlatform;
  let viewer: string;
  let deploymentId = "";
  before(async () => {
    t = await startTestPlatform();
    const member = await addUserWithToken(t.platform.database.db);
    viewer = member.token;
    const { organization } = await t
      .client(OrganizationService)
      .createOrganization({ name: "Replicas" });
    assert.ok(organization);
    await t
      .client(OrganizationService)
      .addMember({ organizationId: organization.id, email: member.email, role: Role.VIEWER });
    const { project } = await t
      .client(ProjectService)
      .createProject({ organizationId: organization.id, name: "Site" });
    assert.ok(project);
    const { deployment } = await t.client(DeploymentService).createDeployment({
      projectId: project.id,
      name: "web",
      gitRepo: "https://git.example.com/replicas/web.git",
      branch: "main",
    });
    assert.ok(deployment);
    deploymentId = deployment.id;
    await t.platform.database.db.insert(deploymentLocations).values({
      id: randomUUID(),
      deploymentId,
      nodeId: "n7abcdefghijklmnopqrstuvw",
      containerId: "c0ffee",
      address: "10.1.0.57",
      port: 20123,
    });
  });
  after(() => t?.close());

  it("gives a member the node and container, not the node's address or port", async () => {
    const { locations } = await t
      .client(DeploymentService, viewer)
      .getDeploymentStatus({ id: deploymentId });
    assert.equal(locations.length, 1);
    assert.equal(locations[0]?.nodeId, "n7abcdefghijklmnopqrstuvw");
    assert.equal(locations[0]?.containerId, "c0ffee");
    assert.equal(locations[0]?.address, "");
    assert.equal(locations[0]?.port, 0);
  });

  it("gives a platform administrator the address and port", async () => {
    const { locations } = await t
      .client(DeploymentService)
      .getDeploymentStatus({ id: deploymentId });
    assert.equal(locations[0]?.address, "10.1.0.57");
    assert.equal(locations[0]?.port, 20123);
  });
});

describe("the Traefik provider endpoint", () => {
  describe("without TRAEFIK_PROVIDER_TOKEN", () => {
    let t: TestPlatform;
    before(async () => {
      // A local proxy in front of the API, as the one that forwards other machines' requests.
      t = await startTestPlatform({ env: { EDGE: "traefik", TRUST_PROXY: "127.0.0.1" } });
    });
    after(() => t?.close());

    it("serves a client on this machine", async () => {
      const response = await fetch(`${t.baseUrl}${TRAEFIK_PROVIDER_PATH}`);
      assert.equal(response.status, 200);
      assert.ok(typeof (await response.json()) === "object");
    });

    it("refuses a client elsewhere, even through a local proxy", async () => {
      const response = await fetch(`${t.baseUrl}${TRAEFIK_PROVIDER_PATH}`, {
        headers: { "x-forwarded-for": "203.0.113.9" },
      });
      assert.equal(response.status, 403);
      assert.match(
        ((await response.json()) as { message: string }).message,
        /TRAEFIK_PROVIDER_TOKEN/,
      );
    });
  });

  describe("with TRAEFIK_PROVIDER_TOKEN", () => {
    const token = "provider-token-0123456789abcdef";
    let t: TestPlatform;
    before(async () => {
      t = await startTestPlatform({ env: { EDGE: "traefik", TRAEFIK_PROVIDER_TOKEN: token } });
    });
    after(() => t?.close());

    it("needs the token, from this machine too", async () => {
      const url = `${t.baseUrl}${TRAEFIK_PROVIDER_PATH}`;
      assert.equal((await fetch(url)).status, 401);
      assert.equal(
        (await fetch(url, { headers: { authorization: `Bearer ${t.adminToken}` } })).status,
        401,
      );
      assert.equal(
        (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status,
        200,
      );
    });
  });
});
