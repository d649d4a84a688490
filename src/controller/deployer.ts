/**
 * Converges one deployment to its desired state, level-triggered and idempotent: it reads the
 * deployment, its builds and the containers the engine really runs, and does what is missing.
 * Container names are derived from the deployment, the replica and the build, so a retry after
 * a crash finds the containers the first try made instead of starting more.
 *
 * running: build when there is no current build → start every replica of the current build
 *   and wait until healthy → record locations → route → stop what belongs to older builds.
 *   A redeploy thus keeps the old version serving until the new one is healthy.
 * stopped: unroute, then stop and remove the containers.
 * deleted: as stopped, then remove routes, images and the records.
 */
import { randomUUID } from "node:crypto";
import { and, eq, inArray, isNull, ne, notInArray } from "drizzle-orm";
import { type AppContext, invalidateOrganization } from "../app/context.js";
import {
  buildCancelChannel,
  buildLogChannel,
  type StatusEvent,
  statusChannel,
} from "../deployments/events.js";
import { readGitCredential } from "../deployments/git-credentials.js";
import { DeploymentService } from "../deployments/service.js";
import { DomainError, resourceExhausted } from "../domain/errors.js";
import { edgeTls } from "../edge/edge-tls.js";
import { isSshRemote, readDeployKey } from "../projects/deploy-keys.js";
import {
  builds,
  type DeploymentStatusName,
  deploymentLocations,
  deploymentRouting,
  deployments,
  domains,
} from "../store/schema.js";
import type { Placer } from "./placement.js";
import type { BuilderPort, ContainerRef, RuntimePort } from "./ports.js";
import { containerNames, INSTALLATION_LABEL, LABEL, projectNetwork } from "./replica-names.js";
import type { RouteSync } from "./routing.js";

type DeploymentRow = typeof deployments.$inferSelect;
type BuildRow = typeof builds.$inferSelect;

/** A replica to run: its slot, its deterministic name and, on a cluster, its node. */
interface WantedReplica {
  replica: number;
  name: string;
  nodeId?: string;
}

export interface DeployerOptions {
  /** Put on every container, so that reconcilers of other installations leave it alone. */
  installationId?: string;
  ctx: AppContext;
  /** Undefined when no engine could be reached at start-up; see `runtimeEndpoint`. */
  runtime: RuntimePort;
  builder: BuilderPort;
  routes: RouteSync;
  /** The node the runtime's engine is, for deployment_locations. */
  nodeId: () => string;
  /** Extra labels for containers (the Traefik labels), given the deployment and its domains. */
  extraLabels?: (
    deployment: DeploymentRow,
    domains: string[],
    port: number,
  ) => Record<string, string>;
  defaults: { cpuMillicores: number; memoryMb: number };
  healthTimeoutMs: number;
  /** Cluster mode: where replicas go (the scheduler). Without it, the runtime's one engine. */
  placer?: Placer;
}

export class Deployer {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly deploymentsService: DeploymentService;

  constructor(private readonly options: DeployerOptions) {
    this.deploymentsService = new DeploymentService(options.ctx);
  }

  /** Converges one deployment; calls for the same deployment run one after another. */
  converge(deploymentId: string, signal?: AbortSignal): Promise<void> {
    const previous = this.locks.get(deploymentId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.convergeNow(deploymentId, signal));
    this.locks.set(deploymentId, next);
    void next
      .finally(() => {
        if (this.locks.get(deploymentId) === next) this.locks.delete(deploymentId);
      })
      .catch(() => undefined);
    return next;
  }

  private async convergeNow(deploymentId: string, signal?: AbortSignal): Promise<void> {
    const { ctx } = this.options;
    const [row] = await ctx.db.select().from(deployments).where(eq(deployments.id, deploymentId));
    if (!row) return;
    try {
      await this.options.runtime.ping();
    } catch (error) {
      // No engine: say where we looked, at once, rather than retrying in silence.
      if (row.desiredState === "deleted") return this.forget(row);
      await this.setStatus(row, "failed", error instanceof Error ? error.message : String(error));
      return;
    }
    if (row.desiredState === "deleted") return this.remove(row);
    if (row.desiredState === "stopped") return this.stop(row);
    return this.run(row, signal);
  }

