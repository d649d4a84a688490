/**
 * Deployments as desired state. This service records what the user asks for and wakes the
 * controller through the job queue; it never talks to a container engine. The controller
 * converges what runs to what is recorded here, so a lost job changes nothing for good.
 */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, ne } from "drizzle-orm";
import { allows, authorize, type RoleName } from "../access/index.js";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { dockerfilePath, rootDirectory } from "../builder/index.js";
import { cachedForOrganization, invalidateOrganization } from "../core/index.js";
import type { SecretBox } from "../crypto/index.js";
import {
  alreadyExists,
  DEPLOY_JOB,
  deployJobId,
  failedPrecondition,
  invalidArgument,
  notFound,
  unavailable,
  validation as valid,
} from "../domain/index.js";
import {
  challengeRecordName,
  type DomainInstructions,
  dnsTxtLookup,
  domainInstructions,
  isReservedHost,
  isReservedLabel,
  judge,
  organizationDomainToken,
  type ReservedNames,
  type TxtLookup,
} from "../domains/index.js";
import { previewLabel } from "../forges/index.js";
import { footprintDelta, type QuotaDelta, type QuotaService } from "../organizations/index.js";
import { type Bus, type Cache, type JobQueue, subscribeIterable } from "../platform/index.js";
import {
  type BuildTrigger,
  builds,
  constraintOf,
  type Db,
  type DeploymentStatusName,
  deploymentLocations,
  deploymentRouting,
  deployments,
  domains,
  envVars,
  isUniqueViolation,
  projects,
  type Tx,
} from "../store/index.js";
import { deploymentEnv, type EnvScope, envTable } from "./env-vars.js";
import { buildCancelChannel, buildLogChannel, type StatusEvent, statusChannel } from "./events.js";
import {
  checkCredential,
  type GitCredential,
  originOf,
  splitCredential,
  withCredentials,
  writeGitCredential,
} from "./git-credentials.js";

export type Deployment = typeof deployments.$inferSelect & {
  domains: string[];
  /** Whether a credential for the repository is kept (never the credential itself). */
  hasGitCredential: boolean;
};
export type DomainRow = typeof domains.$inferSelect;
/** A domain with, for a custom one, the DNS record that proves its organization owns it. */
export type DomainView = DomainRow & { verification?: DomainInstructions };
export type Build = typeof builds.$inferSelect;
export type Location = typeof deploymentLocations.$inferSelect;
export type Strategy = "" | "least-loaded" | "round-robin" | "resource-based";

export interface CreateDeploymentInput {
  projectId: string;
  name?: string | undefined;
  gitRepo: string;
  branch: string;
  envVars?: Record<string, string> | undefined;
  domain?: string | undefined;
  resources?: { cpuMillicores: number; memoryMb: number } | undefined;
  replicas?: number | undefined;
  strategy?: Strategy | undefined;
  /** For a private https repository; the URL's `user:token@` works too. */
  gitCredential?: GitCredential | undefined;
  /** The build context inside the repository; its root when empty. */
  rootDirectory?: string | undefined;
  /** The Dockerfile, from the repository's root; detected when empty. */
  dockerfilePath?: string | undefined;
  /** When the project has a deployment of this name already: redeploy it instead of AlreadyExists. */
  redeployExisting?: boolean | undefined;
}

/**
 * Whether a deployment of this size fits on the nodes now; throws ResourceExhausted, saying
 * which constraint failed on which node, when it does not (the controller's placementGuard).
 */
export type PlacementFit = (request: {
  replicas: number;
  cpuMillicores: number;
  memoryMb: number;
  strategy?: string;
}) => Promise<void>;

/** Without a placement check: every size is accepted here and placed (or refused) later. */
const fitsAnywhere: PlacementFit = async () => undefined;

/**
 * What DeploymentService uses: the database, the platform services it writes through, the
 * secret box for env vars and git credentials, the clock, the quotas, the placement check, and
 * the few settings it reads.
 */
export interface DeploymentServiceDeps {
  readonly db: Db;
  /** Status events, build logs and build cancellations. */
  readonly bus: Bus;
  /** Wakes the controller. */
  readonly queue: JobQueue;
  /** The API response cache, dropped for an organization after each of its writes. */
  readonly cache: Cache;
  readonly secrets: SecretBox;
  readonly now: () => Date;
  readonly quotas: QuotaService;
  /**
   * The placement check of CreateDeployment and of scaling (the API passes the controller's
   * placementGuard); services that never create or resize go without.
   */
  readonly fits?: PlacementFit;
  /** MAX_REPLICAS. */
  readonly limits: { readonly maxReplicas: number };
  /** A preview's resources at most, and how long it lives without a push (PREVIEW_*). */
  readonly previews: {
    readonly cpuMillicores: number;
    readonly memoryMb: number;
    readonly ttlHours: number;
  };
  /** PLATFORM_DOMAIN, under which deployments get their default names. */
  readonly platformDomain: string;
  /** GIT_ALLOW_FILE: whether file:// repositories are accepted. */
  readonly gitAllowFile: boolean;
  /** Names the platform keeps for itself (RESERVED_NAMES and its own hosts). */
  readonly reserved: ReservedNames;
  /** The resolvers that check custom domains' TXT records (DNS_RESOLVERS, DNS_TIMEOUT_MS). */
  readonly dns: { readonly servers?: readonly string[]; readonly timeoutMs: number };
}

export class DeploymentService {
  /** Refuses at once a deployment that fits on no node (ResourceExhausted). */
  private readonly fits: PlacementFit;
  readonly quotas: QuotaService;
  private readonly dns: TxtLookup;

  constructor(private readonly deps: DeploymentServiceDeps) {
    this.fits = deps.fits ?? fitsAnywhere;
    this.quotas = deps.quotas;
    this.dns = dnsTxtLookup(deps.dns);
  }

  /**
   * CreateDeployment: a new deployment, or with `redeployExisting`, the project's deployment of
   * that name redeployed with what the request gives (`obiente deploy` run again).
   */
  async createOrRedeploy(
    principal: Principal,
    input: CreateDeploymentInput,
  ): Promise<{ deployment: Deployment; redeployed: boolean }> {
    if (input.redeployExisting) {
      const existing = await this.named(principal, input);
      if (existing) {
        return {
          deployment: await this.redeployWith(principal, existing, input),
          redeployed: true,
        };
      }
    }
    return { deployment: await this.create(principal, input), redeployed: false };
  }

  /** The project's deployment of the name `create` would give, when there is one. */
  private async named(principal: Principal, input: CreateDeploymentInput) {
    const projectId = valid.uuid("project_id", input.projectId);
    const [project] = await this.deps.db.select().from(projects).where(eq(projects.id, projectId));
    if (!project) throw notFound("project");
    await authorize(this.deps.db, principal, project.organizationId, "write", "project");
    const { gitRepo } = this.source(input.gitRepo, input.gitCredential);
    const name = this.deploymentName(input.name, gitRepo);
    const [row] = await this.deps.db
      .select({ id: deployments.id, desiredState: deployments.desiredState })
      .from(deployments)
      .where(and(eq(deployments.projectId, projectId), eq(deployments.name, name)));
    if (row?.desiredState === "deleted") {
      throw failedPrecondition(
        `the deployment "${name}" is being deleted: deploy again once it is gone`,
      );
    }
    return row ? this.load(principal, row.id, "write") : undefined;
  }

