/**
 * Deploy tests: the whole platform (api, controller, agent, edge) in this process on a Docker
 * engine, the fixture repository, Connect clients, and a cleanup that removes everything a test
 * made in the engine (containers and images labelled with its deployment ids, its project
 * networks) even when the test failed.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@connectrpc/connect";
import Dockerode from "dockerode";
import { eq } from "drizzle-orm";
import {
  DeploymentService,
  DeploymentStatus,
} from "../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../../src/gen/obiente/cloud/project/v1/project_pb.js";
import { DEFAULT_DOCKER_HOST, dockerOptions } from "../../src/runtime/docker-host.js";
import { deploymentLocations, deploymentRouting, deployments } from "../../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "./api.js";
import { eventually, requestByHost, type SimpleResponse } from "./caddy.js";
import { CADDY_IMAGE, type FixtureRepo, NODE_IMAGE } from "./git-fixtures.js";

const run = promisify(execFile);

export const DEPLOYMENT_ID_LABEL = "cloud.obiente.deployment_id";
export const ALL_ROLES = "api,controller,agent,edge";

/** A client of the local engine, outside the platform: to look at, and clean up, what it made. */
export const docker = new Dockerode(dockerOptions(DEFAULT_DOCKER_HOST).options);

/**
 * The configuration deploy tests share: every role, file:// repositories, the local base images,
 * the built-in edge on a free port, short stop grace periods. Orphans are kept unless a test asks
 * otherwise, so that a platform of one test never removes the containers of another test (or of
 * anything else) on the same engine.
 */
export function deployEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ROLES: ALL_ROLES,
    GIT_ALLOW_FILE: "true",
    NODE_BASE_IMAGE: NODE_IMAGE,
    STATIC_BASE_IMAGE: CADDY_IMAGE,
    EDGE_PORT: "0",
    ORPHAN_POLICY: "keep",
    HEALTH_TIMEOUT_SECONDS: "30",
    // The fixture apps run as PID 1 and ignore SIGTERM: every stop waits the whole grace period.
    STOP_TIMEOUT_SECONDS: "2",
    ...extra,
  };
}

/** What a test made in the engine, removed by cleanup() whatever happened. */
export class Leftovers {
  readonly deploymentIds = new Set<string>();
  readonly projectIds = new Set<string>();
  readonly containerIds = new Set<string>();

  async cleanup(): Promise<void> {
    for (const id of this.containerIds) {
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    for (const deploymentId of this.deploymentIds) {
      for (const c of await containersOf(deploymentId).catch(() => [])) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined);
      }
    }
    for (const deploymentId of this.deploymentIds) {
      for (const image of await imagesOf(deploymentId).catch(() => [])) {
        await docker
          .getImage(image.Id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    }
    for (const projectId of this.projectIds) {
      // The engine may still be detaching a container just removed: try a few times.
      for (let attempt = 0; attempt < 10; attempt++) {
        const removed = await docker
          .getNetwork(`obiente-net-${projectId}`)
          .remove()
          .then(
            () => true,
            (error: { statusCode?: number }) => error.statusCode === 404,
          );
        if (removed) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}

/** Containers labelled with the deployment's id, in every state. */
export function containersOf(deploymentId: string): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: [`${DEPLOYMENT_ID_LABEL}=${deploymentId}`] },
  });
}

/** Images labelled with the deployment's id (the builder labels every image it makes). */
export function imagesOf(deploymentId: string): Promise<Dockerode.ImageInfo[]> {
  return docker.listImages({
    all: true,
    filters: { label: [`${DEPLOYMENT_ID_LABEL}=${deploymentId}`] },
  });
}

export interface DeployHarness {
  t: TestPlatform;
  deployments: Client<typeof DeploymentService>;
  projects: Client<typeof ProjectService>;
  organizationId: string;
  leftovers: Leftovers;
  /** The built-in edge's port (undefined with another edge). */
  edgePort: number | undefined;
  /** A new project of the test's organization, its network cleaned up afterwards. */
  project(name: string): Promise<string>;
  /** CreateDeployment, tracked for cleanup. */
  deploy(input: {
    projectId: string;
    name: string;
    gitRepo: string;
    branch: string;
    envVars?: Record<string, string>;
    replicas?: number;
  }): Promise<{ id: string; domain: string }>;
  close(): Promise<void>;
}

