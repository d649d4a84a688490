/**
 * The build step of a deployment: builds its branch into an image and makes that build the
 * deployment's current one. A build a crash interrupted is marked failed and its leftovers
 * discarded; a build cancelled (CancelBuild, or the deployment went back to what it served, or
 * was deleted) leaves no image behind. Log lines go to watchers at once and to the build's row in
 * batches.
 */
import { randomUUID } from "node:crypto";
import { and, eq, inArray, isNull, ne } from "drizzle-orm";
import type { Logger } from "pino";
import type { BuilderPort } from "../builder/index.js";
import type { SecretBox } from "../crypto/index.js";
import { buildCancelChannel, buildLogChannel, readGitCredential } from "../deployments/index.js";
import { DomainError } from "../domain/index.js";
import type { Bus } from "../platform/index.js";
import { isSshRemote, readDeployKey } from "../projects/index.js";
import { builds, type Db, deployments } from "../store/index.js";
import type { DeploymentRecords, DeploymentRow } from "./deployment-records.js";

/**
 * What the build step uses: the database (builds, the deployment's current build), the bus (build
 * logs, cancellations), the secret box (git credentials and deploy keys), a logger, the clock, the
 * builder, the deployment's records, and the runtime's clean-up.
 */
export interface BuildStepDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly secrets: SecretBox;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly builder: BuilderPort;
  readonly records: DeploymentRecords;
  removeImage(imageId: string): Promise<void>;
  /** Removes what a deployment deleted while it was being built left (containers, images). */
  abandon(deploymentId: string): Promise<void>;
}

/** What the build log writer uses. */
type BuildLogDeps = Pick<BuildStepDeps, "db" | "bus" | "logger">;

/** What the deployer needs of the build step. */
export interface Builds {
  /** The deployment with its new current build; undefined when there is none (failed, cancelled). */
  build(row: DeploymentRow, signal?: AbortSignal): Promise<DeploymentRow | undefined>;
}

export class BuildStep implements Builds {
  constructor(private readonly deps: BuildStepDeps) {}

