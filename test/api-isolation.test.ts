/**
 * Tenant isolation and roles, through the real API (docs/architecture.md, "Security": "no resource of one
 * organization is visible to another").
 *
 * Organization A belongs to the bootstrap administrator and holds a project, a deployment with an
 * env var, a custom domain and a build, and members of every role. Organization B belongs to
 * another user. One table names a call for every RPC of every service, checked against the
 * service descriptors, so that an RPC added without an isolation case fails this file.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { eq, sql } from "drizzle-orm";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { BackupService, BackupType } from "../src/gen/obiente/cloud/backup/v1/backup_pb.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeService } from "../src/gen/obiente/cloud/node/v1/node_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { executeRows } from "../src/store/database.js";
import { auditLog, builds, domains, nodeMetadata } from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { createUserWithToken, type TestUser } from "./helpers/users.js";

interface Clients {
  org: Client<typeof OrganizationService>;
  project: Client<typeof ProjectService>;
  deployment: Client<typeof DeploymentService>;
  auth: Client<typeof AuthService>;
  node: Client<typeof NodeService>;
  backup: Client<typeof BackupService>;
}

/** The ids a call may send. For an outsider they are A's; "ghost" ids exist nowhere. */
interface Ids {
  org: string;
  project: string;
  deployment: string;
  build: string;
  /** A member of A that the member-management calls act on (a developer nobody logs in as). */
  memberUser: string;
  /** A's owner. */
  ownerUser: string;
  /** One of the owner's API tokens. */
  apiToken: string;
  /** A's custom domain. */
  domain: string;
  envKey: string;
  node: string;
  /** The caller's own organization, project and deployment (B's, for the outsider). */
  ownOrg: string;
  ownProject: string;
  ownDeployment: string;
}

/**
 * What a call needs. read/write/manage/own: that role in the organization the ids point into.
 * runtime: read, then whatever the container runtime answers (Unimplemented or Unavailable when
 * this server has none). self: acts on the caller's own account or creates something new.
 * open: any signed-in user. platform-admin: a platform administrator.
 */
type Needs = "read" | "write" | "manage" | "own" | "runtime" | "self" | "open" | "platform-admin";

type Call = ((c: Clients, ids: Ids) => Promise<unknown>) & { outsiderOnly?: true };

/** A call through the caller's own deployment: only meaningful for an outsider. */
const outsiderOnly = (call: (c: Clients, ids: Ids) => Promise<unknown>): Call =>
  Object.assign(call, { outsiderOnly: true as const });

interface Case {
  needs: Needs;
  calls: Call[];
}

type Table<S extends DescService & { method: Record<string, unknown> }> = {
  [K in keyof S["method"]]: Case;
};

/** The first message of a server stream (undefined when it ends at once), then it is cancelled. */
async function first<T>(open: (signal: AbortSignal) => AsyncIterable<T>): Promise<T | undefined> {
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(10_000)]);
  try {
    for await (const message of open(signal)) return message;
    return undefined;
  } finally {
    controller.abort();
  }
}

/**
 * A stream that may stay quiet (live metrics of a deployment nothing samples here): its first
 * message, or undefined once it has stayed open for `quietMs` without an error. A refusal comes
 * at once, as an error, before any message.
 */