  private async run(row: DeploymentRow, signal?: AbortSignal) {
    const { ctx, runtime } = this.options;
    let deployment = row;
    if (!deployment.currentBuildId) {
      const built = await this.build(deployment, signal);
      if (!built) return;
      deployment = built;
    }
    const [build] = await ctx.db
      .select()
      .from(builds)
      .where(eq(builds.id, deployment.currentBuildId ?? ""));
    if (build?.status !== "succeeded") {
      await this.setStatus(
        deployment,
        "failed",
        "the deployment's build is missing or did not succeed: redeploy it",
      );
      return;
    }

    const actual = await runtime.list({ deploymentId: deployment.id });
    const placed = await this.wantedReplicas(deployment, build, actual);
    if (placed === undefined) return;
    try {
      await this.start(deployment, build, actual, placed.wanted, signal);
    } finally {
      placed.release();
    }
  }

  /**
   * The replicas to run and their names. On a single engine, replica r of the current build.
   * On a cluster, a replica whose service runs on a usable node stays there; the others (new,
   * removed by hand, on a drained or down node) are placed by the scheduler. Undefined when
   * nothing fits (the deployment failed, or, while some of it still serves, is retried later).
   */
  private async wantedReplicas(
    deployment: DeploymentRow,
    build: BuildRow,
    actual: ContainerRef[],
  ): Promise<{ wanted: WantedReplica[]; release(): void } | undefined> {
    const names = (nodeId?: string) =>
      containerNames(
        deployment.id,
        deployment.replicas,
        build.id,
        deployment.restartGeneration,
        nodeId,
      );
    const { placer } = this.options;
    if (!placer) {
      const wanted = names().map((name, replica) => ({ replica, name }));
      return { wanted, release: () => undefined };
    }
    const health = await placer.nodeHealth();
    const unusable = new Set(health.unusable);
    const kept = new Array<ContainerRef | undefined>(deployment.replicas);
    const namesOn = new Map<string, readonly string[]>();
    for (const c of actual) {
      if (c.nodeId === undefined || unusable.has(c.nodeId)) continue;
      let onNode = namesOn.get(c.nodeId);
      if (!onNode) {
        onNode = names(c.nodeId);
        namesOn.set(c.nodeId, onNode);
      }
      const replica = onNode.indexOf(c.name);
      const current = kept[replica];
      if (replica >= 0 && (!current || (c.state === "running" && current.state !== "running"))) {
        kept[replica] = c;
      }
    }
    const missing = [...kept.keys()].filter((replica) => kept[replica] === undefined);
    const wanted: WantedReplica[] = kept.flatMap((c, replica) =>
      c?.nodeId ? [{ replica, name: c.name, nodeId: c.nodeId }] : [],
    );
    if (missing.length === 0) return { wanted, release: () => undefined };

    const outcome = await placer.place({
      deploymentId: deployment.id,
      strategy: deployment.strategy,
      replicas: missing.length,
      cpuMillicores: deployment.cpuMillicores || this.options.defaults.cpuMillicores,
      memoryMb: deployment.memoryMb || this.options.defaults.memoryMb,
      existing: wanted.map((w) => w.nodeId as string),
      avoidNodes: [
        ...new Set(actual.flatMap((c) => (c.nodeId && unusable.has(c.nodeId) ? [c.nodeId] : []))),
      ],
    });
    if (!outcome.ok) {
      // Replicas moving off a drained node with nowhere to go still serve there: keep them, and
      // try again later. New replicas (a new deployment, a redeploy, a scale-up) fail, as a new
      // version that does not come up does; what served before keeps serving.
      const down = new Set(health.down);
      const moving = missing.every((replica) =>
        actual.some(
          (c) =>
            c.nodeId !== undefined &&
            unusable.has(c.nodeId) &&
            names(c.nodeId)[replica] === c.name &&
            c.state === "running" &&
            !down.has(c.nodeId),
        ),
      );
      if (moving) {
        throw resourceExhausted(
          `cannot move deployment ${deployment.id} off its nodes: ${outcome.message}`,
        );
      }
      await this.setStatus(deployment, "failed", `cannot be placed: ${outcome.message}`);
      return undefined;
    }
    outcome.placements.forEach((placement, i) => {
      const replica = missing[i] as number;
      wanted.push({
        replica,
        name: names(placement.nodeId)[replica] as string,
        nodeId: placement.nodeId,
      });
    });
    wanted.sort((a, b) => a.replica - b.replica);
    return { wanted, release: outcome.release };
  }