/** The platform with every role in this process, on its own data folder, and an organization. */
export async function startDeployHarness(
  env: Record<string, string> = {},
  leftovers = new Leftovers(),
): Promise<DeployHarness> {
  const t = await startTestPlatform({ env: deployEnv(env) });
  try {
    const deploymentsClient = t.client(DeploymentService);
    const projects = t.client(ProjectService);
    const { organization } = await t
      .client(OrganizationService)
      .createOrganization({ name: `Deploy ${Date.now()}` });
    assert.ok(organization);
    const organizationId = organization.id;
    return {
      t,
      deployments: deploymentsClient,
      projects,
      organizationId,
      leftovers,
      edgePort: t.platform.deploying?.edgePort,
      async project(name) {
        const { project } = await projects.createProject({ organizationId, name });
        assert.ok(project);
        leftovers.projectIds.add(project.id);
        return project.id;
      },
      async deploy(input) {
        const { deployment } = await deploymentsClient.createDeployment(input);
        assert.ok(deployment);
        leftovers.deploymentIds.add(deployment.id);
        assert.equal(deployment.status, DeploymentStatus.QUEUED);
        const domain = deployment.domains[0];
        assert.ok(domain, "a new deployment has its default domain");
        return { id: deployment.id, domain };
      },
      close: () => t.close(),
    };
  } catch (error) {
    await t.close();
    throw error;
  }
}

export interface StatusSeen {
  status: DeploymentStatus;
  message: string;
  /** Every status the stream showed, in order. */
  seen: DeploymentStatus[];
}

/**
 * Watches StreamDeploymentStatus until the deployment is in one of `wanted`. A FAILED status
 * that was not wanted ends the wait at once with its message.
 */
export async function waitForStatus(
  client: Client<typeof DeploymentService>,
  id: string,
  wanted: DeploymentStatus | DeploymentStatus[],
  timeoutMs = 120_000,
): Promise<StatusSeen> {
  const targets = Array.isArray(wanted) ? wanted : [wanted];
  const seen: DeploymentStatus[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let last: { status: DeploymentStatus; message: string } | undefined;
  try {
    for await (const event of client.streamDeploymentStatus(
      { id },
      { signal: controller.signal },
    )) {
      seen.push(event.status);
      last = { status: event.status, message: event.statusMessage };
      if (targets.includes(event.status)) return { ...last, seen };
      if (event.status === DeploymentStatus.FAILED) {
        throw new Error(`deployment ${id} failed: ${event.statusMessage}`);
      }
    }
    throw new Error(`the status stream of ${id} ended before ${names(targets)}`);
  } catch (error) {
    if (controller.signal.aborted) {
      throw new Error(
        `deployment ${id} did not reach ${names(targets)} within ${timeoutMs} ms; last: ${
          last ? `${DeploymentStatus[last.status]} (${last.message})` : "nothing"
        }`,
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

const names = (statuses: DeploymentStatus[]) =>
  statuses.map((s) => DeploymentStatus[s]).join(" or ");

/** GET / by Host header through an edge port until it answers `status` (and `body` when given). */
export function untilAnswers(
  port: number,
  host: string,
  status: number,
  body?: string,
  timeoutMs = 15_000,
): Promise<SimpleResponse> {
  return eventually(
    async () => {
      const response = await requestByHost(port, host, "/", { timeoutMs: 5_000 });
      if (response.status !== status) return undefined;
      if (body !== undefined && !response.body.includes(body)) return undefined;
      return response;
    },
    timeoutMs,
    `${host} to answer ${status}${body ? ` with "${body}"` : ""}`,
    50,
  );
}

/** The deployment's rows in the store: itself, its routes and its locations. */
export async function storeRowsOf(t: TestPlatform, deploymentId: string) {
  const db = t.platform.ctx.db;
  const [deployment] = await db.select().from(deployments).where(eq(deployments.id, deploymentId));
  const routes = await db
    .select()
    .from(deploymentRouting)
    .where(eq(deploymentRouting.deploymentId, deploymentId));
  const locations = await db
    .select()
    .from(deploymentLocations)
    .where(eq(deploymentLocations.deploymentId, deploymentId));
  return { deployment, routes, locations };
}

/** Commits `files` on `branch` of the fixture repository; returns the new commit. */
export async function commitToBranch(
  repo: FixtureRepo,
  branch: string,
  /** New contents per file; null removes the file. */
  files: Record<string, string | null>,
  message: string,
): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: repo.dir,
    LANG: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Fixture",
    GIT_AUTHOR_EMAIL: "fixture@obiente.test",
    GIT_COMMITTER_NAME: "Fixture",
    GIT_COMMITTER_EMAIL: "fixture@obiente.test",
  };
  const git = async (...args: string[]) =>
    (
      await run("git", ["-c", "commit.gpgsign=false", ...args], { cwd: repo.dir, env })
    ).stdout.trim();
  const previous = await git("rev-parse", "--abbrev-ref", "HEAD");
  await git("switch", "-q", branch);
  try {
    for (const [name, contents] of Object.entries(files)) {
      if (contents === null) {
        await rm(join(repo.dir, name), { force: true });
        continue;
      }
      await mkdir(dirname(join(repo.dir, name)), { recursive: true });
      await writeFile(join(repo.dir, name), contents);
    }
    await git("add", "-A");
    await git("commit", "-q", "--allow-empty", "-m", message);
    return await git("rev-parse", "HEAD");
  } finally {
    await git("switch", "-q", previous);
  }
}