  /**
   * Redeploys an existing deployment with a create request's source, and its env vars (added to
   * the others), domain, replicas, resources and strategy where the request gives them: one
   * change, then a new build.
   */
  private async redeployWith(
    principal: Principal,
    current: typeof deployments.$inferSelect,
    input: CreateDeploymentInput,
  ): Promise<Deployment> {
    const source = this.source(input.gitRepo, input.gitCredential);
    let credential = source.credential;
    if (credential === undefined && originOf(source.gitRepo) !== originOf(current.gitRepo)) {
      credential = null; // a credential is for one origin
    }
    const branch = valid.branch(input.branch);
    // Where given, like the env vars and the domain: a create request cannot say "back to the
    // repository's root" (UpdateDeployment can), so an empty one keeps what the deployment has.
    const buildSource = {
      ...(input.rootDirectory ? { rootDirectory: rootDirectory(input.rootDirectory) } : {}),
      ...(input.dockerfilePath ? { dockerfilePath: dockerfilePath(input.dockerfilePath) } : {}),
    };
    const vars = valid.envVars(input.envVars ?? {});
    const replicas = input.replicas
      ? valid.replicas(input.replicas, this.deps.limits.maxReplicas)
      : current.replicas;
    const resources = input.resources ? valid.resources(input.resources) : undefined;
    const customDomain = input.domain ? this.customDomain(input.domain) : undefined;
    await this.fits({
      replicas,
      cpuMillicores: resources?.cpuMillicores ?? current.cpuMillicores,
      memoryMb: resources?.memoryMb ?? current.memoryMb,
      ...(input.strategy ? { strategy: input.strategy } : {}),
    });
    const [hasDomain] = customDomain
      ? await this.deps.db
          .select({ domain: domains.domain })
          .from(domains)
          .where(and(eq(domains.domain, customDomain), eq(domains.deploymentId, current.id)))
      : [];
    try {
      const row = await this.change(
        principal,
        current,
        "deployment.redeploy",
        {
          gitRepo: source.gitRepo,
          branch,
          ...buildSource,
          replicas,
          ...(resources ? resources : {}),
          ...(input.strategy ? { strategy: input.strategy } : {}),
          desiredState: "running",
          currentBuildId: null,
          wantedCommit: "",
          buildTrigger: "api",
          status: "queued",
          statusMessage: "redeploy requested",
        },
        {
          gitRepo: source.gitRepo,
          branch,
          ...buildSource,
          replicas,
          envKeys: Object.keys(vars),
          ...(customDomain && !hasDomain ? { domain: customDomain } : {}),
          ...(credential === undefined
            ? {}
            : { gitCredential: credential ? "replaced" : "removed" }),
        },
        true,
        {
          quota: (fresh) => ({
            ...this.runningDelta(
              fresh,
              {
                ...fresh,
                desiredState: "running",
                currentBuildId: null,
                replicas,
                ...(resources ?? {}),
              },
              true,
            ),
            domains: customDomain && !hasDomain ? 1 : 0,
          }),
          alsoInTransaction: async (tx) => {
            await this.writeEnvVars(tx, current.id, vars);
            const keys = await tx
              .select({ key: envVars.key })
              .from(envVars)
              .where(eq(envVars.deploymentId, current.id));
            if (keys.length > valid.MAX_ENV_VARS) {
              throw invalidArgument(`at most ${valid.MAX_ENV_VARS} env vars`);
            }
            if (customDomain && !hasDomain) {
              // A custom domain is pending until its organization proves it owns it.
              await this.refuseVerifiedElsewhere(tx, customDomain, current.organizationId);
              await organizationDomainToken(tx, current.organizationId);
              await tx.insert(domains).values({
                domain: customDomain,
                deploymentId: current.id,
                organizationId: current.organizationId,
                status: "pending",
              });
            }
            if (credential !== undefined) {
              await writeGitCredential(
                tx,
                this.deps.secrets,
                current.id,
                source.gitRepo,
                credential,
              );
            }
          },
        },
      );
      return this.withDomains(row);
    } catch (error) {
      if (isUniqueViolation(error))
        throw alreadyExists(`the domain ${customDomain} is already in use`);
      throw error;
    }
  }

  async create(principal: Principal, input: CreateDeploymentInput): Promise<Deployment> {
    const projectId = valid.uuid("project_id", input.projectId);
    const [project] = await this.deps.db.select().from(projects).where(eq(projects.id, projectId));
    if (!project) throw notFound("project");
    await authorize(this.deps.db, principal, project.organizationId, "write", "project");

    const { gitRepo, credential } = this.source(input.gitRepo, input.gitCredential);
    const branch = valid.branch(input.branch);
    const buildSource = {
      rootDirectory: rootDirectory(input.rootDirectory ?? ""),
      dockerfilePath: dockerfilePath(input.dockerfilePath ?? ""),
    };
    const name = this.deploymentName(input.name, gitRepo);
    const vars = valid.envVars(input.envVars ?? {});
    const resources = valid.resources(input.resources ?? { cpuMillicores: 0, memoryMb: 0 });
    const replicas = valid.replicas(input.replicas || 1, this.deps.limits.maxReplicas);
    const customDomain = input.domain ? this.customDomain(input.domain) : undefined;
    await this.fits({
      replicas,
      cpuMillicores: resources.cpuMillicores,
      memoryMb: resources.memoryMb,
      ...(input.strategy ? { strategy: input.strategy } : {}),
    });

    const id = randomUUID();
    const organizationId = project.organizationId;
    try {
      const row = await this.deps.db.transaction(async (tx) => {
        await this.quotas.enforce(tx, organizationId, {
          deployments: 1,
          ...footprintDelta(undefined, this.quotas.footprint({ replicas, ...resources })),
          concurrent_builds: 1,
          domains: customDomain ? 1 : 0,
        });
        if (customDomain) {
          await this.refuseVerifiedElsewhere(tx, customDomain, organizationId);
          // Made now rather than on the first read, so that reading domains never writes.
          await organizationDomainToken(tx, organizationId);
        }
        const [deployment] = await tx
          .insert(deployments)
          .values({
            id,
            organizationId,
            projectId,
            name,
            gitRepo,
            branch,
            ...buildSource,
            replicas,
            cpuMillicores: resources.cpuMillicores,
            memoryMb: resources.memoryMb,
            strategy: input.strategy ?? "",
            statusMessage: "waiting for a builder",
          })
          .returning();
        await this.claimDefaultDomain(tx, { name, projectSlug: project.slug, id, organizationId });
        if (customDomain) {
          await tx
            .insert(domains)
            .values({ domain: customDomain, deploymentId: id, organizationId, status: "pending" });
        }
        await this.writeEnvVars(tx, id, vars);
        if (credential) await writeGitCredential(tx, this.deps.secrets, id, gitRepo, credential);
        await recordAudit(tx, {
          principal,
          organizationId,
          action: "deployment.create",
          resourceType: "deployment",
          resourceId: id,
          details: {
            name,
            gitRepo,
            branch,
            ...buildSource,
            replicas,
            envKeys: Object.keys(vars),
            ...(credential ? { gitCredential: "set" } : {}),
          },
        });
        return deployment;
      });
      if (!row) throw new Error("insert returned no row");
      await this.afterChange(row, "queued", "waiting for a builder");
      return this.withDomains(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        if (constraintOf(error)?.startsWith("domains")) {
          throw alreadyExists(`the domain ${customDomain} is already in use`);
        }
        throw alreadyExists(`a deployment named "${name}" already exists in this project`);
      }
      throw error;
    }
  }