async function firstOrQuiet<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  quietMs = 1_500,
): Promise<T | undefined> {
  const quiet = new AbortController();
  const timer = setTimeout(() => quiet.abort(), quietMs);
  try {
    return await first((signal) => open(AbortSignal.any([signal, quiet.signal])));
  } catch (error) {
    if (quiet.signal.aborted) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const organizationCases: Table<typeof OrganizationService> = {
  createOrganization: {
    needs: "self",
    calls: [(c) => c.org.createOrganization({ name: "Intruder Org" })],
  },
  getOrganization: { needs: "read", calls: [(c, ids) => c.org.getOrganization({ id: ids.org })] },
  listOrganizations: { needs: "self", calls: [(c) => c.org.listOrganizations({})] },
  updateOrganization: {
    needs: "manage",
    calls: [(c, ids) => c.org.updateOrganization({ id: ids.org, name: "Renamed" })],
  },
  deleteOrganization: {
    needs: "own",
    calls: [(c, ids) => c.org.deleteOrganization({ id: ids.org })],
  },
  listMembers: {
    needs: "read",
    calls: [(c, ids) => c.org.listMembers({ organizationId: ids.org })],
  },
  addMember: {
    needs: "manage",
    calls: [
      (c, ids) =>
        c.org.addMember({
          organizationId: ids.org,
          email: "newcomer@alpha.test",
          role: Role.DEVELOPER,
        }),
    ],
  },
  updateMemberRole: {
    needs: "manage",
    calls: [
      (c, ids) =>
        c.org.updateMemberRole({
          organizationId: ids.org,
          userId: ids.memberUser,
          role: Role.VIEWER,
        }),
      (c, ids) =>
        c.org.updateMemberRole({
          organizationId: ids.org,
          userId: ids.ownerUser,
          role: Role.VIEWER,
        }),
    ],
  },
  removeMember: {
    needs: "manage",
    calls: [
      (c, ids) => c.org.removeMember({ organizationId: ids.org, userId: ids.memberUser }),
      (c, ids) => c.org.removeMember({ organizationId: ids.org, userId: ids.ownerUser }),
    ],
  },
  getQuotas: {
    needs: "read",
    calls: [(c, ids) => c.org.getQuotas({ organization: ids.org })],
  },
  setQuotas: {
    needs: "platform-admin",
    calls: [(c, ids) => c.org.setQuotas({ organization: ids.org, limits: { deployments: 1n } })],
  },
};

const projectCases: Table<typeof ProjectService> = {
  createProject: {
    needs: "write",
    calls: [(c, ids) => c.project.createProject({ organizationId: ids.org, name: "Intruder" })],
  },
  getProject: { needs: "read", calls: [(c, ids) => c.project.getProject({ id: ids.project })] },
  listProjects: {
    needs: "read",
    calls: [(c, ids) => c.project.listProjects({ organizationId: ids.org })],
  },
  updateProject: {
    needs: "write",
    calls: [(c, ids) => c.project.updateProject({ id: ids.project, description: "changed" })],
  },
  deleteProject: {
    needs: "write",
    calls: [(c, ids) => c.project.deleteProject({ id: ids.project })],
  },
  getDeployKey: {
    needs: "read",
    calls: [(c, ids) => c.project.getDeployKey({ projectId: ids.project })],
  },
  rotateDeployKey: {
    needs: "manage",
    calls: [(c, ids) => c.project.rotateDeployKey({ projectId: ids.project })],
  },
  getWebhook: {
    needs: "read",
    calls: [(c, ids) => c.project.getWebhook({ projectId: ids.project })],
  },
  rotateWebhookSecret: {
    needs: "manage",
    calls: [(c, ids) => c.project.rotateWebhookSecret({ projectId: ids.project })],
  },
};

const deploymentCases: Table<typeof DeploymentService> = {
  createDeployment: {
    needs: "write",
    calls: [
      (c, ids) =>
        c.deployment.createDeployment({
          projectId: ids.project,
          name: "intruder",
          gitRepo: "https://git.example.com/intruder/app.git",
          branch: "main",
        }),
    ],
  },
  getDeployment: {
    needs: "read",
    calls: [(c, ids) => c.deployment.getDeployment({ id: ids.deployment })],
  },
  listDeployments: {
    needs: "read",
    calls: [
      (c, ids) => c.deployment.listDeployments({ organizationId: ids.org }),
      (c, ids) => c.deployment.listDeployments({ projectId: ids.project }),
      // The project wins over the organization: naming one's own organization beside someone
      // else's project must not open the project.
      outsiderOnly((c, ids) =>
        c.deployment.listDeployments({ projectId: ids.project, organizationId: ids.ownOrg }),
      ),
    ],
  },
  updateDeployment: {
    needs: "write",
    calls: [(c, ids) => c.deployment.updateDeployment({ id: ids.deployment, branch: "evil" })],
  },
  deleteDeployment: {
    needs: "write",
    calls: [(c, ids) => c.deployment.deleteDeployment({ id: ids.deployment })],
  },
  startDeployment: {
    needs: "write",
    calls: [(c, ids) => c.deployment.startDeployment({ id: ids.deployment })],
  },
  stopDeployment: {
    needs: "write",
    calls: [(c, ids) => c.deployment.stopDeployment({ id: ids.deployment })],
  },
  restartDeployment: {
    needs: "write",
    calls: [(c, ids) => c.deployment.restartDeployment({ id: ids.deployment })],
  },
  scaleDeployment: {
    needs: "write",
    calls: [(c, ids) => c.deployment.scaleDeployment({ id: ids.deployment, replicas: 3 })],
  },
  redeployDeployment: {
    needs: "write",
    calls: [(c, ids) => c.deployment.redeployDeployment({ id: ids.deployment })],
  },
  rollbackDeployment: {
    needs: "write",
    calls: [
      (c, ids) => c.deployment.rollbackDeployment({ id: ids.deployment, buildId: ids.build }),
      // Someone else's build on one's own deployment.
      outsiderOnly((c, ids) =>
        c.deployment.rollbackDeployment({ id: ids.ownDeployment, buildId: ids.build }),
      ),
    ],
  },
  getDeploymentStatus: {
    needs: "read",
    calls: [(c, ids) => c.deployment.getDeploymentStatus({ id: ids.deployment })],
  },
  streamDeploymentStatus: {
    needs: "read",
    calls: [
      (c, ids) =>
        first((signal) => c.deployment.streamDeploymentStatus({ id: ids.deployment }, { signal })),
    ],
  },
  listEnvVars: {
    needs: "read",
    calls: [(c, ids) => c.deployment.listEnvVars({ deploymentId: ids.deployment })],
  },
  setEnvVars: {
    needs: "write",
    calls: [
      (c, ids) =>
        c.deployment.setEnvVars({ deploymentId: ids.deployment, envVars: { PWNED: "1" } }),
    ],
  },
  deleteEnvVar: {
    needs: "write",
    calls: [
      (c, ids) => c.deployment.deleteEnvVar({ deploymentId: ids.deployment, key: ids.envKey }),
    ],
  },
  listDomains: {
    needs: "read",
    calls: [(c, ids) => c.deployment.listDomains({ deploymentId: ids.deployment })],
  },
  addDomain: {
    needs: "write",
    calls: [
      (c, ids) =>
        c.deployment.addDomain({ deploymentId: ids.deployment, domain: "intruder.example.net" }),
    ],
  },
  removeDomain: {
    needs: "write",
    calls: [
      (c, ids) => c.deployment.removeDomain({ deploymentId: ids.deployment, domain: ids.domain }),
      // Someone else's domain through one's own deployment.
      outsiderOnly((c, ids) =>
        c.deployment.removeDomain({ deploymentId: ids.ownDeployment, domain: ids.domain }),
      ),
    ],
  },
  verifyDomain: {
    needs: "write",
    calls: [
      (c, ids) => c.deployment.verifyDomain({ deploymentId: ids.deployment, domain: ids.domain }),
      outsiderOnly((c, ids) =>
        c.deployment.verifyDomain({ deploymentId: ids.ownDeployment, domain: ids.domain }),
      ),
    ],
  },
  listBuilds: {
    needs: "read",
    calls: [(c, ids) => c.deployment.listBuilds({ deploymentId: ids.deployment })],
  },
  listPreviews: {
    needs: "read",
    calls: [(c, ids) => c.deployment.listPreviews({ deploymentId: ids.deployment })],
  },
  getDeployHook: {
    needs: "read",
    calls: [(c, ids) => c.deployment.getDeployHook({ deploymentId: ids.deployment })],
  },
  rotateDeployHook: {
    needs: "write",
    calls: [(c, ids) => c.deployment.rotateDeployHook({ deploymentId: ids.deployment })],
  },
  deleteDeployHook: {
    needs: "write",
    calls: [(c, ids) => c.deployment.deleteDeployHook({ deploymentId: ids.deployment })],
  },
  cancelBuild: {
    needs: "write",
    calls: [(c, ids) => c.deployment.cancelBuild({ deploymentId: ids.deployment })],
  },
  streamBuildLogs: {
    needs: "runtime",
    calls: [
      (c, ids) =>
        first((signal) => c.deployment.streamBuildLogs({ buildId: ids.build }, { signal })),
    ],
  },
  getDeploymentLogs: {
    needs: "runtime",
    calls: [(c, ids) => c.deployment.getDeploymentLogs({ deploymentId: ids.deployment })],
  },
  streamDeploymentLogs: {
    needs: "runtime",
    calls: [
      (c, ids) =>
        first((signal) =>
          c.deployment.streamDeploymentLogs({ deploymentId: ids.deployment }, { signal }),
        ),
    ],
  },
  planBuild: {
    // Planning clones the repository: the role that may deploy.
    needs: "write",
    calls: [
      (c, ids) => c.deployment.planBuild({ deploymentId: ids.deployment }),
      (c, ids) =>
        c.deployment.planBuild({
          projectId: ids.project,
          gitRepo: "https://git.example.com/intruder/app.git",
        }),
    ],
  },
  explainPlacement: {
    needs: "runtime",
    calls: [(c, ids) => c.deployment.explainPlacement({ deploymentId: ids.deployment })],
  },
  getDeploymentMetrics: {
    needs: "runtime",
    calls: [(c, ids) => c.deployment.getDeploymentMetrics({ deploymentId: ids.deployment })],
  },
  streamDeploymentMetrics: {
    needs: "runtime",
    calls: [
      (c, ids) =>
        firstOrQuiet((signal) =>
          c.deployment.streamDeploymentMetrics({ deploymentId: ids.deployment }, { signal }),
        ),
    ],
  },
};

const authCases: Table<typeof AuthService> = {
  whoAmI: { needs: "self", calls: [(c) => c.auth.whoAmI({})] },
  createApiToken: { needs: "self", calls: [(c) => c.auth.createApiToken({ name: "mine" })] },
  listApiTokens: { needs: "self", calls: [(c) => c.auth.listApiTokens({})] },
  revokeApiToken: {
    // Only one's own tokens: someone else's id is NotFound, as if it did not exist.
    needs: "own",
    calls: [(c, ids) => c.auth.revokeApiToken({ id: ids.apiToken })],
  },
  linkIdentity: {
    needs: "platform-admin",
    calls: [
      (c, ids) =>
        c.auth.linkIdentity({
          user: ids.ownerUser,
          issuer: "https://id.example.com",
          subject: "intruder",
          move: true,
        }),
    ],
  },
};

const nodeCases: Table<typeof NodeService> = {
  listNodes: { needs: "open", calls: [(c) => c.node.listNodes({})] },
  getNode: { needs: "open", calls: [(c, ids) => c.node.getNode({ id: ids.node })] },
  drainNode: { needs: "platform-admin", calls: [(c, ids) => c.node.drainNode({ id: ids.node })] },
  activateNode: {
    needs: "platform-admin",
    calls: [(c, ids) => c.node.activateNode({ id: ids.node })],
  },
  labelNode: {
    needs: "platform-admin",
    calls: [
      (c, ids) => c.node.labelNode({ id: ids.node, set: { compute: "false" }, remove: ["zone"] }),
    ],
  },
};

const backupCases: Table<typeof BackupService> = {
  listBackups: { needs: "platform-admin", calls: [(c) => c.backup.listBackups({})] },
  takeBackup: {
    needs: "platform-admin",
    calls: [(c) => c.backup.takeBackup({ type: BackupType.FULL })],
  },
};

const services = [
  { service: OrganizationService, cases: organizationCases },
  { service: ProjectService, cases: projectCases },
  { service: DeploymentService, cases: deploymentCases },
  { service: AuthService, cases: authCases },
  { service: NodeService, cases: nodeCases },
  { service: BackupService, cases: backupCases },
] as const;

/** Every case, as [Service/Method, case]. */
const allCases: Array<[string, Case]> = services.flatMap(({ service, cases }) =>
  Object.entries(cases as Record<string, Case>).map(
    ([name, c]) => [`${service.name}/${name}`, c] as [string, Case],
  ),
);

type Outcome = { ok: true; value: unknown } | { ok: false; error: ConnectError };

async function attempt(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: ConnectError.from(error) };
  }
}