  /** Builds the deployment's branch; returns the deployment with its new current build, or undefined when the build failed. */
  async build(row: DeploymentRow, signal?: AbortSignal): Promise<DeploymentRow | undefined> {
    const { deps } = this;
    const { builder, records } = deps;
    // A build left running by a crash will never finish: say so, and build again.
    const interrupted = await deps.db
      .update(builds)
      .set({
        status: "failed",
        statusMessage: "interrupted: the platform stopped during the build",
        finishedAt: deps.now(),
      })
      .where(and(eq(builds.deploymentId, row.id), inArray(builds.status, ["queued", "running"])))
      .returning({ id: builds.id });
    // What the interrupted build left (its work folder under DATA_DIR/builds, an image the
    // engine may have finished) would otherwise stay for good, one more folder per crash.
    for (const { id } of interrupted) {
      await builder
        .discard?.(id)
        .catch((error: unknown) =>
          deps.logger.warn(
            { err: error, buildId: id },
            "removing an interrupted build's leftovers failed",
          ),
        );
    }

    const buildId = randomUUID();
    await deps.db.insert(builds).values({
      id: buildId,
      deploymentId: row.id,
      status: "running",
      gitRepo: row.gitRepo,
      branch: row.branch,
      commitSha: row.wantedCommit,
      trigger: row.buildTrigger || "api",
      startedAt: deps.now(),
    });
    // Only while the deployment still wants a build: a CancelBuild that came before this row
    // existed left the deployment with its serving build again (or stopped).
    const deployment = await records.setStatusWhileWantingBuild(row, {
      status: "building",
      message: `building ${row.wantedCommit ? `${row.wantedCommit.slice(0, 7)} of ` : ""}${row.branch}`,
    });
    if (deployment === undefined) {
      await this.markCancelled(buildId, "cancelled before it started");
      const logs = new BuildLogWriter(deps, buildId);
      logs.push("cancelled before it started");
      await logs.close();
      return undefined;
    }

    // CancelBuild marks the row, then says so on the bus: listen, then look at the row.
    const cancel = new AbortController();
    const unsubscribe = await deps.bus.subscribe(buildCancelChannel(buildId), () =>
      cancel.abort(new DomainError("failed_precondition", "the build was cancelled")),
    );
    const logs = new BuildLogWriter(deps, buildId);
    try {
      if (await this.isCancelled(buildId)) {
        cancel.abort(new DomainError("failed_precondition", "the build was cancelled"));
      }
      // A preview clones with its deployment's credential: it is the same repository.
      const httpCredential = await readGitCredential(
        deps.db,
        deps.secrets,
        row.parentId ?? row.id,
        row.gitRepo,
      );
      // The project's deploy key, for ssh remotes only: nowhere else does it need to be on disk.
      const sshKey = isSshRemote(row.gitRepo)
        ? await readDeployKey(deps.db, deps.secrets, row.projectId)
        : undefined;
      const result = await builder.build({
        buildId,
        deploymentId: row.id,
        gitRepo: row.gitRepo,
        branch: row.branch,
        ...(row.wantedCommit ? { commitSha: row.wantedCommit } : {}),
        rootDirectory: row.rootDirectory,
        dockerfilePath: row.dockerfilePath,
        ...(httpCredential ? { httpCredential } : {}),
        ...(sshKey ? { sshKey } : {}),
        onLog: (line) => logs.push(line),
        signal: signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal,
      });
      await logs.close();
      const [finished] = await deps.db
        .update(builds)
        .set({
          status: "succeeded",
          imageId: result.imageId,
          commitSha: result.commitSha,
          ...(result.commit
            ? {
                commitMessage: result.commit.message,
                commitAuthor: `${result.commit.authorName} <${result.commit.authorEmail}>`,
                committedAt: result.commit.authoredAt,
              }
            : {}),
          port: result.port,
          finishedAt: deps.now(),
        })
        .where(and(eq(builds.id, buildId), eq(builds.status, "running")))
        .returning({ id: builds.id });
      // Cancelled as it finished, or the deployment went back to what it served (a cancel that
      // came before this build's row): the image is not wanted.
      const [updated] = finished
        ? await deps.db
            .update(deployments)
            .set({ currentBuildId: buildId, updatedAt: deps.now() })
            .where(and(eq(deployments.id, row.id), isNull(deployments.currentBuildId)))
            .returning()
        : [];
      if (!updated) {
        if (!(await records.exists(row.id))) {
          // Deleted while it was being built (DeleteDeployment removes a deployment that runs
          // nothing at once): its new image goes too.
          await deps.abandon(row.id);
          return undefined;
        }
        await this.markCancelled(buildId, "cancelled");
        await deps
          .removeImage(result.imageId)
          .catch((error: unknown) =>
            deps.logger.warn(
              { err: error, buildId },
              "removing the image of a cancelled build failed",
            ),
          );
        return undefined;
      }
      return updated;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (cancel.signal.aborted || (await this.isCancelled(buildId))) {
        // CancelBuild already said what the deployment is now.
        logs.push("cancelled");
        await logs.close();
        await this.markCancelled(buildId, "cancelled");
        return undefined;
      }
      logs.push(`error: ${message}`);
      await logs.close();
      await deps.db
        .update(builds)
        .set({ status: "failed", statusMessage: message, finishedAt: deps.now() })
        .where(eq(builds.id, buildId));
      if (signal?.aborted && !(error instanceof DomainError)) throw error;
      await records.setStatus(deployment, {
        status: "failed",
        message: message.startsWith("build") ? message : `build failed: ${message}`,
      });
      return undefined;
    } finally {
      await unsubscribe();
    }
  }

  private async isCancelled(buildId: string): Promise<boolean> {
    const [build] = await this.deps.db
      .select({ status: builds.status })
      .from(builds)
      .where(eq(builds.id, buildId));
    return build?.status === "cancelled";
  }

  /** Ends a build as cancelled, unless CancelBuild did already (its message names who). */
  private async markCancelled(buildId: string, message: string): Promise<void> {
    const { deps } = this;
    await deps.db
      .update(builds)
      .set({ status: "cancelled", statusMessage: message, finishedAt: deps.now() })
      .where(and(eq(builds.id, buildId), ne(builds.status, "cancelled")));
  }
}

/**
 * Build log lines: published at once for live watchers, and appended to the build's row in
 * batches, so that a long build does not write once per line.
 */
class BuildLogWriter {
  private pending: string[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stored = "";

  constructor(
    private readonly deps: BuildLogDeps,
    private readonly buildId: string,
  ) {}

  push(line: string) {
    const clean = line.replace(/\r?\n$/, "");
    this.pending.push(clean);
    void this.deps.bus.publish(buildLogChannel(this.buildId), {
      line: clean,
      at: new Date().toISOString(),
    });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, 500);
  }

  private flush() {
    const lines = this.pending.splice(0);
    if (lines.length === 0) return this.flushing;
    // Logs are bounded: a runaway build cannot fill the database.
    this.stored = `${this.stored}${lines.join("\n")}\n`.slice(-512 * 1024);
    const logs = this.stored;
    this.flushing = this.flushing
      .then(() => this.deps.db.update(builds).set({ logs }).where(eq(builds.id, this.buildId)))
      .then(
        () => undefined,
        (error: unknown) => this.deps.logger.warn({ err: error }, "storing build logs failed"),
      );
    return this.flushing;
  }

  async close() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.deps.bus.publish(buildLogChannel(this.buildId), { done: true });
  }
}
