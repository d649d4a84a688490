/**
 * Converges one deployment, level-triggered and idempotent: reads its records and the containers
 * the engine runs, asks planDeployment (plan-deployment.ts) what it needs, and carries the plan
 * out through the ports it is given: the runtime, the deployment records, the edges (RouteSync),
 * the build step and, on a cluster, the scheduler. It decides nothing itself: a build or a
 * placement changes what it knows, so it plans again afterwards. A roll whose new version did not
 * come up is judged by planFailedStart: the deployment fails, or (its image lost) the build's
 * commit is built again, and it plans again.
 */
import type { Logger } from "pino";
import { resourceExhausted } from "../domain/index.js";
import { KeyLock } from "../platform/index.js";
import type { ContainerRef, RuntimePort } from "../runtime/index.js";
import type { Builds } from "./build-step.js";
import type { DeploymentRecords, DeploymentRow, LoadedDeployment } from "./deployment-records.js";
import type { Placer } from "./placement.js";
import {
  type ActualDeployment,
  type DeploymentPlan,
  type DesiredDeployment,
  type NodeHealth,
  type PlacementAnswer,
  type PlaceRequestSpec,
  planDeployment,
  planFailedStart,
  type RollPlan,
} from "./plan-deployment.js";
import { carryOutRoll, retireContainers } from "./roll.js";
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

/** What the deployer knows of a deployment while it converges it. */
interface World {
  loaded: LoadedDeployment;
  actual: ActualDeployment;
  nodes?: NodeHealth | undefined;
  /** The scheduler's answer, once asked. */
  placed?: PlacementAnswer;
}

/** The plans that end a convergence (a roll may lead to a build instead: see rolled). */
type FinalPlan = Exclude<DeploymentPlan, { action: "build" | "place" | "roll" }>;

export class Deployer {
  private readonly converging = new KeyLock();

  constructor(private readonly options: DeployerOptions) {}

  /** Converges one deployment; calls for the same deployment run one after another. */
  converge(deploymentId: string, signal?: AbortSignal): Promise<void> {
    return this.converging.run(deploymentId, () => this.convergeNow(deploymentId, signal));
  }

  /** Gives every routing row the configuration's TLS, and re-syncs the edges when one changed. */
  async alignRouteTls(): Promise<number> {
    const changed = await this.options.records.alignRouteTls();
    if (changed > 0) await this.options.routes.sync();
    return changed;
  }

  /**
   * Plans, and carries the plan out; a build, a placement or a build asked for again after a
   * roll changes what is known: plan again.
   */
  private async convergeNow(deploymentId: string, signal?: AbortSignal): Promise<void> {
    let world = await this.observe(deploymentId);
    const reservations: Array<() => void> = [];
    const release = () => {
      for (const done of reservations.splice(0)) done();
    };
    // Whether this convergence built: an image missing right after its build is not built again.
    let builtNow = false;
    try {
      while (world) {
        const plan = planDeployment(
          this.desired(world),
          world.actual,
          world.nodes,
          this.options.now?.() ?? new Date(),
        );
        if (plan.action === "build") {
          const built = await this.options.builds.build(world.loaded.row, signal);
          builtNow = true;
          world = built ? await this.observe(deploymentId) : undefined;
        } else if (plan.action === "place") {
          world.placed = await this.place(plan.request, reservations);
        } else if (plan.action === "roll") {
          if (!(await this.rolled(plan, world, builtNow, signal))) return;
          // The placements were for the lost build's replicas; the new build's are asked anew.
          release();
          world = await this.observe(deploymentId);
        } else {
          return await this.carryOut(plan, world);
        }
      }
    } finally {
      release();
    }
  }

  /**
   * Carries out a roll. Its new version not up: planFailedStart says whether the deployment fails,
   * builds its build's commit again (true: plan again), or is tried again later (the error is
   * thrown, and the reconciler's backoff retries it).
   */
  private async rolled(
    plan: RollPlan,
    world: World,
    builtNow: boolean,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const { row } = world.loaded;
    const { records, logger } = this.options;
    const broke = await carryOutRoll(this.options, row, plan, world.actual.containers, signal);
    if (broke === undefined) return false;
    const { failure } = broke;
    const next = planFailedStart(plan.build, failure, builtNow);
    if (next.action === "retry") throw broke.error;
    if (next.action === "fail") {
      await records.setStatus(row, next.status);
      return false;
    }
    logger.warn(
      {
        deploymentId: row.id,
        buildId: next.lostBuildId,
        commit: next.commit,
        reason: failure.message,
      },
      "the build's image is on no reachable engine: building its commit again",
    );
    // Undefined when a redeploy, a rollback or a stop came first: planning again follows it.
    await records.buildAgain(row, next.lostBuildId, next.commit, next.status);
    return true;
  }

  /** The deployment's records, what the engine runs of it and, on a cluster, the nodes. */
  private async observe(deploymentId: string): Promise<World | undefined> {
    const { runtime, records, placer } = this.options;
    const loaded = await records.load(deploymentId);
    if (!loaded) return undefined;
    const engineError = await runtime.ping().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    if (engineError !== undefined) return { loaded, actual: { engineError, containers: [] } };
    const containers = await runtime.list({ deploymentId });
    const nodes =
      placer && loaded.row.desiredState === "running" ? await placer.nodeHealth() : undefined;
    return { loaded, actual: { containers, recorded: loaded.recorded }, nodes };
  }

  /** Asks the scheduler; its reservations are held until the deployment is converged. */
  private async place(
    { slots, ...request }: PlaceRequestSpec,
    reservations: Array<() => void>,
  ): Promise<PlacementAnswer> {
    const { placer } = this.options;
    if (!placer) throw new Error("a placement was planned without a scheduler");
    const outcome = await placer.place({ ...request, replicas: slots.length });
    if (!outcome.ok) return { ok: false, message: outcome.message };
    reservations.push(outcome.release);
    return { ok: true, nodes: outcome.placements.map((p) => p.nodeId) };
  }

  private async carryOut(plan: FinalPlan, world: World): Promise<void> {
    const { row } = world.loaded;
    const { records } = this.options;
    switch (plan.action) {
      case "none":
        return;
      case "fail":
        await records.setStatus(row, plan.status);
        return;
      case "retry":
        throw resourceExhausted(plan.message);
      case "forget":
        return this.forget(row);
      case "remove":
        return this.remove(row, plan.retire);
      case "stop":
        await retireContainers(this.options, row.id, plan.retire, []);
        if (plan.status) await records.setStatus(row, plan.status);
        return;
    }
  }

  private desired({ loaded, placed }: World): DesiredDeployment {
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

  /** Unroutes, retires every container, removes the images, then drops the records. */
  private async remove(row: DeploymentRow, containers: readonly ContainerRef[]) {
    const { records, runtime, logger } = this.options;
    await records.unroute(row.id);
    await retireContainers(this.options, row.id, containers, []);
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
}