const stringify = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

describe("API isolation between organizations, and roles", () => {
  let t: TestPlatform;
  let owner: TestUser & { clients: Clients };
  let outsider: TestUser & { clients: Clients };
  let viewer: TestUser & { clients: Clients };
  let developer: TestUser & { clients: Clients };
  let orgAdmin: TestUser & { clients: Clients };
  /** A's ids, as an outsider would send them. */
  let idsA: Ids;
  /** Ids of nothing, with the outsider's own org, project and deployment. */
  let ghost: Ids;
  /** Everything of A that an outsider must never read, by label. */
  const secretsOfA = new Map<string, string>();
  const envValue = "alpha-value-7c1e9f";
  const envKey = "ALPHA_SECRET_KEY";
  /** Every env var value this file sets, so that none may reach the audit log. */
  const envValues = [envValue];
  let snapshotBefore: Record<string, string[]>;

  const clientsFor = (token: string): Clients => ({
    org: t.client(OrganizationService, token),
    project: t.client(ProjectService, token),
    deployment: t.client(DeploymentService, token),
    auth: t.client(AuthService, token),
    node: t.client(NodeService, token),
    backup: t.client(BackupService, token),
  });
  const withClients = (user: TestUser) => ({ ...user, clients: clientsFor(user.token) });

  /** A's rows in every table (api_tokens without last_used_at, which every call touches). */
  async function snapshotOfA(): Promise<Record<string, string[]>> {
    const org = idsA.org;
    const deploymentsOfA = sql`(SELECT id FROM deployments WHERE organization_id = ${org})`;
    const membersOfA = sql`(SELECT user_id FROM memberships WHERE organization_id = ${org})`;
    const queries: Record<string, ReturnType<typeof sql>> = {
      organizations: sql`SELECT to_jsonb(x) AS r FROM organizations x WHERE id = ${org}`,
      memberships: sql`SELECT to_jsonb(x) AS r FROM memberships x WHERE organization_id = ${org}`,
      users: sql`SELECT to_jsonb(x) AS r FROM users x WHERE id IN ${membersOfA}`,
      api_tokens: sql`SELECT to_jsonb(x) - 'last_used_at' AS r FROM api_tokens x WHERE user_id IN ${membersOfA}`,
      projects: sql`SELECT to_jsonb(x) AS r FROM projects x WHERE organization_id = ${org}`,
      project_deploy_keys: sql`SELECT to_jsonb(x) AS r FROM project_deploy_keys x WHERE project_id IN (SELECT id FROM projects WHERE organization_id = ${org})`,
      deployments: sql`SELECT to_jsonb(x) AS r FROM deployments x WHERE organization_id = ${org}`,
      env_vars: sql`SELECT to_jsonb(x) AS r FROM env_vars x WHERE deployment_id IN ${deploymentsOfA}`,
      domains: sql`SELECT to_jsonb(x) AS r FROM domains x WHERE organization_id = ${org}`,
      builds: sql`SELECT to_jsonb(x) AS r FROM builds x WHERE deployment_id IN ${deploymentsOfA}`,
      deployment_locations: sql`SELECT to_jsonb(x) AS r FROM deployment_locations x WHERE deployment_id IN ${deploymentsOfA}`,
      deployment_routing: sql`SELECT to_jsonb(x) AS r FROM deployment_routing x WHERE deployment_id IN ${deploymentsOfA}`,
      audit_log: sql`SELECT to_jsonb(x) AS r FROM audit_log x WHERE organization_id = ${org}`,
      node_metadata: sql`SELECT to_jsonb(x) AS r FROM node_metadata x`,
    };
    const out: Record<string, string[]> = {};
    for (const [table, query] of Object.entries(queries)) {
      const rows = await executeRows<{ r: unknown }>(t.platform.database.db, query);
      out[table] = rows
        .map((row) => (typeof row.r === "string" ? row.r : JSON.stringify(row.r)))
        .sort();
    }
    return out;
  }

  /** Fails when `text` holds any of A's secrets that the caller did not send themselves. */
  function assertNoLeak(text: string, sent: Ids | undefined, what: string) {
    // What the caller sent may come back, and so may whatever it contains (a slug in a domain).
    const sentValues = Object.values(sent ?? {}).map((v) => v.toLowerCase());
    const lower = text.toLowerCase();
    for (const [label, value] of secretsOfA) {
      if (sentValues.some((v) => v.includes(value.toLowerCase()))) continue;
      assert.ok(!lower.includes(value.toLowerCase()), `${what} reveals A's ${label}: ${text}`);
    }
  }

  /** The message with each id replaced by its name, to compare answers for A's and ghost ids. */
  const neutral = (message: string, ids: Ids) =>
    Object.entries(ids).reduce((m, [key, value]) => m.replaceAll(value, `<${key}>`), message);

  before(async () => {
    t = await startTestPlatform();
    const admin = clientsFor(t.adminToken);
    const me = await admin.auth.whoAmI({});
    assert.ok(me.user);
    const adminTokens = await admin.auth.listApiTokens({});
    const adminToken = adminTokens.apiTokens[0];
    assert.ok(adminToken);
    owner = {
      userId: me.user.id,
      email: me.user.email,
      token: t.adminToken,
      tokenId: adminToken.id,
      platformAdmin: true,
      principal: {
        userId: me.user.id,
        email: me.user.email,
        displayName: me.user.displayName,
        platformAdmin: true,
        method: "api_token",
      },
      clients: admin,
    };

    // Organization A, the administrator's.
    const orgA = (
      await admin.org.createOrganization({ name: "Alpha Industries", slug: "alpha-industries" })
    ).organization;
    assert.ok(orgA);
    const projectA = (
      await admin.project.createProject({
        organizationId: orgA.id,
        name: "Alpha Storefront",
        description: "alpha confidential roadmap",
      })
    ).project;
    assert.ok(projectA);
    const customDomain = "shop.alpha-industries.example";
    const deploymentA = (
      await admin.deployment.createDeployment({
        projectId: projectA.id,
        name: "alpha-web",
        gitRepo: "https://git.example.com/alpha/storefront.git",
        branch: "release-alpha",
        envVars: { [envKey]: envValue },
        domain: customDomain,
      })
    ).deployment;
    assert.ok(deploymentA);
    // A's custom domain, verified (as its TXT record would prove): no one else may claim it.
    await t.platform.database.db
      .update(domains)
      .set({ status: "verified", verifiedAt: new Date() })
      .where(eq(domains.domain, customDomain));
    const buildId = randomUUID();
    await t.platform.database.db.insert(builds).values({
      id: buildId,
      deploymentId: deploymentA.id,
      status: "succeeded",
      gitRepo: deploymentA.gitRepo,
      branch: deploymentA.branch,
      commitSha: "a1fa0000c0ffee",
      imageId: "sha256:alpha0000image",
    });
    const members: Record<string, Role> = {
      "viewer@alpha.test": Role.VIEWER,
      "developer@alpha.test": Role.DEVELOPER,
      "admin@alpha.test": Role.ADMIN,
      "bystander@alpha.test": Role.DEVELOPER,
    };
    for (const [email, role] of Object.entries(members)) {
      await admin.org.addMember({ organizationId: orgA.id, email, role });
    }
    viewer = withClients(await createUserWithToken(t, "viewer@alpha.test"));
    developer = withClients(await createUserWithToken(t, "developer@alpha.test"));
    orgAdmin = withClients(await createUserWithToken(t, "admin@alpha.test"));
    const bystander = await createUserWithToken(t, "bystander@alpha.test");

    await t.platform.database.db.insert(nodeMetadata).values({
      id: "node-alpha-1",
      hostname: "worker-1",
      address: "10.0.0.11",
      labels: { compute: "true", zone: "eu-1" },
      cpuCores: 4,
      memoryBytes: 8 * 1024 ** 3,
    });

    // Organization B, another user's.
    outsider = withClients(await createUserWithToken(t, "owner@beta.test"));
    const orgB = (await outsider.clients.org.createOrganization({ name: "Beta Labs" }))
      .organization;
    assert.ok(orgB);
    const projectB = (
      await outsider.clients.project.createProject({ organizationId: orgB.id, name: "Beta App" })
    ).project;
    assert.ok(projectB);
    const deploymentB = (
      await outsider.clients.deployment.createDeployment({
        projectId: projectB.id,
        name: "beta-web",
        gitRepo: "https://git.example.com/beta/app.git",
        branch: "main",
      })
    ).deployment;
    assert.ok(deploymentB);

    idsA = {
      org: orgA.id,
      project: projectA.id,
      deployment: deploymentA.id,
      build: buildId,
      memberUser: bystander.userId,
      ownerUser: owner.userId,
      apiToken: owner.tokenId,
      domain: customDomain,
      envKey,
      node: "node-alpha-1",
      ownOrg: orgB.id,
      ownProject: projectB.id,
      ownDeployment: deploymentB.id,
    };
    ghost = {
      ...idsA,
      org: randomUUID(),
      project: randomUUID(),
      deployment: randomUUID(),
      build: randomUUID(),
      memberUser: randomUUID(),
      ownerUser: randomUUID(),
      apiToken: randomUUID(),
      domain: "ghost.nowhere.example",
      envKey: "GHOST_KEY",
      node: "node-ghost-9",
    };

    const secrets: Array<[string, string]> = [
      ["organization id", orgA.id],
      ["organization name", orgA.name],
      ["organization slug", orgA.slug],
      ["project id", projectA.id],
      ["project name", projectA.name],
      ["project slug", projectA.slug],
      ["project description", projectA.description],
      ["deployment id", deploymentA.id],
      ["deployment name", deploymentA.name],
      ["git repository", deploymentA.gitRepo],
      ["branch", deploymentA.branch],
      ["custom domain", customDomain],
      ["env var key", envKey],
      ["env var value", envValue],
      ["build id", buildId],
      ["commit", "a1fa0000c0ffee"],
      ["owner user id", owner.userId],
      ["owner email", owner.email],
      ["owner token id", owner.tokenId],
      ["owner token prefix", adminToken.prefix],
    ];
    for (const domain of deploymentA.domains) secrets.push([`domain ${domain}`, domain]);
    const keyA = (await admin.project.getDeployKey({ projectId: projectA.id })).deployKey;
    assert.ok(keyA);
    secrets.push(
      ["deploy key", keyA.publicKey.split(" ")[1] ?? keyA.publicKey],
      ["deploy key fingerprint", keyA.fingerprint],
    );
    for (const user of [viewer, developer, orgAdmin, bystander]) {
      secrets.push(
        [`member ${user.email}`, user.email],
        [`member id of ${user.email}`, user.userId],
      );
      secrets.push([`token id of ${user.email}`, user.tokenId]);
    }
    for (const [label, value] of secrets) secretsOfA.set(label, value);

    snapshotBefore = await snapshotOfA();
  });
  after(() => t?.close());

  it("has a case for every RPC of every service", () => {
    for (const { service, cases } of services) {
      const expected = service.methods.map((m) => m.localName).sort();
      assert.deepEqual(
        Object.keys(cases).sort(),
        expected,
        `${service.typeName}: every RPC needs an isolation case`,
      );
      for (const method of service.methods) {
        const c = (cases as Record<string, Case>)[method.localName];
        assert.ok(c && c.calls.length > 0, `${service.typeName}/${method.name} has no call`);
      }
    }
  });

  describe("an owner of another organization", () => {
    for (const [name, c] of allCases) {
      it(`${name}: ${c.needs === "self" || c.needs === "open" ? "sees only their own" : "is refused, as for ids that do not exist"}`, async () => {
        for (const [index, call] of c.calls.entries()) {
          const label = `${name} #${index + 1}`;
          const got = await attempt(() => call(outsider.clients, idsA));
          if (c.needs === "self" || c.needs === "open") {
            assert.ok(got.ok, `${label} failed: ${got.ok ? "" : got.error.message}`);
            assertNoLeak(stringify(got.value), undefined, label);
            continue;
          }
          assert.ok(
            !got.ok,
            `${label} succeeded for an outsider: ${stringify(got.ok && got.value)}`,
          );
          const allowed =
            c.needs === "platform-admin"
              ? [Code.PermissionDenied]
              : [Code.NotFound, Code.PermissionDenied];
          assert.ok(
            allowed.includes(got.error.code),
            `${label}: expected ${allowed.map((x) => Code[x]).join(" or ")}, got ${Code[got.error.code]}: ${got.error.rawMessage}`,
          );
          assert.deepEqual(got.error.details, [], `${label}: error details`);
          assertNoLeak(got.error.rawMessage, idsA, label);
          // The same answer as for ids that exist nowhere: no way to tell A's ids exist.
          const forGhost = await attempt(() => call(outsider.clients, ghost));
          assert.ok(!forGhost.ok, `${label} succeeded with ghost ids`);
          assert.equal(Code[got.error.code], Code[forGhost.error.code], `${label}: code`);
          assert.equal(
            neutral(got.error.rawMessage, idsA),
            neutral(forGhost.error.rawMessage, ghost),
            `${label}: message`,
          );
        }
      });
    }

    it("lists only their own organizations, projects and deployments", async () => {
      const c = outsider.clients;
      const orgs = await c.org.listOrganizations({});
      assert.ok(orgs.organizations.length >= 1);
      assert.ok(orgs.organizations.every((o) => o.id !== idsA.org && o.role === Role.OWNER));
      const projects = await c.project.listProjects({ organizationId: idsA.ownOrg });
      assert.deepEqual(
        projects.projects.map((p) => p.id),
        [idsA.ownProject],
      );
      const byOrg = await c.deployment.listDeployments({ organizationId: idsA.ownOrg });
      assert.deepEqual(
        byOrg.deployments.map((d) => d.id),
        [idsA.ownDeployment],
      );
      const byProject = await c.deployment.listDeployments({ projectId: idsA.ownProject });
      assert.deepEqual(
        byProject.deployments.map((d) => d.id),
        [idsA.ownDeployment],
      );
      const me = await c.auth.whoAmI({});
      assert.ok(me.memberships.every((m) => m.organizationId !== idsA.org));
      const tokens = await c.auth.listApiTokens({});
      assert.ok(tokens.apiTokens.every((tk) => tk.id !== owner.tokenId));
      for (const [what, answer] of Object.entries({
        orgs,
        projects,
        byOrg,
        byProject,
        me,
        tokens,
      })) {
        assertNoLeak(stringify(answer), undefined, what);
      }
    });

    it("cannot take a domain of A: AlreadyExists without naming A", async () => {
      const c = outsider.clients;
      for (const call of [
        () => c.deployment.addDomain({ deploymentId: idsA.ownDeployment, domain: idsA.domain }),
        () =>
          c.deployment.createDeployment({
            projectId: idsA.ownProject,
            name: "beta-shop",
            gitRepo: "https://git.example.com/beta/shop.git",
            branch: "main",
            domain: idsA.domain.toUpperCase(),
          }),
      ]) {
        const got = await attempt(call);
        assert.ok(!got.ok);
        assert.equal(Code[got.error.code], "AlreadyExists");
        assert.match(got.error.rawMessage, /already in use/);
        assertNoLeak(got.error.rawMessage, { ...ghost, domain: idsA.domain }, "domain conflict");
      }
    });
  });

  describe("a viewer of A", () => {
    for (const [name, c] of allCases) {
      if (c.needs === "self" || c.needs === "open") continue;
      const expect =
        c.needs === "read"
          ? "reads"
          : c.needs === "runtime"
            ? "reads, then the runtime answers"
            : "is refused";
      it(`${name}: ${expect}`, async () => {
        for (const [index, call] of c.calls.entries()) {
          const label = `${name} #${index + 1}`;
          // The outsider-only variants (the caller's own deployment) do not apply to a viewer.
          if (call.outsiderOnly) continue;
          const got = await attempt(() => call(viewer.clients, idsA));
          if (c.needs === "read") {
            assert.ok(got.ok, `${label}: ${got.ok ? "" : got.error.message}`);
          } else if (c.needs === "runtime") {
            // Authorized; without a container runtime the server may say so, nothing else.
            if (!got.ok) {
              assert.ok(
                [Code.Unimplemented, Code.Unavailable].includes(got.error.code),
                `${label}: ${got.error.message}`,
              );
            }
          } else if (c.needs === "own" && name === "AuthService/revokeApiToken") {
            assert.ok(!got.ok, label);
            assert.equal(Code[got.error.code], "NotFound", label);
          } else {
            assert.ok(!got.ok, `${label} succeeded for a viewer`);
            assert.equal(
              Code[got.error.code],
              "PermissionDenied",
              `${label}: ${got.error.rawMessage}`,
            );
            assert.match(
              got.error.rawMessage,
              c.needs === "platform-admin" ? /platform administrators/ : /your role .*\(viewer\)/,
            );
          }
        }
      });
    }

    it("sees env var keys with empty values, a developer sees the values", async () => {
      const asViewer = await viewer.clients.deployment.listEnvVars({
        deploymentId: idsA.deployment,
      });
      assert.deepEqual(
        asViewer.envVars.map((e) => [e.key, e.value]),
        [[envKey, ""]],
      );
      const asDeveloper = await developer.clients.deployment.listEnvVars({
        deploymentId: idsA.deployment,
      });
      assert.deepEqual(
        asDeveloper.envVars.map((e) => [e.key, e.value]),
        [[envKey, envValue]],
      );
    });
  });

  describe("refused by role", () => {
    it("a developer cannot manage members, the organization, or nodes", async () => {
      for (const [name, c] of allCases) {
        if (!["manage", "own", "platform-admin"].includes(c.needs)) continue;
        if (name === "AuthService/revokeApiToken") continue;
        for (const call of c.calls) {
          const got = await attempt(() => call(developer.clients, idsA));
          assert.ok(!got.ok, `${name} succeeded for a developer`);
          assert.equal(
            Code[got.error.code],
            "PermissionDenied",
            `${name}: ${got.error.rawMessage}`,
          );
        }
      }
    });

    it("an admin cannot grant or take away ownership, nor delete the organization", async () => {
      const c = orgAdmin.clients.org;
      const refusals = [
        () => c.addMember({ organizationId: idsA.org, email: "boss@alpha.test", role: Role.OWNER }),
        () =>
          c.updateMemberRole({ organizationId: idsA.org, userId: viewer.userId, role: Role.OWNER }),
        () =>
          c.updateMemberRole({
            organizationId: idsA.org,
            userId: orgAdmin.userId,
            role: Role.OWNER,
          }),
        () =>
          c.updateMemberRole({ organizationId: idsA.org, userId: owner.userId, role: Role.ADMIN }),
        () => c.removeMember({ organizationId: idsA.org, userId: owner.userId }),
      ];
      for (const [index, call] of refusals.entries()) {
        const got = await attempt(call);
        assert.ok(!got.ok, `refusal #${index + 1} succeeded`);
        assert.equal(Code[got.error.code], "PermissionDenied", got.error.rawMessage);
        assert.match(got.error.rawMessage, /only an owner/);
      }
      const deleted = await attempt(() => c.deleteOrganization({ id: idsA.org }));
      assert.ok(!deleted.ok);
      assert.equal(Code[deleted.error.code], "PermissionDenied");
      assert.match(deleted.error.rawMessage, /needs owner/);
    });

    it("the last owner cannot leave or be demoted", async () => {
      const c = owner.clients.org;
      for (const call of [
        () => c.removeMember({ organizationId: idsA.org, userId: owner.userId }),
        () =>
          c.updateMemberRole({ organizationId: idsA.org, userId: owner.userId, role: Role.ADMIN }),
        () =>
          c.updateMemberRole({
            organizationId: idsA.org,
            userId: owner.userId,
            role: Role.VIEWER,
          }),
      ]) {
        const got = await attempt(call);
        assert.ok(!got.ok);
        assert.equal(Code[got.error.code], "FailedPrecondition", got.error.rawMessage);
        assert.match(got.error.rawMessage, /at least one owner/);
      }
    });

    it("nodes: drain, activate and label need a platform administrator", async () => {
      for (const who of [outsider, viewer, developer, orgAdmin]) {
        const c = who.clients.node;
        for (const call of [
          () => c.drainNode({ id: idsA.node }),
          () => c.activateNode({ id: idsA.node }),
          () => c.labelNode({ id: idsA.node, set: { compute: "false" } }),
        ]) {
          const got = await attempt(call);
          assert.ok(!got.ok, `${who.email} changed a node`);
          assert.equal(Code[got.error.code], "PermissionDenied");
        }
        // Reading is open to every signed-in user; the labels are for platform administrators
        // (test/api-tenant-data.test.ts).
        const node = await c.getNode({ id: idsA.node });
        assert.equal(node.node?.id, idsA.node);
        assert.deepEqual(node.node?.labels, {});
      }
    });

    it("after all the refused calls, A's data is unchanged", async () => {
      const now = await snapshotOfA();
      for (const table of Object.keys(snapshotBefore)) {
        assert.deepEqual(now[table], snapshotBefore[table], `${table} changed`);
      }
      // The owner's token still works: nobody revoked it.
      const me = await owner.clients.auth.whoAmI({});
      assert.equal(me.user?.id, owner.userId);
    });
  });

  describe("successful mutations, each audited", () => {
    /** Runs a mutation and checks it wrote exactly one audit row, with this action. */
    async function audited<T>(action: string, by: TestUser, fn: () => Promise<T>): Promise<T> {
      const db = t.platform.database.db;
      const [before] = await db.select({ n: sql<number>`max(${auditLog.id})` }).from(auditLog);
      const result = await fn();
      const rows = await db
        .select()
        .from(auditLog)
        .where(sql`${auditLog.id} > ${before?.n ?? 0}`);
      assert.deepEqual(
        rows.map((r) => r.action),
        [action],
        `${action}: audit rows written`,
      );
      assert.equal(rows[0]?.userId, by.userId, `${action}: audited user`);
      return result;
    }

    it("a developer deploys: create, env vars, scale, domain, delete", async () => {
      const c = developer.clients.deployment;
      const secret = "dev-secret-value-91ab";
      const second = "dev-second-value-33cd";
      envValues.push(secret, second);
      const created = await audited("deployment.create", developer, () =>
        c.createDeployment({
          projectId: idsA.project,
          name: "alpha-worker",
          gitRepo: "git@git.example.com:alpha/worker.git",
          branch: "main",
          envVars: { WORKER_TOKEN: secret },
        }),
      );
      const id = created.deployment?.id ?? "";
      const [row] = await t.platform.database.db
        .select()
        .from(auditLog)
        .where(sql`${auditLog.resourceId} = ${id} AND ${auditLog.action} = 'deployment.create'`);
      assert.equal(row?.organizationId, idsA.org);
      assert.deepEqual(row?.details.envKeys, ["WORKER_TOKEN"]);

      await audited("env_vars.set", developer, () =>
        c.setEnvVars({ deploymentId: id, envVars: { WORKER_TOKEN: second, OTHER: "x-value" } }),
      );
      envValues.push("x-value");
      await audited("deployment.scale", developer, () => c.scaleDeployment({ id, replicas: 2 }));
      await audited("deployment.stop", developer, () => c.stopDeployment({ id }));
      await audited("domain.add", developer, () =>
        c.addDomain({ deploymentId: id, domain: "worker.alpha-industries.example" }),
      );
      await audited("env_vars.delete", developer, () =>
        c.deleteEnvVar({ deploymentId: id, key: "OTHER" }),
      );
      await audited("deployment.delete", developer, () => c.deleteDeployment({ id }));
      const gone = await attempt(() => c.getDeployment({ id }));
      assert.ok(!gone.ok);
      assert.equal(Code[gone.error.code], "NotFound");
    });

    it("an admin rotates a project's deploy key; the old key is gone", async () => {
      const c = orgAdmin.clients.project;
      const before = (await c.getDeployKey({ projectId: idsA.project })).deployKey;
      const rotated = await audited("project.deploy_key.rotate", orgAdmin, () =>
        c.rotateDeployKey({ projectId: idsA.project }),
      );
      assert.ok(before && rotated.deployKey);
      assert.notEqual(rotated.deployKey.publicKey, before.publicKey);
      assert.notEqual(rotated.deployKey.fingerprint, before.fingerprint);
      const after = (await viewer.clients.project.getDeployKey({ projectId: idsA.project }))
        .deployKey;
      assert.equal(after?.publicKey, rotated.deployKey.publicKey);
    });

    it("an admin manages non-owner members", async () => {
      const c = orgAdmin.clients.org;
      const added = await audited("member.add", orgAdmin, () =>
        c.addMember({ organizationId: idsA.org, email: "intern@alpha.test", role: Role.VIEWER }),
      );
      const userId = added.member?.userId ?? "";
      const [row] = await t.platform.database.db
        .select()
        .from(auditLog)
        .where(sql`${auditLog.action} = 'member.add' AND ${auditLog.resourceId} = ${userId}`);
      assert.equal(row?.organizationId, idsA.org);
      assert.equal(row?.details.email, "intern@alpha.test");
      await audited("member.update_role", orgAdmin, () =>
        c.updateMemberRole({ organizationId: idsA.org, userId, role: Role.DEVELOPER }),
      );
      await audited("member.remove", orgAdmin, () =>
        c.removeMember({ organizationId: idsA.org, userId }),
      );
    });

    it("a viewer may leave", async () => {
      await audited("member.remove", viewer, () =>
        viewer.clients.org.removeMember({ organizationId: idsA.org, userId: viewer.userId }),
      );
      const got = await attempt(() => viewer.clients.org.getOrganization({ id: idsA.org }));
      assert.ok(!got.ok);
      assert.equal(Code[got.error.code], "NotFound");
    });

    it("a platform administrator drains, activates and labels a node", async () => {
      const c = owner.clients.node;
      const drained = await audited("node.drain", owner, () => c.drainNode({ id: idsA.node }));
      assert.equal(drained.node?.availability, 2);
      await audited("node.activate", owner, () => c.activateNode({ id: idsA.node }));
      const labelled = await audited("node.label", owner, () =>
        c.labelNode({ id: idsA.node, set: { gpu: "yes" }, remove: ["zone"] }),
      );
      assert.deepEqual(labelled.node?.labels, { compute: "true", gpu: "yes" });
    });

    it("with a second owner, the first may step down", async () => {
      const c = owner.clients.org;
      await audited("member.update_role", owner, () =>
        c.updateMemberRole({ organizationId: idsA.org, userId: orgAdmin.userId, role: Role.OWNER }),
      );
      await audited("member.update_role", owner, () =>
        c.updateMemberRole({ organizationId: idsA.org, userId: owner.userId, role: Role.ADMIN }),
      );
      // Now orgAdmin is the last owner.
      const got = await attempt(() =>
        orgAdmin.clients.org.removeMember({ organizationId: idsA.org, userId: orgAdmin.userId }),
      );
      assert.ok(!got.ok);
      assert.equal(Code[got.error.code], "FailedPrecondition");
    });

    it("the audit log never holds an env var value", async () => {
      const rows = await t.platform.database.db.select().from(auditLog);
      assert.ok(rows.length > 10);
      const text = stringify(rows.map((r) => r.details));
      for (const value of envValues) {
        assert.ok(!text.includes(value), `the audit log holds the env var value ${value}`);
      }
    });
  });
});