  /** Loads a deployment the caller may act on; NotFound when it is not theirs to see. */
  async load(
    principal: Principal,
    id: string,
    action: "read" | "write",
  ): Promise<typeof deployments.$inferSelect & { role: RoleName }> {
    const deploymentId = valid.uuid("id", id);
    const [row] = await this.deps.db
      .select()
      .from(deployments)
      .where(eq(deployments.id, deploymentId));
    if (!row || row.desiredState === "deleted") throw notFound("deployment");
    const role = await authorize(this.deps.db, principal, row.organizationId, action, "deployment");
    return { ...row, role };
  }

  async get(principal: Principal, id: string): Promise<Deployment> {
    const { role: _role, ...row } = await this.load(principal, id, "read");
    return this.withDomains(row);
  }

  async list(
    principal: Principal,
    filter: { projectId?: string; organizationId?: string },
  ): Promise<Deployment[]> {
    let where: ReturnType<typeof eq>;
    let organizationId: string;
    let key: string;
    if (filter.projectId) {
      const projectId = valid.uuid("project_id", filter.projectId);
      const [project] = await this.deps.db
        .select()
        .from(projects)
        .where(eq(projects.id, projectId));
      if (!project) throw notFound("project");
      await authorize(this.deps.db, principal, project.organizationId, "read", "project");
      where = eq(deployments.projectId, projectId);
      organizationId = project.organizationId;
      key = `deployments:project:${projectId}`;
    } else if (filter.organizationId) {
      organizationId = valid.uuid("organization_id", filter.organizationId);
      await authorize(this.deps.db, principal, organizationId, "read");
      where = eq(deployments.organizationId, organizationId);
      key = "deployments:all";
    } else {
      throw invalidArgument("give project_id or organization_id");
    }
    return cachedForOrganization(this.deps.cache, organizationId, key, async () => {
      const rows = await this.deps.db
        .select()
        .from(deployments)
        .where(
          and(
            where,
            inArray(deployments.desiredState, ["running", "stopped"]),
            isNull(deployments.parentId),
          ),
        )
        .orderBy(asc(deployments.name));
      const all = rows.length
        ? await this.deps.db
            .select()
            .from(domains)
            .where(
              inArray(
                domains.deploymentId,
                rows.map((r) => r.id),
              ),
            )
        : [];
      const credentials = await withCredentials(
        this.deps.db,
        rows.map((r) => r.id),
      );
      return rows.map((r) => ({
        ...r,
        domains: sortDomains(all.filter((d) => d.deploymentId === r.id)),
        hasGitCredential: credentials.has(r.id),
      }));
    });
  }

  async update(
    principal: Principal,
    input: {
      id: string;
      gitRepo?: string | undefined;
      branch?: string | undefined;
      resources?: { cpuMillicores: number; memoryMb: number } | undefined;
      strategy?: Strategy | undefined;
      gitCredential?: GitCredential | undefined;
      rootDirectory?: string | undefined;
      dockerfilePath?: string | undefined;
      previewsEnabled?: boolean | undefined;
      previewBranches?: string | undefined;
    },
  ): Promise<Deployment> {
    const current = await this.load(principal, input.id, "write");
    const changes: Partial<typeof deployments.$inferInsert> = {};
    if (input.previewsEnabled !== undefined || input.previewBranches !== undefined) {
      if (current.parentId !== null) {
        throw failedPrecondition(
          "a preview has no previews of its own: set them on its deployment",
        );
      }
      if (input.previewsEnabled !== undefined) changes.previewsEnabled = input.previewsEnabled;
      if (input.previewBranches !== undefined) {
        changes.previewBranches = valid.branchGlobs(input.previewBranches);
      }
    }
    // undefined: the credential stays; null: it goes; else the new one.
    let credential: GitCredential | null | undefined;
    if (input.gitRepo !== undefined) {
      const source = this.source(input.gitRepo, input.gitCredential);
      changes.gitRepo = source.gitRepo;
      credential = source.credential;
      // A credential is for one origin: a repository moved elsewhere does not take it along.
      if (credential === undefined && originOf(source.gitRepo) !== originOf(current.gitRepo)) {
        credential = null;
      }
    } else if (input.gitCredential !== undefined) {
      credential = checkCredential(input.gitCredential);
      if (credential !== null && originOf(current.gitRepo) === undefined) {
        throw invalidArgument("a git credential is for https repositories only");
      }
    }
    if (input.branch !== undefined) changes.branch = valid.branch(input.branch);
    if (input.rootDirectory !== undefined)
      changes.rootDirectory = rootDirectory(input.rootDirectory);
    if (input.dockerfilePath !== undefined) {
      changes.dockerfilePath = dockerfilePath(input.dockerfilePath);
    }
    if (input.resources !== undefined) {
      const r = valid.resources(input.resources);
      changes.cpuMillicores = r.cpuMillicores;
      changes.memoryMb = r.memoryMb;
    }
    if (input.strategy !== undefined) changes.strategy = input.strategy;
    const gitRepo = changes.gitRepo ?? current.gitRepo;
    const row = await this.change(
      principal,
      current,
      "deployment.update",
      changes,
      {
        ...changes,
        ...(credential === undefined ? {} : { gitCredential: credential ? "replaced" : "removed" }),
      },
      false,
      {
        ...(credential === undefined
          ? {}
          : {
              alsoInTransaction: (tx: Tx) =>
                writeGitCredential(tx, this.deps.secrets, current.id, gitRepo, credential),
            }),
        quota: (fresh) => this.runningDelta(fresh, { ...fresh, ...changes }, false),
      },
    );
    return this.withDomains(row);
  }

  async start(principal: Principal, id: string): Promise<Deployment> {
    const current = await this.load(principal, id, "write");
    const row = await this.change(
      principal,
      current,
      "deployment.start",
      { desiredState: "running" },
      {},
      true,
      { quota: (fresh) => this.runningDelta(fresh, { ...fresh, desiredState: "running" }, true) },
    );
    return this.withDomains(row);
  }

  async stop(principal: Principal, id: string): Promise<Deployment> {
    const current = await this.load(principal, id, "write");
    const row = await this.change(
      principal,
      current,
      "deployment.stop",
      { desiredState: "stopped" },
      {},
      true,
    );
    return this.withDomains(row);
  }

  async restart(principal: Principal, id: string): Promise<Deployment> {
    const current = await this.load(principal, id, "write");
    if (current.desiredState !== "running") {
      throw failedPrecondition("the deployment is stopped: start it instead");
    }
    // A new restart generation renames the containers: the controller replaces them, with the
    // env vars as they are now.
    const row = await this.change(
      principal,
      current,
      "deployment.restart",
      { restartGeneration: current.generation + 1 },
      {},
      true,
    );
    return this.withDomains(row);
  }

  async scale(principal: Principal, id: string, replicas: number): Promise<Deployment> {
    const current = await this.load(principal, id, "write");
    const n = valid.replicas(replicas, this.deps.limits.maxReplicas);
    const row = await this.change(
      principal,
      current,
      "deployment.scale",
      { replicas: n },
      { from: current.replicas, to: n },
      true,
      { quota: (fresh) => this.runningDelta(fresh, { ...fresh, replicas: n }, true) },
    );
    return this.withDomains(row);
  }

  /**
   * Builds the branch's head again; the controller switches traffic once the new build is
   * healthy. A build still under way is cancelled: its commit is no longer the newest.
   */
  async redeploy(principal: Principal, id: string): Promise<Deployment> {
    const current = await this.load(principal, id, "write");
    return this.deployCommit(
      current,
      { commit: "", trigger: "api", reason: "redeploy requested" },
      principal,
    );
  }

