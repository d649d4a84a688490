/**
 * The reconciler's pure core: what the database wants against what the engine runs, and the
 * difference as buckets of work, each deployment judged by planDeployment (plan-deployment.ts)
 * from what a pass reads. No I/O.
 *
 * Policies, stated:
 * - Containers labelled with another installation's id are ignored: several installations may
 *   share an engine. Labelled containers with no installation label (started by hand, or by an
 *   older version) count as this installation's.
 * - A labelled container whose deployment has no record is an orphan: removed (ORPHAN_POLICY
 *   "remove", the default) or left alone ("keep"). Never adopted: with no record there is no
 *   owner to bill, route or protect.
 * - A location record whose container is gone or no longer running is dropped, and its
 *   deployment converged again, which starts a replacement. Container ids are unique in what
 *   the engine lists.
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
import { LABELS } from "../domain/index.js";
import type { ContainerRef } from "../runtime/index.js";
import {
  type BuildFacts,
  type DeploymentFacts,
  type DeploymentPlan,
  type NodeHealth,
  planDeployment,
} from "./plan-deployment.js";
import { ShardedMap } from "./sharded-map.js";

export interface DesiredDeployment {
  id: string;
  /** The plan names the project's network from it, as the deployer does. */
  projectId: string;
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

/**
 * What a pass does, by kind. Each deployment is in one bucket at most, and the deployer plans
 * it again in full (planDeployment, with its build, domains and records) when it converges it.
 */
export interface ReconcilePlan {
  /** To build, or to start (or restart, scale, route, record) replicas of on one engine. */
  start: string[];
  /** To stop: containers still run, or the status does not say stopped yet. */
  stop: string[];
  /** To delete. */
  remove: string[];
  /** On a cluster, with replicas to place: new ones, or ones on an unusable node. */
  place: string[];
  /** Labelled containers no deployment owns (ORPHAN_POLICY=remove). */
  removeOrphans: string[];
  /** Locations whose container is gone, not running, or elsewhere. */
  dropLocations: string[];
}

/** Every deployment the plan converges, in id order. */
export function deploymentsToConverge(plan: ReconcilePlan): string[] {
  return [...plan.start, ...plan.stop, ...plan.remove, ...plan.place].sort();
}

export type Bucket = "start" | "stop" | "remove" | "place";

/** The bucket of each kind of deployment plan; "none" and "fail" need no pass. */
const BUCKET: Partial<Record<DeploymentPlan["action"], Bucket>> = {
  build: "start",
  roll: "start",
  stop: "stop",
  remove: "remove",
  forget: "remove",
  place: "place",
};

const NO_DEFAULTS = { cpuMillicores: 0, memoryMb: 0 };
const EPOCH = new Date(0);

export function planReconcile(
  desired: DesiredDeployment[],
  actual: ContainerRef[],
  locations: RecordedLocation[],
  options: PlanOptions,
): ReconcilePlan {
  // Every index of the pass is a ShardedMap: on a large installation one Map would be a large
  // object, allocated anew on every pass (sharded-map.ts). The containers are grouped by the
  // position of their deployment in `desired`; those of no deployment are orphans.
  const position = positions(desired);
  const containersOf = new Array<ContainerRef[] | undefined>(desired.length);
  const orphans: ContainerRef[] = [];
  for (const c of actual) {
    // Another installation's container on a shared engine is not ours to judge.
    const owner = c.labels[LABELS.installation];
    if (
      options.installationId !== undefined &&
      owner !== undefined &&
      owner !== options.installationId
    ) {
      continue;
    }
    const i = position.get(c.labels[LABELS.deploymentId] ?? "");
    if (i === undefined) orphans.push(c);
    else {
      const list = containersOf[i];
      if (list) list.push(c);
      else containersOf[i] = [c];
    }
  }
  const nodes: NodeHealth = { unusable: options.unusableNodes ?? [], down: [] };

  const bucketOf = new ShardedMap<Bucket>(desired.length / 8);
  for (let i = 0; i < desired.length; i++) {
    const d = desired[i] as DesiredDeployment;
    const bucket = judge(d, containersOf[i] ?? [], nodes);
    if (bucket) bucketOf.set(d.id, bucket);
  }

  const dropLocations: string[] = [];
  // Read only for a dropped location whose deployment converges for no other reason: rare.
  let desiredState: ShardedMap<DesiredDeployment["desiredState"]> | undefined;
  const drop = (location: RecordedLocation) => {
    dropLocations.push(location.id);
    // Converged again, which records it again as it is, or starts a replacement.
    if (!bucketOf.has(location.deploymentId)) {
      desiredState ??= desiredStates(desired);
      const state = desiredState.get(location.deploymentId);
      bucketOf.set(
        location.deploymentId,
        state === "stopped" ? "stop" : state === "deleted" ? "remove" : "start",
      );
    }
  };
  // A location's container is looked for among its deployment's first; the few found nowhere
  // there (gone, stopped, another deployment's) are then looked for among all at once.
  const elsewhere: RecordedLocation[] = [];
  for (const location of locations) {
    const i = position.get(location.deploymentId);
    const c = i === undefined ? undefined : runningOf(containersOf[i], location.containerId);
    if (c === undefined) elsewhere.push(location);
    else if (lies(location, c)) drop(location);
  }
  if (elsewhere.length > 0) {
    const running = runningById(actual, elsewhere);
    for (const location of elsewhere) {
      const c = running.get(location.containerId);
      if (!c || lies(location, c)) drop(location);
    }
  }

  const removeOrphans = options.orphanPolicy === "remove" ? orphans.map((c) => c.id) : [];

  const plan: ReconcilePlan = {
    start: [],
    stop: [],
    remove: [],
    place: [],
    removeOrphans: removeOrphans.sort(),
    dropLocations: dropLocations.sort(),
  };
  for (const [id, bucket] of bucketOf.entries()) plan[bucket].push(id);
  for (const bucket of ["start", "stop", "remove", "place"] as const) plan[bucket].sort();
  return plan;
}

