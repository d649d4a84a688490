/**
 * The reconciler's pure core: what the database wants against what the engine runs, and the
 * difference as actions. No I/O; `now` is passed in.
 *
 * Policies, stated:
 * - Containers labelled with another installation's id are ignored: several installations may
 *   share an engine. Labelled containers with no installation label (started by hand, or by an
 *   older version) count as this installation's.
 * - A labelled container whose deployment has no record is an orphan: removed (ORPHAN_POLICY
 *   "remove", the default) or left alone ("keep"). Never adopted: with no record there is no
 *   owner to bill, route or protect.
 * - A location record whose container is gone or no longer running is dropped, and its
 *   deployment converged again, which starts a replacement.
 * - A deployment that should run but lacks a running container of its current build, that is
 *   stopped or deleted but still has containers, or that a crash left in the middle of a build
 *   or a deploy, is converged.
 * - A failed deployment is left as it is until someone redeploys it: retrying a build that
 *   failed would fail again.
 */
import { containerNames } from "./deployer.js";
import { INSTALLATION_LABEL } from "./installation.js";
import type { ContainerRef } from "./ports.js";

export interface DesiredDeployment {
  id: string;
  desiredState: "running" | "stopped" | "deleted";
  status: string;
  currentBuildId: string | null;
  replicas: number;
  restartGeneration: number;
}

export interface RecordedLocation {
  id: string;
  deploymentId: string;
  containerId: string;
}

export interface ReconcilePlan {
  converge: string[];
  removeOrphans: string[];
  dropLocations: string[];
}

export function planReconcile(
  desired: DesiredDeployment[],
  actual: ContainerRef[],
  locations: RecordedLocation[],
  options: { orphanPolicy: "remove" | "keep"; installationId?: string },
): ReconcilePlan {
  const byId = new Map(desired.map((d) => [d.id, d]));
  const containersOf = new Map<string, ContainerRef[]>();
  for (const c of actual) {
    // Another installation's container on a shared engine is not ours to judge.
    const owner = c.labels[INSTALLATION_LABEL];
    if (
      options.installationId !== undefined &&
      owner !== undefined &&
      owner !== options.installationId
    ) {
      continue;
    }
    const id = c.labels["cloud.obiente.deployment_id"] ?? "";
    const list = containersOf.get(id);
    if (list) list.push(c);
    else containersOf.set(id, [c]);
  }
  const running = new Set(actual.filter((c) => c.state === "running").map((c) => c.id));

  const converge = new Set<string>();
  const removeOrphans: string[] = [];
  for (const [deploymentId, containers] of containersOf) {
    if (!byId.has(deploymentId) && options.orphanPolicy === "remove") {
      removeOrphans.push(...containers.map((c) => c.id));
    }
  }

  const dropLocations: string[] = [];
  for (const location of locations) {
    if (!running.has(location.containerId)) {
      dropLocations.push(location.id);
      converge.add(location.deploymentId);
    }
  }

  for (const d of desired) {
    const containers = containersOf.get(d.id) ?? [];
    if (d.desiredState !== "running") {
      if (containers.length > 0 || d.desiredState === "deleted" || d.status !== "stopped")
        converge.add(d.id);
      continue;
    }
    if (d.status === "failed") continue;
    if (d.currentBuildId === null) {
      converge.add(d.id); // never built, or a build a crash interrupted
      continue;
    }
    const buildId = d.currentBuildId;
    const wanted = containerNames(d.id, d.replicas, buildId, d.restartGeneration);
    const healthy = (name: string) =>
      containers.some((c) => c.name === name && c.state === "running" && c.health !== "unhealthy");
    const extra = containers.some((c) => !wanted.includes(c.name));
    if (!wanted.every(healthy) || extra || d.status !== "running") converge.add(d.id);
  }

  return {
    converge: [...converge].sort(),
    removeOrphans: removeOrphans.sort(),
    dropLocations: dropLocations.sort(),
  };
}