  /**
   * Starts the wanted replicas of the build beside what runs, waits until they are healthy,
   * records and routes them, then retires everything else of the deployment.
   */
  private async start(
    row: DeploymentRow,
    build: BuildRow,
    actual: ContainerRef[],
    wanted: WantedReplica[],
    signal?: AbortSignal,
  ) {
    const { ctx, runtime } = this.options;
    let deployment = row;
    const upToDate = wanted.every((w) =>
      actual.some((c) => c.name === w.name && c.state === "running" && c.health !== "unhealthy"),
    );
    if (!upToDate && deployment.status !== "deploying") {
      deployment = await this.setStatus(
        deployment,
        "deploying",
        `starting ${deployment.replicas} replica(s) of build ${build.commitSha.slice(0, 7) || build.id.slice(0, 8)}`,
      );
    }

    // Only verified domains get routes and labels: a custom domain whose ownership is not
    // proven is not served (src/domains).
    const domainRows = await ctx.db
      .select()
      .from(domains)
      .where(and(eq(domains.deploymentId, deployment.id), eq(domains.status, "verified")));
    const domainNames = domainRows.map((d) => d.domain);
    const env = {
      ...(await this.deploymentsService.envFor(deployment.id)),
      PORT: String(build.port),
    };
    const network = projectNetwork(deployment.projectId);
    await runtime.ensureNetwork(network, {
      [LABEL.managed]: "true",
      [LABEL.projectId]: deployment.projectId,
      [LABEL.organizationId]: deployment.organizationId,
    });

    // Start the wanted replicas (a no-op for those that run) and wait until each is healthy.
    const started: Array<{
      replica: number;
      id: string;
      hostPort: number;
      name: string;
      nodeId?: string | undefined;
      address?: string | undefined;
    }> = [];
    // Which step failed, for the status message: getting the image and starting, or health.
    let phase: "start" | "health" = "start";
    try {
      for (const w of wanted) {
        // On a cluster, the node gets the image first (copied over, or pushed to the registry).
        if (w.nodeId !== undefined) await runtime.prepareImage?.(build.imageId, w.nodeId, signal);
        const container = await runtime.run({
          name: w.name,
          image: build.imageId,
          env,
          labels: {
            [LABEL.managed]: "true",
            [LABEL.deploymentId]: deployment.id,
            [LABEL.projectId]: deployment.projectId,
            [LABEL.organizationId]: deployment.organizationId,
            [LABEL.replica]: String(w.replica),
            [LABEL.buildId]: build.id,
            ...(this.options.installationId
              ? { [INSTALLATION_LABEL]: this.options.installationId }
              : {}),
            ...this.options.extraLabels?.(deployment, domainNames, build.port),
          },
          network,
          internalPort: build.port,
          cpuMillicores: deployment.cpuMillicores || this.options.defaults.cpuMillicores,
          memoryMb: deployment.memoryMb || this.options.defaults.memoryMb,
          ...(w.nodeId !== undefined ? { nodeId: w.nodeId } : {}),
        });
        started.push({
          replica: w.replica,
          id: container.id,
          hostPort: container.hostPort,
          name: w.name,
          nodeId: container.nodeId,
          address: container.address,
        });
      }
      phase = "health";
      await Promise.all(
        started.map((c) =>
          runtime.waitHealthy(c.id, {
            timeoutMs: this.options.healthTimeoutMs,
            ...(signal ? { signal } : {}),
          }),
        ),
      );
    } catch (error) {
      // The new version did not come up: remove it; what served before keeps serving.
      const fresh = started.filter((c) => !actual.some((a) => a.id === c.id));
      for (const c of fresh) await runtime.remove(c.id).catch(() => undefined);
      if (signal?.aborted) throw error;
      if (await this.gone(deployment.id)) return this.abandon(deployment.id);
      // A host port taken on the node by something else: another try picks another port.
      if (error instanceof DomainError && error.kind === "resource_exhausted") throw error;
      const message = error instanceof Error ? error.message : String(error);
      await this.setStatus(
        deployment,
        "failed",
        phase === "start"
          ? `the new version could not be started: ${message}`
          : `the new version did not become healthy: ${message}`,
      );
      return;
    }

    // Record where the new containers run, route to them, then retire everything else.
    const recorded = ctx.db.transaction(async (tx) => {
      for (const c of started) {
        await tx
          .delete(deploymentLocations)
          .where(
            and(
              eq(deploymentLocations.deploymentId, deployment.id),
              eq(deploymentLocations.containerId, c.id),
            ),
          );
        await tx.insert(deploymentLocations).values({
          id: randomUUID(),
          deploymentId: deployment.id,
          replica: c.replica,
          nodeId: c.nodeId ?? this.options.nodeId(),
          containerId: c.id,
          buildId: build.id,
          status: "running",
          address: c.address ?? runtime.hostAddress,
          port: c.hostPort,
          domain: domainNames[0] ?? "",
          healthStatus: "healthy",
          updatedAt: ctx.now(),
        });
      }
      await this.writeRouting(tx, deployment.id, domainNames, build.port);
    });
    try {
      await recorded;
    } catch (error) {
      // Fix: deleted while its containers started (it had no location yet, so DeleteDeployment
      // removed the record at once): the locations cannot be written, and the containers and the
      // image used to stay, running for a deployment no record owns.
      if (await this.gone(deployment.id)) return this.abandon(deployment.id);
      throw error;
    }
    await this.options.routes.sync();

    const keep = new Set(started.map((c) => c.id));
    const stale = (await runtime.list({ deploymentId: deployment.id })).filter(
      (c) => !keep.has(c.id),
    );
    await this.retire(deployment.id, stale, [...keep]);

    // Nothing changed: the status, and what it says (a cancelled build, say), stay.
    if (upToDate && stale.length === 0 && deployment.status === "running") return;
    const where = [...new Set(started.flatMap((c) => (c.address ? [c.address] : [])))].sort();
    await this.setStatus(
      deployment,
      "running",
      `${deployment.replicas} replica(s) running build ${build.commitSha.slice(0, 7) || build.id.slice(0, 8)}${where.length > 0 ? ` on ${where.join(", ")}` : ""}`,
    );
  }