  /**
   * Runs an earlier successful build's image again: the one named, or with an empty `buildId`,
   * the last successful build before the current one.
   */
  async rollback(principal: Principal, id: string, buildId: string): Promise<Deployment> {
    const current = await this.load(principal, id, "write");
    const build =
      buildId === "" ? await this.previousBuild(current) : await this.buildOf(current.id, buildId);
    if (build.status !== "succeeded" || build.imageId === "") {
      throw failedPrecondition(
        `build ${build.id} did not succeed, so there is no image to roll back to`,
      );
    }
    const row = await this.change(
      principal,
      current,
      "deployment.rollback",
      {
        desiredState: "running",
        currentBuildId: build.id,
        status: "deploying",
        statusMessage: `rolling back to build ${build.id}`,
      },
      { buildId: build.id },
      true,
      {
        quota: (fresh) =>
          this.runningDelta(
            fresh,
            { ...fresh, desiredState: "running", currentBuildId: build.id },
            true,
          ),
      },
    );
    return this.withDomains(row);
  }

  private async buildOf(deploymentId: string, buildId: string): Promise<Build> {
    const target = valid.uuid("build_id", buildId);
    const [build] = await this.deps.db
      .select()
      .from(builds)
      .where(and(eq(builds.id, target), eq(builds.deploymentId, deploymentId)));
    if (!build) throw notFound("build");
    return build;
  }

  /** The last successful build made before the current one (before any, without a current one). */
  private async previousBuild(current: typeof deployments.$inferSelect): Promise<Build> {
    const [currentBuild] = current.currentBuildId
      ? await this.deps.db.select().from(builds).where(eq(builds.id, current.currentBuildId))
      : [];
    const [build] = await this.deps.db
      .select()
      .from(builds)
      .where(
        and(
          eq(builds.deploymentId, current.id),
          eq(builds.status, "succeeded"),
          ne(builds.imageId, ""),
          ...(currentBuild
            ? [ne(builds.id, currentBuild.id), lt(builds.createdAt, currentBuild.createdAt)]
            : []),
        ),
      )
      .orderBy(desc(builds.createdAt))
      .limit(1);
    if (!build) {
      throw failedPrecondition(
        "there is no successful build before the current one to roll back to",
      );
    }
    return build;
  }

  /**
   * Stops the build under way (running, or about to start). What served before keeps serving:
   * the deployment's current build becomes the one its running containers are of again, and it
   * is RUNNING, its message saying the build was cancelled. With nothing deployed before, it is
   * STOPPED, until a redeploy. The controller running the build is told over the bus; the build's
   * row says 'cancelled' first, so that a controller that has not yet subscribed sees it there.
   */
  async cancelBuild(
    principal: Principal,
    deploymentId: string,
  ): Promise<{ build: Build | undefined; deployment: Deployment }> {
    const current = await this.load(principal, valid.uuid("deployment_id", deploymentId), "write");
    const serving = await this.servingBuild(current.id);
    // Asked for a build that has not started yet (a failed build is not waiting for anything).
    const waiting =
      current.desiredState === "running" &&
      current.currentBuildId === null &&
      (current.status === "queued" || current.status === "building");
    const { row, cancelled } = await this.deps.db.transaction(async (tx) => {
      const stopped = await tx
        .update(builds)
        .set({
          status: "cancelled",
          statusMessage: `cancelled by ${principal.email}`,
          finishedAt: this.deps.now(),
        })
        .where(
          and(eq(builds.deploymentId, current.id), inArray(builds.status, ["queued", "running"])),
        )
        .returning();
      if (stopped.length === 0 && !waiting) {
        throw failedPrecondition("no build of this deployment is under way: nothing to cancel");
      }
      const which = stopped[0] ? `build ${stopped[0].id.slice(0, 8)}` : "the build";
      const [updated] = await tx
        .update(deployments)
        .set({
          ...(serving
            ? {
                currentBuildId: serving.id,
                status: "running" as const,
                statusMessage: `${which} was cancelled; build ${shortBuild(serving)} keeps serving`,
              }
            : {
                desiredState: "stopped" as const,
                status: "stopped" as const,
                statusMessage: `${which} was cancelled before anything was deployed: redeploy to build again`,
              }),
          generation: current.generation + 1,
          updatedAt: this.deps.now(),
        })
        .where(eq(deployments.id, current.id))
        .returning();
      await recordAudit(tx, {
        principal,
        organizationId: current.organizationId,
        action: "build.cancel",
        resourceType: "deployment",
        resourceId: current.id,
        details: { buildIds: stopped.map((b) => b.id), servingBuildId: serving?.id ?? null },
      });
      return { row: updated, cancelled: stopped };
    });
    if (!row) throw notFound("deployment");
    // Nothing to converge: what runs is what the deployment now wants.
    await this.afterChange(row, row.status, row.statusMessage, false);
    for (const build of cancelled) {
      await this.deps.bus.publish(buildCancelChannel(build.id), { cancel: true });
    }
    return { build: cancelled[0], deployment: await this.withDomains(row) };
  }

  /** The latest successful build the deployment's recorded containers run, if any. */
  private async servingBuild(deploymentId: string): Promise<Build | undefined> {
    const running = await this.deps.db
      .selectDistinct({ buildId: deploymentLocations.buildId })
      .from(deploymentLocations)
      .where(eq(deploymentLocations.deploymentId, deploymentId));
    const ids = running.flatMap((r) => (r.buildId ? [r.buildId] : []));
    if (ids.length === 0) return undefined;
    const [build] = await this.deps.db
      .select()
      .from(builds)
      .where(and(inArray(builds.id, ids), eq(builds.status, "succeeded")))
      .orderBy(desc(builds.createdAt))
      .limit(1);
    return build;
  }

  /**
   * Marks the deployment for deletion; the controller removes its containers, routes and
   * records. A deployment that never ran anything is removed at once.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    const current = await this.load(principal, id, "write");
    await this.deleteRow(principal, current);
    // A deployment's previews go with it.
    const previews = await this.deps.db
      .select()
      .from(deployments)
      .where(and(eq(deployments.parentId, current.id), ne(deployments.desiredState, "deleted")));
    for (const preview of previews) await this.deleteRow(principal, preview);
  }

  /** Deletes a deployment: at once when nothing of it runs, else through the controller. */
  private async deleteRow(
    principal: Principal | undefined,
    current: typeof deployments.$inferSelect,
  ): Promise<void> {
    const locations = await this.deps.db
      .select({ id: deploymentLocations.id })
      .from(deploymentLocations)
      .where(eq(deploymentLocations.deploymentId, current.id));
    // Images of earlier builds are the controller's to remove, like containers.
    const images = await this.deps.db
      .select({ id: builds.id })
      .from(builds)
      .where(and(eq(builds.deploymentId, current.id), ne(builds.imageId, "")));
    if (locations.length === 0 && images.length === 0) {
      await this.deps.db.transaction(async (tx) => {
        await tx.delete(deployments).where(eq(deployments.id, current.id));
        await recordAudit(tx, {
          principal,
          organizationId: current.organizationId,
          action: "deployment.delete",
          resourceType: "deployment",
          resourceId: current.id,
        });
      });
      await invalidateOrganization(this.deps.cache, current.organizationId);
      await this.publish({ ...current, status: "deleting", statusMessage: "deleted" });
      return;
    }
    await this.change(
      principal,
      current,
      "deployment.delete",
      {
        desiredState: "deleted",
        status: "deleting",
        statusMessage: "removing containers and routes",
      },
      {},
      true,
    );
  }

