/**
 * Converges one deployment, level-triggered and idempotent: reads its records and the containers
 * the engine runs, asks planDeployment (plan-deployment.ts) what it needs, and carries the plan
 * out through the ports it is given: the runtime, the deployment records, the edges (RouteSync),
 * the build step and, on a cluster, the scheduler. It decides nothing itself: a build or a
 * placement changes what it knows, so it plans again afterwards.
 */
import type { Logger } from "pino";
import { DomainError, resourceExhausted } from "../domain/errors.js";
import type { Builds } from "./build-step.js";
import type { DeploymentRecords, DeploymentRow, LoadedDeployment } from "./deployment-records.js";
import type { Placer } from "./placement.js";
import {
  type DesiredDeployment,
  type PlacementAnswer,
  planDeployment,
  type RollPlan,
  type RollStep,
  rollFailed,
  type StatusChange,
  settleRoll,
} from "./plan-deployment.js";
import type { ContainerRef, RuntimePort, Started } from "./ports.js";
import type { RouteSync } from "./routing.js";

export interface DeployerOptions {
  runtime: RuntimePort;
  records: DeploymentRecords;
  /** The edges, made to follow the records. */
  routes: Pick<RouteSync, "sync">;
  builds: Builds;
  /** Cluster mode: where replicas go (the scheduler). Without it, the runtime's one engine. */
  placer?: Pick<Placer, "nodeHealth" | "place">;
  /** The node the runtime's engine is, for deployment_locations. */
  nodeId: () => string;
  /** Put on every container, so that reconcilers of other installations leave it alone. */
  installationId?: string;
  /** Labels the edge wants on containers (Traefik's), given the deployment and its domains. */
  edgeLabels?: (
    deployment: DeploymentRow,
    domains: string[],
    port: number,
  ) => Record<string, string>;
  defaults: { cpuMillicores: number; memoryMb: number };
  healthTimeoutMs: number;
  logger: Logger;
  now?: () => Date;
}

/** What a roll has done so far. */
interface Rolling {
  row: DeploymentRow;
  env: Record<string, string>;
  started: Array<Started & { replica: number }>;
  settled?: StatusChange | undefined;
}

