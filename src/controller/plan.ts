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
 *
 * On a cluster (containers carry the node they are pinned to), a replica's name also depends on
 * its node (see containerNames), and:
 * - a replica on an unusable node (drained, down, or silent past the heartbeat timeout) does not
 *   count as up, and its deployment is converged, which places it again elsewhere;
 * - two containers for one replica (a migration cut short) make the deployment converge;
 * - a location that says another node or port than its container's is dropped, and its
 *   deployment converged, which records it again as it is.
 */
import type { ContainerRef } from "./ports.js";
import { containerNames, INSTALLATION_LABEL } from "./replica-names.js";

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
  /** Where the record says the container runs; compared when the container says too. */
  nodeId?: string;
  port?: number;
}

export interface PlanOptions {
  orphanPolicy: "remove" | "keep";
  installationId?: string;
  /** On a cluster: nodes nothing should run on (drained, down, silent). */
  unusableNodes?: readonly string[];
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
  options: PlanOptions,
): ReconcilePlan {
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
  const running = new Map<string, ContainerRef>();
  for (const c of actual) if (c.state === "running") running.set(c.id, c);
  const unusable = new Set(options.unusableNodes ?? []);

  const converge = new Set<string>();

  const dropLocations: string[] = [];
  for (const location of locations) {
    const c = running.get(location.containerId);
    if (!c || lies(location, c)) {
      dropLocations.push(location.id);
      converge.add(location.deploymentId);
    }
  }

  for (const d of desired) {
    const containers = containersOf.get(d.id) ?? [];
    containersOf.delete(d.id); // what is left at the end has no record
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
    if (!replicasUp(d, d.currentBuildId, containers, unusable) || d.status !== "running") {
      converge.add(d.id);
    }
  }

  const removeOrphans: string[] = [];
  if (options.orphanPolicy === "remove") {
    for (const containers of containersOf.values()) {
      for (const c of containers) removeOrphans.push(c.id);
    }
  }

  return {
    converge: [...converge].sort(),
    removeOrphans: removeOrphans.sort(),
    dropLocations: dropLocations.sort(),
  };
}

/**
 * Whether every replica of the deployment's current build runs (healthy, or without a health
 * check) on a usable node, once, and nothing else of the deployment runs. A container is its
 * replica's when its name is the one the deployer gives that replica on the container's node.
 */
function replicasUp(
  d: DesiredDeployment,
  buildId: string,
  containers: ContainerRef[],
  unusable: ReadonlySet<string>,
): boolean {
  const up = new Array<boolean>(d.replicas).fill(false);
  const count = new Array<number>(d.replicas).fill(0);
  for (const c of containers) {
    // Remembered by containerNames: asking again for each container is a lookup, not a hash.
    const names = containerNames(d.id, d.replicas, buildId, d.restartGeneration, c.nodeId);
    const replica = names.indexOf(c.name);
    if (replica < 0 || (c.nodeId !== undefined && unusable.has(c.nodeId))) return false;
    count[replica] = (count[replica] ?? 0) + 1;
    if (c.state === "running" && c.health !== "unhealthy") up[replica] = true;
  }
  return up.every(Boolean) && count.every((n) => n === 1);
}

/** A record that names another node or port than the container it points at. */
function lies(location: RecordedLocation, c: ContainerRef): boolean {
  if (location.nodeId !== undefined && c.nodeId !== undefined && location.nodeId !== c.nodeId) {
    return true;
  }
  return (
    location.port !== undefined &&
    location.port > 0 &&
    c.hostPort !== undefined &&
    location.port !== c.hostPort
  );
}
