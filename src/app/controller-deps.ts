/**
 * The controller's dependencies, taken from the AppContext: the controller's pieces name what
 * they use (their `…Deps` interface beside them), and this chooses which configuration variable
 * feeds which of their settings.
 */
import {
  type BuildStepDeps,
  type ClusterOptions,
  type ControllerDeps,
  clusterOptionsOf,
  type DeploymentRecordsDeps,
  type PlacementGuardDeps,
} from "../controller/index.js";
import type { AppContext } from "../core/index.js";
import type { EdgeTls } from "../edge/index.js";

/** CreateDeployment's placement check, on the cluster the configuration describes. */
export function placementGuardDeps(
  ctx: AppContext,
  cluster: ClusterOptions = clusterOptionsOf(ctx.config),
): PlacementGuardDeps {
  return {
    db: ctx.db,
    now: ctx.now,
    runtime: cluster.runtime,
    strategy: cluster.strategy,
    heartbeatTimeoutMs: cluster.heartbeatTimeoutMs,
    defaults: {
      cpuMillicores: ctx.config.DEFAULT_CPU_MILLICORES,
      memoryMb: ctx.config.DEFAULT_MEMORY_MB,
    },
  };
}

/** With the edge's TLS as the deploy path derived it (src/edge/edge-tls.ts). */
export function deploymentRecordsDeps(ctx: AppContext, tls: EdgeTls): DeploymentRecordsDeps {
  return {
    db: ctx.db,
    bus: ctx.services.bus,
    cache: ctx.services.cache,
    secrets: ctx.secrets,
    logger: ctx.logger,
    now: ctx.now,
    routeTls: tls.enabled,
  };
}

export function buildStepDeps(
  ctx: AppContext,
  parts: Pick<BuildStepDeps, "builder" | "records" | "removeImage" | "abandon">,
): BuildStepDeps {
  return {
    db: ctx.db,
    bus: ctx.services.bus,
    secrets: ctx.secrets,
    logger: ctx.logger,
    now: ctx.now,
    ...parts,
  };
}

export function controllerDeps(
  ctx: AppContext,
  parts: Pick<ControllerDeps, "deployer" | "reconciler" | "leaderLoops">,
): ControllerDeps {
  return {
    lock: ctx.services.lock,
    queue: ctx.services.queue,
    bus: ctx.services.bus,
    logger: ctx.logger,
    ...parts,
  };
}
