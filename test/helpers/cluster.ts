/**
 * The platform in cluster mode on a real N-node Swarm (scripts/swarm-up.sh through
 * test/helpers/swarm.ts): every role in one platform, RUNTIME=swarm with the manager (node1) as
 * DOCKER_HOST (it builds too), images copied to the nodes through their sockets, the built-in
 * edge on 127.0.0.1 routing to node address:published port; and, as in production, an agent
 * against each other node's engine (a platform with ROLES=agent, started in this process). They
 * share a fresh PostgreSQL database, Redis (under a key prefix of their own) and the master key.
 * The cluster settings go through loadConfig as the configuration variables an operator sets.
 * Traffic goes only to loopback and to the harness's 10.77.0.0/24 namespaces.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { eq } from "drizzle-orm";
import pino from "pino";
import { type RunningPlatform, startPlatform } from "../../src/app/platform.js";
import { type Config, loadConfig } from "../../src/config/config.js";
import { loadRouteTable } from "../../src/controller/routing.js";
import { generateMasterKey } from "../../src/crypto/secret-box.js";
import {
  DeploymentService,
  DeploymentStatus,
  type PlacementStrategy,
} from "../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../../src/gen/obiente/cloud/project/v1/project_pb.js";
import type { StrategyName } from "../../src/scheduler/index.js";
import { deploymentLocations } from "../../src/store/schema.js";
import { deleteRedisKeys, testRedisUrl, transport } from "./api.js";
import { eventually, requestByHost, type SimpleResponse } from "./caddy.js";
import { freshPostgresUrl } from "./databases.js";
import { waitForStatus } from "./deploy-harness.js";
import { CADDY_IMAGE, type FixtureRepo, makeFixtureRepo, NODE_IMAGE } from "./git-fixtures.js";
import { type SwarmHarness, type SwarmNodeHandle, startSwarm } from "./swarm.js";

export { swarmSkipReason } from "./swarm.js";

export interface ClusterTestOptions {
  strategy?: StrategyName;
  heartbeatTimeoutSeconds?: number;
  maxDeploymentsPerNode?: number;
  /** More configuration variables (the agents' too). */
  env?: Record<string, string>;
}

/** An agent (ROLES=agent) against one worker node's engine. */
export interface ClusterAgent {
  node: SwarmNodeHandle;
  platform: RunningPlatform;
  config: Config;
}