  /**
   * The deployment's status and where its replicas run. A node's address and a replica's host
   * port are the platform's network, not the tenant's: platform administrators see them, members
   * see the node and the container only (as for nodes: docs/security-api.md).
   */
  async status(principal: Principal, id: string) {
    const current = await this.load(principal, id, "read");
    const rows = await this.deps.db
      .select()
      .from(deploymentLocations)
      .where(eq(deploymentLocations.deploymentId, current.id))
      .orderBy(asc(deploymentLocations.replica));
    const locations = principal.platformAdmin
      ? rows
      : rows.map((row) => ({ ...row, address: "", port: 0 }));
    return { deployment: current, locations };
  }

  /**
   * The current status, then every change, until `signal` aborts. Subscribes before reading
   * the current status, so that no change between the two is lost.
   */
  async *watchStatus(
    principal: Principal,
    id: string,
    signal: AbortSignal,
  ): AsyncGenerator<StatusEvent> {
    const current = await this.load(principal, id, "read");
    const queue: StatusEvent[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = await this.deps.bus.subscribe(statusChannel(current.id), (message) => {
      queue.push(message as StatusEvent);
      if (queue.length > 100) queue.shift(); // a slow reader sees the latest changes
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      const fresh = await this.load(principal, id, "read");
      yield toEvent(fresh);
      while (!signal.aborted) {
        const next = queue.shift();
        if (next) {
          yield next;
          if (next.status === "deleting" && next.message === "deleted") return;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      await unsubscribe();
    }
  }

  /** A deployment's own variables, or (scope "preview") those only its previews get. */
  async listEnvVars(principal: Principal, deploymentId: string, scope: EnvScope = "deployment") {
    const current = await this.load(principal, deploymentId, "read");
    const { table, aad } = envTable(scope);
    const rows = await this.deps.db
      .select()
      .from(table)
      .where(eq(table.deploymentId, current.id))
      .orderBy(asc(table.key));
    // Viewers see which keys exist, never the values.
    const reveal = allows(current.role, "write");
    return rows.map((r) => ({
      key: r.key,
      value: reveal ? this.deps.secrets.decrypt(r.valueEncrypted, aad(current.id, r.key)) : "",
    }));
  }

  /** Decrypted env vars for the runtime; no principal: the controller's own use. */
  envFor(deploymentId: string): Promise<Record<string, string>> {
    return deploymentEnv(this.deps.db, this.deps.secrets, deploymentId);
  }

  async setEnvVars(
    principal: Principal,
    deploymentId: string,
    vars: Record<string, string>,
    scope: EnvScope = "deployment",
  ) {
    const current = await this.load(principal, deploymentId, "write");
    if (scope === "preview") this.refusePreview(current);
    const checked = valid.envVars(vars);
    if (Object.keys(checked).length === 0) throw invalidArgument("env_vars must not be empty");
    const { table } = envTable(scope);
    await this.deps.db.transaction(async (tx) => {
      await this.writeEnvVars(tx, current.id, checked, scope);
      const keys = await tx
        .select({ key: table.key })
        .from(table)
        .where(eq(table.deploymentId, current.id));
      if (keys.length > valid.MAX_ENV_VARS)
        throw invalidArgument(`at most ${valid.MAX_ENV_VARS} env vars`);
      await recordAudit(tx, {
        principal,
        organizationId: current.organizationId,
        action: scope === "preview" ? "preview_env_vars.set" : "env_vars.set",
        resourceType: "deployment",
        resourceId: current.id,
        details: { keys: Object.keys(checked) }, // never the values
      });
    });
    await invalidateOrganization(this.deps.cache, current.organizationId);
    return this.listEnvVars(principal, deploymentId, scope);
  }

  async deleteEnvVar(
    principal: Principal,
    deploymentId: string,
    key: string,
    scope: EnvScope = "deployment",
  ): Promise<void> {
    const current = await this.load(principal, deploymentId, "write");
    const k = valid.envKey(key);
    const { table } = envTable(scope);
    await this.deps.db.transaction(async (tx) => {
      const removed = await tx
        .delete(table)
        .where(and(eq(table.deploymentId, current.id), eq(table.key, k)))
        .returning({ key: table.key });
      if (removed.length === 0) throw notFound(`env var ${k}`);
      await recordAudit(tx, {
        principal,
        organizationId: current.organizationId,
        action: scope === "preview" ? "preview_env_vars.delete" : "env_vars.delete",
        resourceType: "deployment",
        resourceId: current.id,
        details: { key: k },
      });
    });
    await invalidateOrganization(this.deps.cache, current.organizationId);
  }

  async listDomains(principal: Principal, deploymentId: string): Promise<DomainView[]> {
    const current = await this.load(principal, deploymentId, "read");
    const rows = await this.deps.db
      .select()
      .from(domains)
      .where(eq(domains.deploymentId, current.id))
      .orderBy(desc(domains.isDefault), asc(domains.domain));
    return this.withInstructions(current.organizationId, rows);
  }

  /**
   * Adds a custom domain, pending until its organization proves it owns it (verifyDomain). A
   * domain another organization verified is refused; one another organization only claimed is
   * not (a claim proves nothing): the first to verify it has it.
   */
  async addDomain(principal: Principal, deploymentId: string, domain: string): Promise<DomainView> {
    const current = await this.load(principal, deploymentId, "write");
    if (current.parentId !== null) {
      throw failedPrecondition(
        "a preview answers on its preview URL only: add domains to its deployment",
      );
    }
    const d = this.customDomain(domain);
    try {
      const [row] = await this.deps.db.transaction(async (tx) => {
        await this.quotas.enforce(tx, current.organizationId, { domains: 1 });
        await this.refuseVerifiedElsewhere(tx, d, current.organizationId);
        await organizationDomainToken(tx, current.organizationId);
        const inserted = await tx
          .insert(domains)
          .values({
            domain: d,
            deploymentId: current.id,
            organizationId: current.organizationId,
            status: "pending",
          })
          .returning();
        await recordAudit(tx, {
          principal,
          organizationId: current.organizationId,
          action: "domain.add",
          resourceType: "deployment",
          resourceId: current.id,
          details: { domain: d },
        });
        return inserted;
      });
      await invalidateOrganization(this.deps.cache, current.organizationId);
      if (!row) throw new Error("insert returned no row");
      const [view] = await this.withInstructions(current.organizationId, [row]);
      return view ?? row;
    } catch (error) {
      // The same message whoever owns the domain: which organization has it is not revealed.
      if (isUniqueViolation(error)) throw alreadyExists(`the domain ${d} is already in use`);
      throw error;
    }
  }

  /**
   * Looks the domain's TXT record up now. Found, the domain is verified and routed; another
   * organization's verified domain is AlreadyExists; a missing record is FailedPrecondition
   * saying what to add; a lookup that fails is Unavailable. Nothing changes but the last
   * check's message when it is not verified.
   */
  async verifyDomain(
    principal: Principal,
    deploymentId: string,
    domain: string,
  ): Promise<DomainView> {
    const current = await this.load(principal, deploymentId, "write");
    const d = valid.domain(domain);
    const mine = and(eq(domains.domain, d), eq(domains.organizationId, current.organizationId));
    const [row] = await this.deps.db
      .select()
      .from(domains)
      .where(and(mine, eq(domains.deploymentId, current.id)));
    if (!row) throw notFound(`domain ${d} on this deployment`);
    if (row.isDefault) return row;
    const token = await organizationDomainToken(this.deps.db, current.organizationId);
    const verdict = judge(await this.dns.lookup(challengeRecordName(d)), d, token);
    const now = this.deps.now();
    if (!verdict.ok) {
      const how = domainInstructions(d, token);
      // A verified domain keeps its status and message: the daily re-check, with its grace
      // period, decides when a missing record stops it being served.
      if (row.status !== "verified") {
        await this.deps.db
          .update(domains)
          .set({ statusMessage: `not verified on ${now.toISOString()}: ${verdict.message}` })
          .where(mine);
      }
      if (!verdict.definite) {
        throw unavailable(`${d} could not be verified: ${verdict.message}; try again later`);
      }
      throw failedPrecondition(
        `${d} is not verified: ${verdict.message}. Add a TXT record ${how.recordName} with the value "${how.recordValue}", wait until it is visible in DNS, then verify again`,
      );
    }
    let verified: DomainRow | undefined;
    try {
      verified = await this.deps.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(domains)
          .set({
            status: "verified",
            verifiedAt: row.status === "verified" ? (row.verifiedAt ?? now) : now,
            checkedAt: now,
            failingSince: null,
            statusMessage: `ownership confirmed by its TXT record on ${now.toISOString()}`,
          })
          .where(mine)
          .returning();
        if (row.status !== "verified") {
          await recordAudit(tx, {
            principal,
            organizationId: current.organizationId,
            action: "domain.verify",
            resourceType: "deployment",
            resourceId: current.id,
            details: { domain: d },
          });
        }
        return updated;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw alreadyExists(
          `the domain ${d} is already in use: another organization verified it first`,
        );
      }
      throw error;
    }
    if (!verified) throw notFound(`domain ${d} on this deployment`);
    await invalidateOrganization(this.deps.cache, current.organizationId);
    // The controller writes the route of a newly verified domain.
    if (row.status !== "verified") await this.wake(current.id, current.generation);
    const [view] = await this.withInstructions(current.organizationId, [verified]);
    return view ?? verified;
  }

  async removeDomain(principal: Principal, deploymentId: string, domain: string): Promise<void> {
    const current = await this.load(principal, deploymentId, "write");
    const d = valid.domain(domain);
    await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(domains)
        .where(and(eq(domains.domain, d), eq(domains.deploymentId, current.id)));
      if (!row) throw notFound(`domain ${d} on this deployment`);
      if (row.isDefault)
        throw failedPrecondition("the platform's default domain cannot be removed");
      // Only this deployment's claim and route: another organization may claim the same name.
      await tx
        .delete(domains)
        .where(and(eq(domains.domain, d), eq(domains.deploymentId, current.id)));
      await tx
        .delete(deploymentRouting)
        .where(
          and(eq(deploymentRouting.domain, d), eq(deploymentRouting.deploymentId, current.id)),
        );
      await recordAudit(tx, {
        principal,
        organizationId: current.organizationId,
        action: "domain.remove",
        resourceType: "deployment",
        resourceId: current.id,
        details: { domain: d },
      });
    });
    await invalidateOrganization(this.deps.cache, current.organizationId);
    await this.wake(current.id, current.generation);
  }

  async listBuilds(principal: Principal, deploymentId: string): Promise<Build[]> {
    const current = await this.load(principal, deploymentId, "read");
    return this.deps.db
      .select()
      .from(builds)
      .where(eq(builds.deploymentId, current.id))
      .orderBy(desc(builds.createdAt))
      .limit(100);
  }

  /**
   * A build's log: the lines stored so far, then live lines until the build ends or `signal`
   * aborts. Subscribes before reading the stored lines, so that none falls in between.
   */
  async *watchBuildLogs(
    principal: Principal,
    buildId: string,
    signal: AbortSignal,
  ): AsyncGenerator<{ line: string; at: Date }> {
    const id = valid.uuid("build_id", buildId);
    const [build] = await this.deps.db.select().from(builds).where(eq(builds.id, id));
    if (!build) throw notFound("build");
    const deployment = await this.load(principal, build.deploymentId, "read").catch(() => {
      throw notFound("build");
    });
    const lease = await this.quotas.openStream(deployment.organizationId, "build-logs");
    const live = await subscribeIterable(this.deps.bus, buildLogChannel(id), {
      signal,
      bufferSize: 10_000,
    }).catch(async (error: unknown) => {
      await lease.close();
      throw error;
    });
    try {
      const [current] = await this.deps.db.select().from(builds).where(eq(builds.id, id));
      const stored = (current?.logs ?? "").split("\n").filter((l) => l.length > 0);
      const at = current?.createdAt ?? this.deps.now();
      for (const line of stored) yield { line, at };
      if (!current || ["succeeded", "failed", "cancelled"].includes(current.status)) return;
      let skip = stored.length; // live lines already stored are not repeated
      for await (const message of live) {
        const m = message as { line?: string; at?: string; done?: boolean };
        if (m.done) return;
        if (typeof m.line !== "string") continue;
        if (skip > 0 && stored.includes(m.line)) {
          skip--;
          continue;
        }
        yield { line: m.line, at: m.at ? new Date(m.at) : this.deps.now() };
      }
    } finally {
      await live.close();
      await lease.close();
    }
  }

  /**
   * Applies a change of desired state: bumps the generation, audits, publishes, wakes the
   * controller. With `options.quota`, the organization's quotas are checked first in the same
   * transaction, against the deployment as it is once the organization is locked.
   */
  // The git loop (webhooks.ts): pushes, deploy hooks and previews act for no signed-in user;
  // their caller proved a secret of the project or deployment instead.

  /**
   * Builds and deploys a commit of the deployment's branch ("" for its head): a redeploy, a push
   * or a deploy hook. A build still under way is cancelled first: what it would deploy is
   * replaced at once.
   */
  async deployCommit(
    current: typeof deployments.$inferSelect,
    request: { commit: string; trigger: BuildTrigger; reason: string },
    principal?: Principal,
  ): Promise<Deployment> {
    const superseded: string[] = [];
    const row = await this.change(
      principal,
      current,
      principal ? "deployment.redeploy" : `deployment.${request.trigger}`,
      {
        desiredState: "running",
        currentBuildId: null,
        wantedCommit: request.commit,
        buildTrigger: request.trigger,
        status: "queued",
        statusMessage: request.reason,
        ...(current.parentId === null ? {} : { lastPushAt: this.deps.now() }),
      },
      { commit: request.commit, reason: request.reason },
      true,
      {
        quota: (fresh) =>
          this.runningDelta(
            fresh,
            { ...fresh, desiredState: "running", currentBuildId: null },
            true,
          ),
        alsoInTransaction: async (tx) => {
          const cancelled = await tx
            .update(builds)
            .set({
              status: "cancelled",
              statusMessage: `superseded: ${request.reason}`,
              finishedAt: this.deps.now(),
            })
            .where(
              and(
                eq(builds.deploymentId, current.id),
                inArray(builds.status, ["queued", "running"]),
              ),
            )
            .returning({ id: builds.id });
          superseded.push(...cancelled.map((build) => build.id));
        },
      },
    );
    // The controller building one of them stops it (build-step.ts listens on this channel).
    for (const id of superseded) {
      await this.deps.bus.publish(buildCancelChannel(id), { cancel: true });
    }
    return this.withDomains(row);
  }

  /**
   * The preview of a branch of `parent`: deployed again at `commit` when it exists, else made,
   * with its own default domain `<branch-slug>--<deployment>.<PLATFORM_DOMAIN>`, one replica and
   * the smaller of the deployment's resources and the preview defaults. It counts against the
   * organization's quotas like any deployment.
   */
  async upsertPreview(
    parent: typeof deployments.$inferSelect,
    request: { branch: string; commit: string; pullRequest?: number; trigger: BuildTrigger },
  ): Promise<{ deployment: Deployment; created: boolean }> {
    const branch = valid.branch(request.branch);
    const short = request.commit.slice(0, 7);
    const reason = `${request.trigger === "pull_request" ? `pull request #${request.pullRequest}` : "push"} of ${short || "the head"} to ${branch}`;
    const [existing] = await this.deps.db
      .select()
      .from(deployments)
      .where(and(eq(deployments.parentId, parent.id), eq(deployments.branch, branch)));
    if (existing?.desiredState === "deleted") {
      throw failedPrecondition(
        `the preview of ${branch} is being removed: push again once it is gone`,
      );
    }
    if (existing) {
      if (request.pullRequest !== undefined && existing.pullRequest !== request.pullRequest) {
        await this.deps.db
          .update(deployments)
          .set({ pullRequest: request.pullRequest })
          .where(eq(deployments.id, existing.id));
        existing.pullRequest = request.pullRequest;
      }
      return {
        deployment: await this.deployCommit(existing, {
          commit: request.commit,
          trigger: request.trigger,
          reason,
        }),
        created: false,
      };
    }

    const { previews, platformDomain } = this.deps;
    const smaller = (own: number, preview: number) => (own > 0 ? Math.min(own, preview) : preview);
    const resources = {
      cpuMillicores: smaller(parent.cpuMillicores, previews.cpuMillicores),
      memoryMb: smaller(parent.memoryMb, previews.memoryMb),
    };
    const label = previewLabel(branch, parent.name);
    const domain = `${label}.${platformDomain}`;
    const id = randomUUID();
    const now = this.deps.now();
    try {
      const row = await this.deps.db.transaction(async (tx) => {
        await this.quotas.enforce(tx, parent.organizationId, {
          deployments: 1,
          ...footprintDelta(undefined, this.quotas.footprint({ replicas: 1, ...resources })),
          // Its default domain is the platform's, like any deployment's: not a custom domain.
          concurrent_builds: 1,
        });
        const [created] = await tx
          .insert(deployments)
          .values({
            id,
            organizationId: parent.organizationId,
            projectId: parent.projectId,
            name: label,
            gitRepo: parent.gitRepo,
            branch,
            rootDirectory: parent.rootDirectory,
            dockerfilePath: parent.dockerfilePath,
            replicas: 1,
            ...resources,
            strategy: parent.strategy,
            parentId: parent.id,
            pullRequest: request.pullRequest ?? null,
            lastPushAt: now,
            wantedCommit: request.commit,
            buildTrigger: request.trigger,
            statusMessage: reason,
          })
          .returning();
        await tx.insert(domains).values({
          domain,
          deploymentId: id,
          organizationId: parent.organizationId,
          isDefault: true,
          status: "verified",
        });
        await recordAudit(tx, {
          principal: undefined,
          organizationId: parent.organizationId,
          action: "preview.create",
          resourceType: "deployment",
          resourceId: id,
          details: { parent: parent.id, branch, commit: request.commit, domain },
        });
        return created;
      });
      if (!row) throw new Error("insert returned no row");
      await this.afterChange(row, "queued", reason);
      return { deployment: await this.withDomains(row), created: true };
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw alreadyExists(
          `the preview name ${label} (${domain}) is taken by another deployment or domain`,
        );
      }
      throw error;
    }
  }