  /** Builds the deployment's branch; returns the deployment with its new current build, or undefined when the build failed. */
  private async build(
    row: DeploymentRow,
    signal?: AbortSignal,
  ): Promise<DeploymentRow | undefined> {
    const { ctx, builder } = this.options;
    // A build left running by a crash will never finish: say so, and build again.
    const interrupted = await ctx.db
      .update(builds)
      .set({
        status: "failed",
        statusMessage: "interrupted: the platform stopped during the build",
        finishedAt: ctx.now(),
      })
      .where(and(eq(builds.deploymentId, row.id), inArray(builds.status, ["queued", "running"])))
      .returning({ id: builds.id });
    // Fix: what the interrupted build left (its work folder under DATA_DIR/builds, an image the
    // engine may have finished) used to stay for good, one more folder per crash.
    for (const { id } of interrupted) {
      await builder
        .discard?.(id)
        .catch((error: unknown) =>
          ctx.logger.warn(
            { err: error, buildId: id },
            "removing an interrupted build's leftovers failed",
          ),
        );
    }

    const buildId = randomUUID();
    await ctx.db.insert(builds).values({
      id: buildId,
      deploymentId: row.id,
      status: "running",
      gitRepo: row.gitRepo,
      branch: row.branch,
      startedAt: ctx.now(),
    });
    // Only while the deployment still wants a build: a CancelBuild that came before this row
    // existed left the deployment with its serving build again (or stopped).
    const deployment = await this.setStatus(row, "building", `building ${row.branch}`, true);
    if (deployment === undefined) {
      await this.markCancelled(buildId, "cancelled before it started");
      const logs = new BuildLogWriter(ctx, buildId);
      logs.push("cancelled before it started");
      await logs.close();
      return undefined;
    }

    // CancelBuild marks the row, then says so on the bus: listen, then look at the row.
    const cancel = new AbortController();
    const unsubscribe = await ctx.services.bus.subscribe(buildCancelChannel(buildId), () =>
      cancel.abort(new DomainError("failed_precondition", "the build was cancelled")),
    );
    const logs = new BuildLogWriter(ctx, buildId);
    try {
      if (await this.isCancelled(buildId)) {
        cancel.abort(new DomainError("failed_precondition", "the build was cancelled"));
      }
      const httpCredential = await readGitCredential(ctx.db, ctx.secrets, row.id, row.gitRepo);
      // The project's deploy key, for ssh remotes only: nowhere else does it need to be on disk.
      const sshKey = isSshRemote(row.gitRepo)
        ? await readDeployKey(ctx.db, ctx.secrets, row.projectId)
        : undefined;
      const result = await builder.build({
        buildId,
        deploymentId: row.id,
        gitRepo: row.gitRepo,
        branch: row.branch,
        ...(httpCredential ? { httpCredential } : {}),
        ...(sshKey ? { sshKey } : {}),
        onLog: (line) => logs.push(line),
        signal: signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal,
      });
      await logs.close();
      const [finished] = await ctx.db
        .update(builds)
        .set({
          status: "succeeded",
          imageId: result.imageId,
          commitSha: result.commitSha,
          port: result.port,
          finishedAt: ctx.now(),
        })
        .where(and(eq(builds.id, buildId), eq(builds.status, "running")))
        .returning({ id: builds.id });
      // Cancelled as it finished, or the deployment went back to what it served (a cancel that
      // came before this build's row): the image is not wanted.
      const [updated] = finished
        ? await ctx.db
            .update(deployments)
            .set({ currentBuildId: buildId, updatedAt: ctx.now() })
            .where(and(eq(deployments.id, row.id), isNull(deployments.currentBuildId)))
            .returning()
        : [];
      if (!updated) {
        if (await this.gone(row.id)) {
          // Deleted while it was being built (DeleteDeployment removes a deployment that runs
          // nothing at once): its new image goes too.
          await this.abandon(row.id);
          return undefined;
        }
        await this.markCancelled(buildId, "cancelled");
        await this.options.runtime
          .removeImage(result.imageId)
          .catch((error: unknown) =>
            ctx.logger.warn(
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
      await ctx.db
        .update(builds)
        .set({ status: "failed", statusMessage: message, finishedAt: ctx.now() })
        .where(eq(builds.id, buildId));
      if (signal?.aborted && !(error instanceof DomainError)) throw error;
      await this.setStatus(
        deployment,
        "failed",
        message.startsWith("build") ? message : `build failed: ${message}`,
      );
      return undefined;
    } finally {
      await unsubscribe();
    }
  }

  private async isCancelled(buildId: string): Promise<boolean> {
    const [build] = await this.options.ctx.db
      .select({ status: builds.status })
      .from(builds)
      .where(eq(builds.id, buildId));
    return build?.status === "cancelled";
  }

  /** Ends a build as cancelled, unless CancelBuild did already (its message names who). */
  private async markCancelled(buildId: string, message: string): Promise<void> {
    const { ctx } = this.options;
    await ctx.db
      .update(builds)
      .set({ status: "cancelled", statusMessage: message, finishedAt: ctx.now() })
      .where(and(eq(builds.id, buildId), ne(builds.status, "cancelled")));
  }

  private async stop(row: DeploymentRow) {
    const containers = await this.options.runtime.list({ deploymentId: row.id });
    await this.retire(row.id, containers, []);
    if (row.status !== "stopped") await this.setStatus(row, "stopped", "stopped");
  }

  private async remove(row: DeploymentRow) {
    const { ctx, runtime } = this.options;
    const containers = await runtime.list({ deploymentId: row.id });
    await ctx.db.delete(deploymentRouting).where(eq(deploymentRouting.deploymentId, row.id));
    await this.retire(row.id, containers, []);
    const images = await ctx.db
      .select({ imageId: builds.imageId })
      .from(builds)
      .where(eq(builds.deploymentId, row.id));
    for (const { imageId } of images) {
      if (imageId) await runtime.removeImage(imageId).catch(() => undefined);
    }
    await this.forget(row);
  }

  private async gone(deploymentId: string): Promise<boolean> {
    const [row] = await this.options.ctx.db
      .select({ id: deployments.id })
      .from(deployments)
      .where(eq(deployments.id, deploymentId));
    return row === undefined;
  }

  /** Removes the containers and images of a deployment whose record went while it deployed. */
  private async abandon(deploymentId: string) {
    const { ctx, runtime } = this.options;
    ctx.logger.info(
      { deploymentId },
      "deleted while deploying: removing its containers and images",
    );
    for (const c of await runtime.list({ deploymentId })) await runtime.remove(c.id);
    await runtime.removeImagesOf?.(deploymentId);
  }

  /** Drops the records of a deployment whose containers are gone. */
  private async forget(row: DeploymentRow) {
    const { ctx } = this.options;
    await ctx.db.delete(deployments).where(eq(deployments.id, row.id));
    await this.options.routes.sync();
    await invalidateOrganization(ctx, row.organizationId);
    await this.publish({
      ...row,
      status: "deleting",
      statusMessage: "deleted",
      updatedAt: ctx.now(),
    });
  }

  /** Unroutes the given containers first, then stops and removes them. */
  private async retire(deploymentId: string, containers: ContainerRef[], keepIds: string[]) {
    const { ctx, runtime } = this.options;
    await ctx.db
      .delete(deploymentLocations)
      .where(
        keepIds.length > 0
          ? and(
              eq(deploymentLocations.deploymentId, deploymentId),
              notInArray(deploymentLocations.containerId, keepIds),
            )
          : eq(deploymentLocations.deploymentId, deploymentId),
      );
    await this.options.routes.sync();
    // In parallel: each stop may wait the app's whole grace period.
    await Promise.all(
      containers.map(async (c) => {
        await runtime.stop(c.id).catch(() => undefined);
        await runtime.remove(c.id);
      }),
    );
  }

  /**
   * Gives every routing row the TLS of the current configuration and re-syncs the edges when one
   * changed. Rows are written when a deployment is routed, so a change of EDGE or ACME_CA would
   * otherwise reach each route only at its next deploy. Returns how many rows changed.
   */
  async alignRouteTls(): Promise<number> {
    const { ctx } = this.options;
    const tls = edgeTls(ctx.config).enabled;
    const changed = await ctx.db
      .update(deploymentRouting)
      .set({ tls, updatedAt: ctx.now() })
      .where(ne(deploymentRouting.tls, tls))
      .returning({ domain: deploymentRouting.domain });
    if (changed.length > 0) {
      ctx.logger.info({ routes: changed.length, tls }, "routes follow the edge's TLS setting");
      await this.options.routes.sync();
    }
    return changed.length;
  }

  /** One routing row per domain of the deployment, at path "/". */
  private async writeRouting(
    tx: Parameters<Parameters<AppContext["db"]["transaction"]>[0]>[0],
    deploymentId: string,
    domainNames: string[],
    port: number,
  ) {
    const tls = edgeTls(this.options.ctx.config).enabled;
    if (domainNames.length > 0) {
      await tx
        .delete(deploymentRouting)
        .where(
          and(
            eq(deploymentRouting.deploymentId, deploymentId),
            notInArray(deploymentRouting.domain, domainNames),
          ),
        );
    }
    for (const domain of domainNames) {
      await tx
        .insert(deploymentRouting)
        .values({
          domain,
          pathPrefix: "/",
          deploymentId,
          targetPort: port,
          tls,
          updatedAt: this.options.ctx.now(),
        })
        .onConflictDoUpdate({
          target: [deploymentRouting.domain, deploymentRouting.pathPrefix],
          set: { deploymentId, targetPort: port, tls, updatedAt: this.options.ctx.now() },
        });
    }
  }

  private async setStatus(
    row: DeploymentRow,
    status: DeploymentStatusName,
    message: string,
  ): Promise<DeploymentRow>;
  /** With `wantsBuild`: only while the deployment still waits for a build; undefined otherwise. */
  private async setStatus(
    row: DeploymentRow,
    status: DeploymentStatusName,
    message: string,
    wantsBuild: true,
  ): Promise<DeploymentRow | undefined>;
  private async setStatus(
    row: DeploymentRow,
    status: DeploymentStatusName,
    message: string,
    wantsBuild = false,
  ): Promise<DeploymentRow | undefined> {
    const { ctx } = this.options;
    const [updated] = await ctx.db
      .update(deployments)
      .set({ status, statusMessage: message, updatedAt: ctx.now() })
      .where(
        wantsBuild
          ? and(
              eq(deployments.id, row.id),
              isNull(deployments.currentBuildId),
              eq(deployments.desiredState, "running"),
            )
          : eq(deployments.id, row.id),
      )
      .returning();
    if (wantsBuild && !updated) return undefined;
    const next = updated ?? { ...row, status, statusMessage: message };
    await invalidateOrganization(ctx, row.organizationId);
    await this.publish(next);
    ctx.logger.info({ deploymentId: row.id, status, message }, "deployment status");
    return next;
  }

  private async publish(row: DeploymentRow) {
    const event: StatusEvent = {
      deploymentId: row.id,
      organizationId: row.organizationId,
      status: row.status,
      message: row.statusMessage,
      at: row.updatedAt.toISOString(),
    };
    await this.options.ctx.services.bus.publish(statusChannel(row.id), event);
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
    private readonly ctx: AppContext,
    private readonly buildId: string,
  ) {}

  push(line: string) {
    const clean = line.replace(/\r?\n$/, "");
    this.pending.push(clean);
    void this.ctx.services.bus.publish(buildLogChannel(this.buildId), {
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
      .then(() => this.ctx.db.update(builds).set({ logs }).where(eq(builds.id, this.buildId)))
      .then(
        () => undefined,
        (error: unknown) => this.ctx.logger.warn({ err: error }, "storing build logs failed"),
      );
    return this.flushing;
  }

  async close() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.ctx.services.bus.publish(buildLogChannel(this.buildId), { done: true });
  }
}
