/**
 * PlanBuild: how a repository would be built, before anything is built. The branch is cloned
 * with the builder's own clone code, rules and limits, into a work folder of its own, and read by
 * the builder's own detection: what is shown is what a build does. Planning costs a clone, so it
 * takes the role that may deploy (write), and a process runs only a few at once.
 */
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { authorize } from "../access/index.js";
import type { Principal } from "../auth/index.js";
import {
  type BuildPlan,
  type DetectOptions,
  dockerfilePath,
  planRepository,
  rootDirectory,
} from "../builder/index.js";
import type { Config } from "../config/index.js";
import type { SecretBox } from "../crypto/index.js";
import { notFound, resourceExhausted, validation as valid } from "../domain/index.js";
import { isSshRemote, readDeployKey } from "../projects/index.js";
import { type Db, deployments, projects } from "../store/index.js";
import {
  checkCredential,
  type GitCredential,
  readGitCredential,
  splitCredential,
} from "./git-credentials.js";

export interface PlanBuildInput {
  deploymentId?: string | undefined;
  projectId?: string | undefined;
  gitRepo?: string | undefined;
  branch?: string | undefined;
  rootDirectory?: string | undefined;
  dockerfilePath?: string | undefined;
  gitCredential?: GitCredential | undefined;
}

/** Plans one process clones at once; more are refused until one ends. */
const MAX_CONCURRENT_PLANS = 2;

/** The base images and the CA bundle generated Dockerfiles use, from the configuration. */
export function detectOptionsOf(config: Config): DetectOptions {
  return {
    nodeImage: config.NODE_BASE_IMAGE,
    nodeMajor: config.NODE_DEFAULT_MAJOR,
    staticImage: config.STATIC_BASE_IMAGE,
    pythonImage: config.PYTHON_BASE_IMAGE,
    goImage: config.GO_BASE_IMAGE,
    goRuntimeImage: config.GO_RUNTIME_IMAGE,
    bunImage: config.BUN_BASE_IMAGE,
    caBundle: config.BUILD_CA_BUNDLE !== undefined,
  };
}

/**
 * What BuildPlanService uses: the database, the secret box that opens git credentials and deploy
 * keys, and the build's own settings, so that a plan clones and detects as a build would.
 */
export interface BuildPlanServiceDeps {
  readonly db: Db;
  readonly secrets: SecretBox;
  /** GIT_ALLOW_FILE: whether file:// repositories are accepted. */
  readonly gitAllowFile: boolean;
  /** DATA_DIR, resolved: plans clone under its `plans` folder, with its ssh/known_hosts. */
  readonly dataDir: string;
  /** A build's clone limits (BUILD_TIMEOUT_SECONDS, BUILD_MAX_REPO_MB and _DISK_MB, _FILES). */
  readonly cloneLimits: {
    readonly timeoutMs: number;
    readonly maxRepoBytes: number;
    readonly maxRepoFiles: number;
  };
  /** The base images and CA bundle generated Dockerfiles use (detectOptionsOf). */
  readonly images: DetectOptions;
}

export class BuildPlanService {
  private running = 0;

  constructor(private readonly deps: BuildPlanServiceDeps) {}

  async plan(
    principal: Principal,
    input: PlanBuildInput,
    signal?: AbortSignal,
  ): Promise<{ plan: BuildPlan; commitSha: string }> {
    const { db, secrets, dataDir } = this.deps;
    const allowFile = this.deps.gitAllowFile;
    let repo: string;
    let branch: string;
    let credential: GitCredential | null | undefined;
    let root: string;
    let dockerfile: string;
    let projectId: string;
    if (input.deploymentId) {
      const id = valid.uuid("deployment_id", input.deploymentId);
      const [row] = await db.select().from(deployments).where(eq(deployments.id, id));
      if (!row || row.desiredState === "deleted") throw notFound("deployment");
      await authorize(db, principal, row.organizationId, "write", "deployment");
      repo = row.gitRepo;
      projectId = row.projectId;
      branch = valid.branch(input.branch || row.branch);
      root = rootDirectory(input.rootDirectory ?? row.rootDirectory);
      dockerfile = dockerfilePath(input.dockerfilePath ?? row.dockerfilePath);
      credential =
        input.gitCredential === undefined
          ? await readGitCredential(db, secrets, row.id, row.gitRepo)
          : checkCredential(input.gitCredential);
    } else {
      projectId = valid.uuid("project_id", input.projectId ?? "");
      const [project] = await db.select().from(projects).where(eq(projects.id, projectId));
      if (!project) throw notFound("project");
      await authorize(db, principal, project.organizationId, "write", "project");
      const split = splitCredential(valid.gitRepo(input.gitRepo ?? "", { allowFile }));
      repo = split.url;
      branch = valid.branch(input.branch || "main");
      root = rootDirectory(input.rootDirectory ?? "");
      dockerfile = dockerfilePath(input.dockerfilePath ?? "");
      credential =
        input.gitCredential === undefined ? split.credential : checkCredential(input.gitCredential);
    }

    if (this.running >= MAX_CONCURRENT_PLANS) {
      throw resourceExhausted(
        `${MAX_CONCURRENT_PLANS} plans are being made on this server already: try again in a moment`,
      );
    }
    this.running++;
    try {
      // The project's deploy key, as a build of it would clone (never the server's own keys).
      const sshKey = isSshRemote(repo) ? await readDeployKey(db, secrets, projectId) : undefined;
      return await planRepository({
        repo,
        branch,
        workRoot: join(dataDir, "plans"),
        allowFile,
        limits: this.deps.cloneLimits,
        images: this.deps.images,
        selection: { rootDirectory: root, dockerfilePath: dockerfile },
        httpCredential: credential ?? undefined,
        sshKey,
        knownHostsFile: join(dataDir, "ssh", "known_hosts"),
        signal,
      });
    } finally {
      this.running--;
    }
  }
}