/**
 * The bucket of one deployment, judged by planDeployment from its containers (those labelled
 * with its id, of this installation); undefined when it needs no pass.
 */
export function judge(
  d: DesiredDeployment,
  containers: readonly ContainerRef[],
  nodes: NodeHealth,
): Bucket | undefined {
  // A failed deployment is left as it is until someone redeploys it.
  if (d.desiredState === "running" && d.status === "failed") return undefined;
  const plan = planDeployment(
    {
      deployment: deploymentFacts(d),
      build: d.currentBuildId === null ? undefined : builtAs(d.currentBuildId),
      domains: [],
      defaults: NO_DEFAULTS,
    },
    { containers },
    // Containers on a cluster carry their node, and are named for it.
    onNodes(containers) ? nodes : undefined,
    EPOCH,
  );
  return BUCKET[plan.action];
}

/** The running container of this id among these, if any. */
function runningOf(containers: readonly ContainerRef[] | undefined, id: string) {
  if (containers === undefined) return undefined;
  for (const c of containers) if (c.id === id && c.state === "running") return c;
  return undefined;
}

/** Of the containers the locations point at, those that run, by id; one look at every container. */
function runningById(actual: readonly ContainerRef[], locations: readonly RecordedLocation[]) {
  const running = new ShardedMap<ContainerRef | null>(locations.length);
  for (const location of locations) running.set(location.containerId, null);
  for (const c of actual) if (c.state === "running" && running.has(c.id)) running.set(c.id, c);
  return running;
}

/** Whether any of the containers carries its node: then they run on a cluster. */
function onNodes(containers: readonly ContainerRef[]): boolean {
  for (const c of containers) if (c.nodeId !== undefined) return true;
  return false;
}

/**
 * Each deployment's position in `desired`, by id; of two rows of one id (none in a database),
 * the first's.
 */
function positions(desired: readonly DesiredDeployment[]): ShardedMap<number> {
  const position = new ShardedMap<number>(desired.length);
  for (let i = desired.length - 1; i >= 0; i--) {
    position.set((desired[i] as DesiredDeployment).id, i);
  }
  return position;
}

/** Each deployment's desired state, by id (the last row of an id, were there two). */
function desiredStates(desired: readonly DesiredDeployment[]) {
  const states = new ShardedMap<DesiredDeployment["desiredState"]>(desired.length);
  for (const d of desired) states.set(d.id, d.desiredState);
  return states;
}

/** The reconciler reads no build rows: a current build is one that succeeded. */
function builtAs(buildId: string): BuildFacts {
  return { id: buildId, status: "succeeded", imageId: "", commitSha: "", port: 0 };
}

function deploymentFacts(d: DesiredDeployment): DeploymentFacts {
  return {
    id: d.id,
    projectId: d.projectId,
    organizationId: "",
    desiredState: d.desiredState,
    status: d.status,
    currentBuildId: d.currentBuildId,
    replicas: d.replicas,
    restartGeneration: d.restartGeneration,
    strategy: "",
    cpuMillicores: 0,
    memoryMb: 0,
  };
}
/** A record that names another node or port than the container it points at. */
export function lies(location: RecordedLocation, c: ContainerRef): boolean {
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