export interface ClusterPlatform {
  swarm: SwarmHarness;
  platform: RunningPlatform;
  config: Config;
  /** The agents of the other nodes (node2, node3, …); node1's agent is in `platform`. */
  agents: ClusterAgent[];
  repo: FixtureRepo;
  /** The API's address and the administrator's token (for the CLI). */
  baseUrl: string;
  token: string;
  edgePort: number;
  deployments: Client<typeof DeploymentService>;
  client<S extends DescService>(service: S): Client<S>;
  projectId: string;
  /** The Swarm node name ("node2") of a node id, and back. */
  nameOf(nodeId: string): string;
  idOf(name: string): string;
  addressOf(nodeId: string): string;
  /** CreateDeployment of the fixture's `dockerfile` app (busybox httpd). */
  deploy(
    name: string,
    options?: {
      replicas?: number;
      cpuMillicores?: number;
      memoryMb?: number;
      strategy?: PlacementStrategy;
    },
  ): Promise<{ id: string; domain: string }>;
  /** Waits until the deployment runs (throws with its message when it fails). */
  running(id: string, timeoutMs?: number): Promise<void>;
  /** Where the records say the deployment's replicas run. */
  locations(id: string): Promise<Array<typeof deploymentLocations.$inferSelect>>;
  /** GET / through the edge with the deployment's domain. */
  get(domain: string, timeoutMs?: number): Promise<SimpleResponse>;
  /** GET / straight from a replica, at its node's address and published port (no edge). */
  getAt(address: string, port: number, timeoutMs?: number): Promise<SimpleResponse>;
  /** The `address:port` upstreams the edge is given for a domain (the route table). */
  upstreams(domain: string): Promise<string[]>;
  /** DeleteDeployment, then waits until nothing of it runs. */
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

export const APP_TEXT = "dockerfile app";

export async function startCluster(options: ClusterTestOptions = {}): Promise<ClusterPlatform> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const [swarm, repo, pg, dataDir] = await Promise.all([
      startSwarm(3),
      makeFixtureRepo(),
      freshPostgresUrl(),
      mkdtemp(join(tmpdir(), "obiente-cluster-")),
    ]);
    cleanups.push(() => swarm.down());
    cleanups.push(() => repo.cleanup());
    cleanups.push(() => pg.drop());
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));

    const keyPrefix = `obiente-test-cluster-${randomBytes(6).toString("hex")}:`;
    cleanups.push(() => deleteRedisKeys(keyPrefix));
    // What every process of the installation shares.
    const shared = {
      DATABASE_URL: pg.url,
      REDIS_URL: testRedisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      SECRETS_MASTER_KEY: generateMasterKey(),
      LOG_LEVEL: "silent",
      RUNTIME: "swarm",
      NODE_HEARTBEAT_TIMEOUT_SECONDS: String(options.heartbeatTimeoutSeconds ?? 9),
      MAX_DEPLOYMENTS_PER_NODE: String(options.maxDeploymentsPerNode ?? 50),
      // The harness's nodes share this machine: their agents would all report its CPU, which
      // least-loaded compares first; placements would follow the noise between samples.
      METRICS_NODE_USAGE: "false",
      // The agents run in this process, in the host's network namespace, not in their nodes':
      // rules they installed would land on the host. Tests of the isolation rules turn it on
      // with NETWORK_ISOLATION_NETNS pointing at a node.
      NETWORK_ISOLATION: "off",
    };
    const config = loadConfig({
      ...shared,
      PORT: "0",
      GRPC_PORT: "0",
      METRICS_PORT: "0",
      DATA_DIR: dataDir,
      ROLES: "api,controller,agent,edge",
      DOCKER_HOST: swarm.managerSocket,
      PORT_RANGE: "42000-42999",
      GIT_ALLOW_FILE: "true",
      NODE_BASE_IMAGE: NODE_IMAGE,
      STATIC_BASE_IMAGE: CADDY_IMAGE,
      EDGE_PORT: "0",
      HEALTH_TIMEOUT_SECONDS: "30",
      STOP_TIMEOUT_SECONDS: "2",
      // The Swarm is this test's own: whatever labelled service no deployment owns is a stray.
      ORPHAN_POLICY: "remove",
      SWARM_NODE_SOCKETS: JSON.stringify(
        Object.fromEntries(swarm.nodes.map((node) => [node.name, node.socket])),
      ),
      ...(options.strategy ? { SCHEDULER_STRATEGY: options.strategy } : {}),
      ...options.env,
    });
    const silence = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let platform: RunningPlatform;
    try {
      platform = await startPlatform(config, pino({ level: process.env.CLUSTER_LOG ?? "silent" }));
    } finally {
      process.stdout.write = silence;
    }
    cleanups.push(() => platform.close());
    // An agent per other node, against that node's engine, after the first platform (which
    // migrated the database and made the administrator).
    const agents = await Promise.all(
      swarm.nodes
        .filter((node) => node.socket !== swarm.managerSocket)
        .map(async (node): Promise<ClusterAgent> => {
          const agentConfig = loadConfig({
            ...shared,
            DATA_DIR: join(dataDir, node.name),
            ROLES: "agent",
            DOCKER_HOST: node.socket,
            HOST_ADDRESS: node.address,
            METRICS_PORT: "0",
            ...options.env,
          });
          const agent = await startPlatform(
            agentConfig,
            pino({ level: process.env.CLUSTER_LOG ?? "silent" }),
          );
          cleanups.push(() => agent.close());
          return { node, platform: agent, config: agentConfig };
        }),
    );
    const token = platform.bootstrapToken;
    const edgePort = platform.deploying?.edgePort;
    assert.ok(token && platform.ports && edgePort, "the platform started with api and edge");
    const baseUrl = `http://127.0.0.1:${platform.ports.http}`;
    const client = <S extends DescService>(service: S) =>
      createClient(service, transport(baseUrl, token));
    const deployments = client(DeploymentService);
    const { organization } = await client(OrganizationService).createOrganization({
      name: `Cluster ${Date.now()}`,
    });
    assert.ok(organization);
    const { project } = await client(ProjectService).createProject({
      organizationId: organization.id,
      name: "cluster",
    });
    assert.ok(project);
    const db = platform.ctx.db;
    const byId = new Map(swarm.nodes.map((node) => [node.id, node]));

    const cluster: ClusterPlatform = {
      swarm,
      platform,
      config,
      agents,
      repo,
      baseUrl,
      token,
      edgePort,
      deployments,
      client,
      projectId: project.id,
      nameOf: (nodeId) => byId.get(nodeId)?.name ?? `?${nodeId}`,
      idOf: (name) => swarm.nodes.find((node) => node.name === name)?.id ?? "",
      addressOf: (nodeId) => byId.get(nodeId)?.address ?? "",
      async deploy(name, deployOptions = {}) {
        const { deployment } = await deployments.createDeployment({
          projectId: project.id,
          name,
          gitRepo: repo.url,
          branch: "dockerfile",
          replicas: deployOptions.replicas ?? 1,
          resources: {
            cpuMillicores: deployOptions.cpuMillicores ?? 0,
            memoryMb: deployOptions.memoryMb ?? 64,
          },
          ...(deployOptions.strategy !== undefined ? { strategy: deployOptions.strategy } : {}),
        });
        assert.ok(deployment?.domains[0]);
        return { id: deployment.id, domain: deployment.domains[0] };
      },
      async running(id, timeoutMs = 120_000) {
        await waitForStatus(deployments, id, DeploymentStatus.RUNNING, timeoutMs);
      },
      locations: (id) =>
        db.select().from(deploymentLocations).where(eq(deploymentLocations.deploymentId, id)),
      get: (domain, timeoutMs = 5_000) => requestByHost(edgePort, domain, "/", { timeoutMs }),
      getAt: (address, port, timeoutMs = 5_000) => getAt(address, port, timeoutMs),
      async upstreams(domain) {
        const { routes } = await loadRouteTable(db);
        return routes.find((route) => route.domain === domain)?.upstreams ?? [];
      },
      async remove(id) {
        await deployments.deleteDeployment({ id });
        const swarmRuntime = platform.deploying?.swarm;
        assert.ok(swarmRuntime);
        await eventually(
          async () =>
            (await swarmRuntime.list({ deploymentId: id })).length === 0 ? true : undefined,
          60_000,
          `the services of ${id} to be removed`,
          250,
        );
      },
      close,
    };
    return cluster;
  } catch (error) {
    await close();
    throw error;
  }
}