  /** Removes a preview (its pull request closed, its branch deleted, or it sat idle). */
  async removePreview(preview: typeof deployments.$inferSelect): Promise<void> {
    if (preview.parentId === null) throw failedPrecondition("this deployment is not a preview");
    await this.deleteRow(undefined, preview);
  }

  /** A deployment's previews, newest push first. */
  async previews(principal: Principal, deploymentId: string): Promise<Deployment[]> {
    const parent = await this.load(principal, deploymentId, "read");
    const rows = await this.deps.db
      .select()
      .from(deployments)
      .where(
        and(
          eq(deployments.parentId, parent.id),
          inArray(deployments.desiredState, ["running", "stopped"]),
        ),
      )
      .orderBy(desc(deployments.lastPushAt));
    return Promise.all(rows.map((row) => this.withDomains(row)));
  }

  /** Removes the previews no push has touched for PREVIEW_TTL_HOURS; returns how many. */
  async expireIdlePreviews(): Promise<number> {
    const cutoff = new Date(this.deps.now().getTime() - this.deps.previews.ttlHours * 3_600_000);
    const idle = await this.deps.db
      .select()
      .from(deployments)
      .where(
        and(
          isNotNull(deployments.parentId),
          ne(deployments.desiredState, "deleted"),
          lt(deployments.lastPushAt, cutoff),
        ),
      );
    for (const preview of idle) await this.removePreview(preview);
    return idle.length;
  }

