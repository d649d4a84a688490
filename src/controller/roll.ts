/**
 * A roll, carried out: the steps planDeployment put in a RollPlan (plan-deployment.ts), in their
 * order, through the runtime, the deployment records and the edges. New replicas are started
 * beside what runs and must all be healthy before they are recorded and routed; only then is
 * everything else of the deployment retired. A new version that does not come up is removed and
 * reported to the deployer, which decides what follows (planFailedStart): fail, build again, or
 * try again later.
 */
import type { Logger } from "pino";
import { DomainError, hasReason } from "../domain/index.js";
import type { ContainerRef, RuntimePort, Started } from "../runtime/index.js";
import type { DeploymentRecords, DeploymentRow } from "./deployment-records.js";
import {
  type RollPlan,
  type RollStep,
  type StartFailure,
  type StatusChange,
  settleRoll,
} from "./plan-deployment.js";
import type { RouteSync } from "./routing.js";

/** What carrying out a roll (or retiring containers) needs. */
export interface RollPorts {
  runtime: RuntimePort;
  records: DeploymentRecords;
  routes: Pick<RouteSync, "sync">;
  /** The node the runtime's engine is, for deployment_locations. */
  nodeId: () => string;
  healthTimeoutMs: number;
  logger: Logger;
}

/** A new version that did not come up: what the planner reads, and the error as thrown. */
export interface RollFailure {
  failure: StartFailure;
  /** Thrown again by the deployer when the failure is to be tried again. */
  error: unknown;
}

/**
 * Takes the roll's steps in order. A failure to start or become healthy ends it: the new
 * version is removed, and the failure returned for the deployer to decide on.
 */
export async function carryOutRoll(
  ports: RollPorts,
  row: DeploymentRow,
  plan: RollPlan,
  actual: readonly ContainerRef[],
  signal?: AbortSignal,
): Promise<RollFailure | undefined> {
  const roll = new Roll(ports, row, plan, actual, signal);
  for (const step of plan.steps) {
    try {
      await roll.step(step);
    } catch (error) {
      return roll.broke(step, error);
    }
  }
  return undefined;
}

class Roll {
  private env: Record<string, string> = {};
  private readonly started: Array<Started & { replica: number }> = [];
  private settled: StatusChange | undefined;

  constructor(
    private readonly ports: RollPorts,
    private row: DeploymentRow,
    private readonly plan: RollPlan,
    private readonly actual: readonly ContainerRef[],
    private readonly signal: AbortSignal | undefined,
  ) {}

  async step(step: RollStep): Promise<void> {
    const { runtime, records } = this.ports;
    const id = this.row.id;
    switch (step) {
      case "announce":
        if (this.plan.announce) this.row = await records.setStatus(this.row, this.plan.announce);
        return;
      case "network":
        this.env = { ...(await records.env(id)), PORT: String(this.plan.build.port) };
        return runtime.ensureNetwork(this.plan.network.name, this.plan.network.labels);
      case "run":
        for (const r of this.plan.replicas) {
          // On a cluster, the node gets the image first (copied over, or pushed to the registry).
          if (r.nodeId !== undefined)
            await runtime.prepareImage?.(this.plan.build.imageId, r.nodeId, this.signal);
          const container = await runtime.run({
            name: r.name,
            image: this.plan.build.imageId,
            env: this.env,
            labels: this.plan.labels[r.replica] ?? {},
            network: this.plan.network.name,
            internalPort: this.plan.build.port,
            ...this.plan.limits,
            ...(r.nodeId !== undefined ? { nodeId: r.nodeId } : {}),
          });
          this.started.push({ ...container, replica: r.replica });
        }
        return;
      case "await-healthy": {
        const options = {
          timeoutMs: this.ports.healthTimeoutMs,
          ...(this.signal ? { signal: this.signal } : {}),
        };
        await Promise.all(this.started.map((c) => runtime.waitHealthy(c.id, options)));
        return;
      }
      case "record":
        return records.record(
          id,
          this.plan.build.id,
          this.plan.routes.domains,
          this.plan.routes.port,
          this.started.map((c) => ({
            replica: c.replica,
            containerId: c.id,
            nodeId: c.nodeId ?? this.ports.nodeId(),
            address: c.address ?? runtime.hostAddress,
            port: c.hostPort,
          })),
        );
      case "route":
        return this.ports.routes.sync();
      case "retire": {
        const settled = settleRoll(
          this.plan,
          await runtime.list({ deploymentId: id }),
          this.started,
        );
        this.settled = settled.status;
        return retireContainers(
          this.ports,
          id,
          settled.retire,
          this.started.map((c) => c.id),
        );
      }
      case "settle":
        if (this.settled) await records.setStatus(this.row, this.settled);
        return;
    }
  }

  /**
   * A roll step failed. Starting or becoming healthy: the new version goes, what served before
   * keeps serving, and the failure is returned (planFailedStart decides what follows).
   * Recording: the deployment may have been deleted meanwhile (it had no location yet, so
   * DeleteDeployment removed its record at once): its containers and image go too.
   */
  async broke(step: RollStep, error: unknown): Promise<RollFailure | undefined> {
    const { runtime, records } = this.ports;
    const id = this.row.id;
    if (step === "run" || step === "await-healthy") {
      const fresh = this.started.filter((c) => !this.actual.some((a) => a.id === c.id));
      for (const c of fresh) {
        await runtime
          .remove(c.id)
          .catch((removeError: unknown) =>
            this.ports.logger.warn(
              { err: removeError, deploymentId: id, containerId: c.id },
              "removing a replica that did not come up failed; the reconciler removes it later",
            ),
          );
      }
      if (this.signal?.aborted) throw error;
      if (!(await records.exists(id))) {
        await removeAbandoned(runtime, this.ports.logger, id);
        return undefined;
      }
      return {
        failure: {
          phase: step === "run" ? "start" : "health",
          message: error instanceof Error ? error.message : String(error),
          imageMissing: hasReason(error, "image_missing"),
          kind: error instanceof DomainError ? error.kind : undefined,
          nodeUnavailable: hasReason(error, "node_unavailable"),
        },
        error,
      };
    }
    if (step === "record" && !(await records.exists(id))) {
      await removeAbandoned(runtime, this.ports.logger, id);
      return undefined;
    }
    throw error;
  }
}

/** Unroutes the given containers first, then stops and removes them. */
export async function retireContainers(
  ports: Pick<RollPorts, "records" | "routes" | "runtime" | "logger">,
  deploymentId: string,
  containers: readonly ContainerRef[],
  keepIds: readonly string[],
): Promise<void> {
  const { records, runtime, logger } = ports;
  await records.unrecord(deploymentId, keepIds);
  await ports.routes.sync();
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

/** Removes the containers and images of a deployment whose record went while it deployed. */
export async function removeAbandoned(runtime: RuntimePort, logger: Logger, deploymentId: string) {
  logger.info({ deploymentId }, "deleted while deploying: removing its containers and images");
  for (const c of await runtime.list({ deploymentId })) await runtime.remove(c.id);
  await runtime.removeImagesOf?.(deploymentId);
}