/** GET / at one of the harness's node addresses (never anything else). */
function getAt(address: string, port: number, timeoutMs: number): Promise<SimpleResponse> {
  assert.match(address, /^10\.77\.0\.\d+$/, "only the harness's own addresses");
  return requestByHost(port, `${address}:${port}`, "/", { address, timeoutMs });
}

/** Requests `domain` through the edge every `everyMs` until stopped; counts what failed. */
export function keepRequesting(
  cluster: ClusterPlatform,
  domains: string[],
  everyMs = 100,
): {
  stop(): Promise<{ total: number; failures: Array<{ domain: string; at: number; what: string }> }>;
  /** When each domain last answered 200 (performance.now()). */
  lastOk: Map<string, number>;
} {
  const failures: Array<{ domain: string; at: number; what: string }> = [];
  const lastOk = new Map<string, number>();
  let total = 0;
  let stopped = false;
  const loops = domains.map(async (domain) => {
    while (!stopped) {
      const at = performance.now();
      total++;
      try {
        const response = await cluster.get(domain, 3_000);
        if (response.status === 200 && response.body.includes(APP_TEXT)) lastOk.set(domain, at);
        else
          failures.push({ domain, at, what: `${response.status} ${response.body.slice(0, 80)}` });
      } catch (error) {
        failures.push({ domain, at, what: error instanceof Error ? error.message : String(error) });
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  });
  return {
    lastOk,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return { total, failures };
    },
  };
}