  /** Previews are made by pushes: they have no previews, variables or domains of their own to set. */
  private refusePreview(current: typeof deployments.$inferSelect) {
    if (current.parentId !== null) {
      throw failedPrecondition(
        "this is a preview: set preview variables on its deployment, which all its previews share",
      );
    }
  }

  private async change(
    principal: Principal | undefined,
    current: typeof deployments.$inferSelect,
    action: string,
    changes: Partial<typeof deployments.$inferInsert>,
    details: Record<string, unknown>,
    converge = false,
    options: {
      /** More writes of the change, in its transaction. */
      alsoInTransaction?: (tx: Tx) => Promise<void>;
      /** What the change adds to the organization's use, from the deployment as locked. */
      quota?: (fresh: typeof deployments.$inferSelect) => QuotaDelta;
    } = {},
  ) {
    const { alsoInTransaction, quota } = options;
    const generation = current.generation + 1;
    const status: DeploymentStatusName =
      changes.status ?? (converge ? nextStatus(changes, current) : current.status);
    const statusMessage =
      changes.statusMessage ??
      (status === current.status ? current.statusMessage : "change requested");
    const row = await this.deps.db.transaction(async (tx) => {
      if (quota) {
        await this.quotas.enforce(tx, current.organizationId, async () => {
          const [fresh] = await tx.select().from(deployments).where(eq(deployments.id, current.id));
          return fresh ? quota(fresh) : {};
        });
      }
      const [updated] = await tx
        .update(deployments)
        .set({ ...changes, status, statusMessage, generation, updatedAt: this.deps.now() })
        .where(eq(deployments.id, current.id))
        .returning();
      await alsoInTransaction?.(tx);
      await recordAudit(tx, {
        principal,
        organizationId: current.organizationId,
        action,
        resourceType: "deployment",
        resourceId: current.id,
        details,
      });
      return updated;
    });
    if (!row) throw notFound("deployment");
    await this.afterChange(row, status, statusMessage, converge);
    return row;
  }

  private async afterChange(
    row: typeof deployments.$inferSelect,
    status: DeploymentStatusName,
    message: string,
    converge = true,
  ) {
    await invalidateOrganization(this.deps.cache, row.organizationId);
    await this.publish({ ...row, status, statusMessage: message });
    if (converge) await this.wake(row.id, row.generation);
  }

  /** Wakes the controller. The job id makes repeated wake-ups for one generation one job. */
  private async wake(deploymentId: string, generation: number) {
    await this.deps.queue.enqueue(
      DEPLOY_JOB,
      { deploymentId, generation },
      { jobId: deployJobId(deploymentId, generation) },
    );
  }