export class Deployer {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: DeployerOptions) {}

  /** Converges one deployment; calls for the same deployment run one after another. */
  converge(deploymentId: string, signal?: AbortSignal): Promise<void> {
    const previous = this.locks.get(deploymentId) ?? Promise.resolve();
    // The previous call's error is its caller's; this call starts afresh either way.
    const next = previous.catch(() => undefined).then(() => this.convergeNow(deploymentId, signal));
    this.locks.set(deploymentId, next);
    void next
      .finally(() => {
        if (this.locks.get(deploymentId) === next) this.locks.delete(deploymentId);
      })
      .catch(() => undefined); // the caller of `next` sees its error
    return next;
  }

  /** Gives every routing row the configuration's TLS, and re-syncs the edges when one changed. */
  async alignRouteTls(): Promise<number> {
    const changed = await this.options.records.alignRouteTls();
    if (changed > 0) await this.options.routes.sync();
    return changed;
  }

  private async convergeNow(deploymentId: string, signal?: AbortSignal): Promise<void> {
    const { runtime, records, placer } = this.options;
    let loaded = await records.load(deploymentId);
    if (!loaded) return;
    const engineError = await runtime.ping().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    let containers = engineError === undefined ? await runtime.list({ deploymentId }) : [];
    const nodes =
      placer && engineError === undefined && loaded.row.desiredState === "running"
        ? await placer.nodeHealth()
        : undefined;
    let placed: PlacementAnswer | undefined;
    let release = () => {};
    try {
      for (;;) {
        const { row } = loaded;
        const plan = planDeployment(
          this.desired(loaded, placed),
          { engineError, containers, recorded: loaded.recorded },
          nodes,
          this.options.now?.() ?? new Date(),
        );
        switch (plan.action) {
          case "none":
            return;
          case "fail":
            await records.setStatus(row, plan.status);
            return;
          case "retry":
            throw resourceExhausted(plan.message);
          case "forget":
            return await this.forget(row);
          case "remove":
            return await this.remove(row, plan.retire);
          case "stop":
            await this.retire(row.id, plan.retire, []);
            if (plan.status) await records.setStatus(row, plan.status);
            return;
          case "roll":
            return await this.roll(loaded, plan, containers, signal);
          case "build": {
            if (!(await this.options.builds.build(row, signal))) return;
            loaded = await records.load(deploymentId);
            if (!loaded) return;
            containers = await runtime.list({ deploymentId });
            break;
          }
          case "place": {
            const { slots, ...request } = plan.request;
            const outcome = await (placer as NonNullable<typeof placer>).place({
              ...request,
              replicas: slots.length,
            });
            if (outcome.ok) release = outcome.release;
            placed = outcome.ok
              ? { ok: true, nodes: outcome.placements.map((p) => p.nodeId) }
              : { ok: false, message: outcome.message };
            break;
          }
        }
      }
    } finally {
      release();
    }
  }

  private desired(loaded: LoadedDeployment, placed?: PlacementAnswer): DesiredDeployment {
    const { row, build, domains } = loaded;
    const { installationId, edgeLabels } = this.options;
    return {
      deployment: row,
      build,
      domains,
      defaults: this.options.defaults,
      installationId,
      edgeLabels: build && edgeLabels ? edgeLabels(row, domains, build.port) : undefined,
      placed,
    };
  }

  /** Takes the roll's steps in order; a failure to start or become healthy ends it. */
  private async roll(
    loaded: LoadedDeployment,
    plan: RollPlan,
    actual: readonly ContainerRef[],
    signal?: AbortSignal,
  ): Promise<void> {
    const state: Rolling = { row: loaded.row, env: {}, started: [] };
    for (const step of plan.steps) {
      try {
        await this.step(step, plan, state, signal);
      } catch (error) {
        return this.rollBroke(step, error, state, actual, signal);
      }
    }
  }

  private async step(
    step: RollStep,
    plan: RollPlan,
    state: Rolling,
    signal?: AbortSignal,
  ): Promise<void> {
    const { runtime, records } = this.options;
    const id = state.row.id;
    switch (step) {
      case "announce":
        if (plan.announce) state.row = await records.setStatus(state.row, plan.announce);
        return;
      case "network":
        state.env = { ...(await records.env(id)), PORT: String(plan.build.port) };
        return runtime.ensureNetwork(plan.network.name, plan.network.labels);
      case "run":
        for (const r of plan.replicas) {
          // On a cluster, the node gets the image first (copied over, or pushed to the registry).
          if (r.nodeId !== undefined)
            await runtime.prepareImage?.(plan.build.imageId, r.nodeId, signal);
          const container = await runtime.run({
            name: r.name,
            image: plan.build.imageId,
            env: state.env,
            labels: plan.labels[r.replica] ?? {},
            network: plan.network.name,
            internalPort: plan.build.port,
            ...plan.limits,
            ...(r.nodeId !== undefined ? { nodeId: r.nodeId } : {}),
          });
          state.started.push({ ...container, replica: r.replica });
        }
        return;
      case "await-healthy": {
        const options = { timeoutMs: this.options.healthTimeoutMs, ...(signal ? { signal } : {}) };
        await Promise.all(state.started.map((c) => runtime.waitHealthy(c.id, options)));
        return;
      }
      case "record":
        return records.record(
          id,
          plan.build.id,
          plan.routes.domains,
          plan.routes.port,
          state.started.map((c) => ({
            replica: c.replica,
            containerId: c.id,
            nodeId: c.nodeId ?? this.options.nodeId(),
            address: c.address ?? runtime.hostAddress,
            port: c.hostPort,
          })),
        );
      case "route":
        return this.options.routes.sync();
      case "retire": {
        const settled = settleRoll(plan, await runtime.list({ deploymentId: id }), state.started);
        state.settled = settled.status;
        return this.retire(
          id,
          settled.retire,
          state.started.map((c) => c.id),
        );
      }
      case "settle":
        if (state.settled) await records.setStatus(state.row, state.settled);
        return;
    }
  }

  /**
   * A roll step failed. Starting or becoming healthy: the new version goes, what served before
   * keeps serving. Recording: the deployment may have been deleted meanwhile (it had no location
   * yet, so DeleteDeployment removed its record at once): its containers and image go too.
   */
  private async rollBroke(
    step: RollStep,
    error: unknown,
    state: Rolling,
    actual: readonly ContainerRef[],
    signal?: AbortSignal,
  ): Promise<void> {
    const { runtime, records } = this.options;
    const id = state.row.id;
    if (step === "run" || step === "await-healthy") {
      const fresh = state.started.filter((c) => !actual.some((a) => a.id === c.id));
      for (const c of fresh) {
        await runtime
          .remove(c.id)
          .catch((removeError: unknown) =>
            this.options.logger.warn(
              { err: removeError, deploymentId: id, containerId: c.id },
              "removing a replica that did not come up failed; the reconciler removes it later",
            ),
          );
      }
      if (signal?.aborted) throw error;
      if (!(await records.exists(id))) return removeAbandoned(runtime, this.options.logger, id);
      // A host port taken on the node by something else: another try picks another port.
      if (error instanceof DomainError && error.kind === "resource_exhausted") throw error;
      const message = error instanceof Error ? error.message : String(error);
      await records.setStatus(state.row, rollFailed(step === "run" ? "start" : "health", message));
      return;
    }
    if (step === "record" && !(await records.exists(id))) {
      return removeAbandoned(runtime, this.options.logger, id);
    }
    throw error;
  }

  /** Unroutes, retires every container, removes the images, then drops the records. */
  private async remove(row: DeploymentRow, containers: readonly ContainerRef[]) {
    const { records, runtime, logger } = this.options;
    await records.unroute(row.id);
    await this.retire(row.id, containers, []);
    for (const imageId of await records.imagesOf(row.id)) {
      await runtime.removeImage(imageId).catch((error: unknown) =>
        // Still used by a container of another deployment, or gone already: the deletion goes on.
        logger.warn({ err: error, deploymentId: row.id, imageId }, "removing an image failed"),
      );
    }
    await this.forget(row);
  }

  /** Drops the records of a deployment whose containers are gone, and says it is deleted. */
  private async forget(row: DeploymentRow) {
    await this.options.records.forget(row);
    await this.options.routes.sync();
    await this.options.records.announceDeleted(row);
  }

  /** Unroutes the given containers first, then stops and removes them. */
  private async retire(
    deploymentId: string,
    containers: readonly ContainerRef[],
    keepIds: readonly string[],
  ) {
    const { records, runtime, logger } = this.options;
    await records.unrecord(deploymentId, keepIds);
    await this.options.routes.sync();
    // In parallel: each stop may wait the app's whole grace period.
    await Promise.all(
      containers.map(async (c) => {
        await runtime.stop(c.id).catch((error: unknown) =>
          // Stopped or gone already: the removal below is what counts, and reports its own error.
          logger.debug({ err: error, containerId: c.id }, "stopping before removal failed"),
        );
        await runtime.remove(c.id);
      }),
    );
  }
}

/** Removes the containers and images of a deployment whose record went while it deployed. */
export async function removeAbandoned(runtime: RuntimePort, logger: Logger, deploymentId: string) {
  logger.info({ deploymentId }, "deleted while deploying: removing its containers and images");
  for (const c of await runtime.list({ deploymentId })) await runtime.remove(c.id);
  await runtime.removeImagesOf?.(deploymentId);
}