  private async publish(row: typeof deployments.$inferSelect) {
    await this.deps.bus.publish(statusChannel(row.id), toEvent(row));
  }

  private async withDomains(row: typeof deployments.$inferSelect): Promise<Deployment> {
    const rows = await this.deps.db.select().from(domains).where(eq(domains.deploymentId, row.id));
    const credentials = await withCredentials(this.deps.db, [row.id]);
    return { ...row, domains: sortDomains(rows), hasGitCredential: credentials.has(row.id) };
  }

  /** The repository URL to store (never with a credential) and the credential given, if any. */
  private source(
    url: string,
    explicit: GitCredential | undefined,
  ): { gitRepo: string; credential?: GitCredential | null } {
    const checked = valid.gitRepo(url, { allowFile: this.deps.gitAllowFile });
    const { url: gitRepo, credential: inUrl } = splitCredential(checked);
    if (inUrl !== undefined && explicit !== undefined) {
      throw invalidArgument(
        "give the git credential either in git_repo or in git_credential, not both",
      );
    }
    const given = inUrl ?? explicit;
    if (given === undefined) return { gitRepo };
    const credential = checkCredential(given);
    if (credential !== null && originOf(gitRepo) === undefined) {
      throw invalidArgument("a git credential is for https repositories only");
    }
    return { gitRepo, credential };
  }

  private async writeEnvVars(
    tx: Tx,
    deploymentId: string,
    vars: Record<string, string>,
    scope: EnvScope = "deployment",
  ) {
    const { table, aad } = envTable(scope);
    for (const [key, value] of Object.entries(vars)) {
      const valueEncrypted = this.deps.secrets.encrypt(value, aad(deploymentId, key));
      await tx
        .insert(table)
        .values({ deploymentId, key, valueEncrypted })
        .onConflictDoUpdate({
          target: [table.deploymentId, table.key],
          set: { valueEncrypted, updatedAt: this.deps.now() },
        });
    }
  }

  private deploymentName(name: string | undefined, gitRepo: string): string {
    if (name) return valid.slug("name", name);
    const last = gitRepo.replace(/\/+$/, "").split(/[/:]/).pop() ?? "";
    return valid.slugify(last.replace(/\.git$/, "")) || "app";
  }

  /**
   * A custom domain: valid, not under the platform's domain, whose names the platform assigns,
   * and not one of the platform's own hosts (RESERVED_NAMES, the sign-in and dashboard hosts).
   */
  private customDomain(domain: string): string {
    const d = valid.domain(domain);
    const platform = this.deps.platformDomain;
    if (d === platform || d.endsWith(`.${platform}`)) {
      throw invalidArgument(
        `${d} is under the platform's domain ${platform}, whose names the platform assigns; use a domain of your own`,
      );
    }
    if (isReservedHost(this.deps.reserved, d)) {
      throw invalidArgument(
        `${d} is one of the platform's own hosts and cannot be a custom domain`,
      );
    }
    return d;
  }

  /** AlreadyExists when another organization has the domain verified. */
  private async refuseVerifiedElsewhere(tx: Tx, domain: string, organizationId: string) {
    const [taken] = await tx
      .select({ organizationId: domains.organizationId })
      .from(domains)
      .where(and(eq(domains.domain, domain), eq(domains.status, "verified")));
    if (taken && taken.organizationId !== organizationId) {
      throw alreadyExists(`the domain ${domain} is already in use`);
    }
  }

  /**
   * What a change of a deployment adds to its organization's use: its footprint while it should
   * run (before and after), and a build when a change that wakes the controller leaves it to
   * run with no build (the controller builds it then).
   */
  private runningDelta(
    before: typeof deployments.$inferSelect,
    after: Pick<
      typeof deployments.$inferSelect,
      "desiredState" | "replicas" | "cpuMillicores" | "memoryMb" | "currentBuildId"
    >,
    converge: boolean,
  ): QuotaDelta {
    const counted =
      before.desiredState === "running" &&
      before.currentBuildId === null &&
      (before.status === "queued" || before.status === "building");
    const builds = converge
      ? after.desiredState === "running" && after.currentBuildId === null
      : counted;
    return {
      ...footprintDelta(
        before.desiredState === "running" ? this.quotas.footprint(before) : undefined,
        after.desiredState === "running" ? this.quotas.footprint(after) : undefined,
      ),
      concurrent_builds: Number(builds) - Number(counted),
    };
  }

  /** Adds the DNS record that proves ownership to each custom domain. */
  private async withInstructions(organizationId: string, rows: DomainRow[]): Promise<DomainView[]> {
    if (!rows.some((r) => !r.isDefault)) return rows;
    const token = await organizationDomainToken(this.deps.db, organizationId);
    return rows.map((r) =>
      r.isDefault ? r : { ...r, verification: domainInstructions(r.domain, token) },
    );
  }

  /**
   * Inserts the default domain: `<name>.<platform domain>`, else with the project's slug, else
   * with a random suffix, whichever is free. Each candidate is inserted with ON CONFLICT DO
   * NOTHING rather than checked first, so that two deployments created at once with the same
   * name cannot both pick the same one (one would fail on the primary key, and be reported as a
   * conflict of the custom domain).
   */
  private async claimDefaultDomain(
    tx: Tx,
    d: { name: string; projectSlug: string; id: string; organizationId: string },
  ): Promise<string> {
    const platform = this.deps.platformDomain;
    // A DNS label is at most 63 characters.
    const label = (text: string) => text.slice(0, 63).replace(/-+$/, "");
    const candidates = [
      d.name,
      label(`${d.name}-${d.projectSlug}`),
      label(`${d.name.slice(0, 54)}-${randomUUID().slice(0, 8)}`),
      label(`${d.name.slice(0, 30)}-${randomUUID()}`),
    ];
    for (const candidate of candidates) {
      // The platform's own names (login, api, www, …) are never a deployment's.
      if (isReservedLabel(this.deps.reserved, candidate)) continue;
      const domain = `${candidate}.${platform}`;
      const inserted = await tx
        .insert(domains)
        .values({
          domain,
          deploymentId: d.id,
          organizationId: d.organizationId,
          isDefault: true,
          status: "verified",
        })
        .onConflictDoNothing()
        .returning({ domain: domains.domain });
      if (inserted.length > 0) return domain;
    }
    throw new Error("no free default domain after four tries");
  }
}

/** A build as people tell builds apart: its commit, else its id. */
const shortBuild = (build: Build) => build.commitSha.slice(0, 7) || build.id.slice(0, 8);

function sortDomains(rows: Array<typeof domains.$inferSelect>): string[] {
  return rows
    .sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.domain.localeCompare(b.domain))
    .map((d) => d.domain);
}

function nextStatus(
  changes: Partial<typeof deployments.$inferInsert>,
  current: typeof deployments.$inferSelect,
): DeploymentStatusName {
  const desired = changes.desiredState ?? current.desiredState;
  if (desired === "deleted") return "deleting";
  if (desired === "stopped") return current.status === "stopped" ? "stopped" : current.status;
  return current.status === "running"
    ? "deploying"
    : current.status === "failed" || current.status === "stopped"
      ? "queued"
      : current.status;
}

function toEvent(row: typeof deployments.$inferSelect): StatusEvent {
  return {
    deploymentId: row.id,
    organizationId: row.organizationId,
    status: row.status,
    message: row.statusMessage,
    at: row.updatedAt.toISOString(),
  };
}
