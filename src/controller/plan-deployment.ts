/**
 * What one deployment needs, decided without I/O: a pure function from what its records want
 * (the deployment, its current build, its verified domains), what the engine runs and what the
 * scheduler says of the nodes, to a plan that the deployer (deployer.ts) carries out step by step.
 *
 * - deleted: retire every container, then drop the records ("remove"); with no engine, only the
 *   records ("forget").
 * - stopped: retire every container, and say "stopped" ("stop").
 * - running, never built (or a build a crash interrupted): build, then plan again ("build").
 * - running, built: one replica per slot 0…replicas-1 of the current build and restart
 *   generation. On a single engine a slot's name is fixed; on a cluster a slot whose container
 *   runs on a usable node stays there, and the others are placed by the scheduler ("place", then
 *   plan again with its answer). Then "roll": start the wanted replicas beside what runs, wait
 *   until every one is healthy, record and route them, and only then retire everything else of
 *   the deployment. A new version that does not come up is removed, and what served keeps
 *   serving (rolling, or blue-green for one replica: the same order). A new version that could
 *   not start because its image is on no reachable engine is built again from its commit
 *   (planFailedStart).
 * - nothing to do when every slot runs, healthy, nothing else of the deployment runs, the
 *   records say so and the status is "running" ("none").
 *
 * Names and labels come from src/runtime/names.ts and src/domain/labels.ts, so that the plan and
 * the engine agree on them.
 */
import { DEPLOYMENT_LABEL_VALUE, type DomainErrorKind, LABELS } from "../domain/index.js";
import {
  type ContainerRef,
  containerNames,
  deploymentLabels,
  projectNetworkName,
} from "../runtime/index.js";

/** The columns of a deployments row the plan reads. */
export interface DeploymentFacts {
  id: string;
  projectId: string;
  organizationId: string;
  desiredState: "running" | "stopped" | "deleted";
  status: string;
  currentBuildId: string | null;
  replicas: number;
  restartGeneration: number;
  /** The deployment's own placement strategy ("" for the platform's). */
  strategy: string;
  /** 0 when the deployment sets none: the platform's default applies. */
  cpuMillicores: number;
  memoryMb: number;
}

/** The columns of the current build's row the plan reads. */
export interface BuildFacts {
  id: string;
  status: string;
  imageId: string;
  commitSha: string;
  /** The port the app listens on inside the container. */
  port: number;
}

/** What the deployment's records want. */
export interface DesiredDeployment {
  deployment: DeploymentFacts;
  /** The current build's row; undefined when there is none or it is missing. */
  build?: BuildFacts | undefined;
  /** Verified domains only: a custom domain whose ownership is not proven is not served. */
  domains: readonly string[];
  /** The limits a deployment that sets none runs with. */
  defaults: { cpuMillicores: number; memoryMb: number };
  /** The installation's id, put on every container (shared engines). */
  installationId?: string | undefined;
  /** Labels the edge wants on the containers (Traefik's), given the deployment and its domains. */
  edgeLabels?: Readonly<Record<string, string>> | undefined;
  /** The scheduler's answer to this deployment's last "place" plan, in the order it asked. */
  placed?: PlacementAnswer | undefined;
}

export type PlacementAnswer =
  | { ok: true; nodes: readonly string[] }
  | { ok: false; message: string };

/** What the engine and the records say runs. */
export interface ActualDeployment {
  /** Undefined when the engine answered; otherwise why not. */
  engineError?: string | undefined;
  /** The deployment's containers, as the engine lists them. */
  containers: readonly ContainerRef[];
  /**
   * The recorded locations and routes; undefined when not read (the reconciler compares the
   * locations itself): then they are taken to agree.
   */
  recorded?: RecordedState | undefined;
}

export interface RecordedState {
  /** The containers deployment_locations records for the deployment. */
  locations: ReadonlyArray<{ containerId: string; port: number }>;
  /** The deployment's routing rows. */
  routes: ReadonlyArray<{ domain: string; targetPort: number }>;
}

/** The scheduler's view of the nodes; undefined on a single engine. */
export interface NodeHealth {
  /** Drained, down, or silent past the heartbeat timeout: nothing should run there. */
  unusable: readonly string[];
  /** Among them, those whose replicas serve no more (down or silent). */
  down: readonly string[];
}

/** A replica to run: its slot, its deterministic name and, on a cluster, its node. */
export interface ReplicaSpec {
  replica: number;
  name: string;
  nodeId?: string;
  /** Whether a container of this name already runs and is not unhealthy. */
  running: boolean;
}

export interface StatusChange {
  status: "deploying" | "running" | "stopped" | "failed";
  message: string;
}

/** The steps of a roll, in the order the deployer takes them. */
export type RollStep =
  /** Say "deploying" (only when something is to start). */
  | "announce"
  /** Make sure the project's network exists. */
  | "network"
  /** Start every wanted replica (a no-op for one that runs). */
  | "run"
  /** Wait until every wanted replica is healthy; on failure remove those just started, stop. */
  | "await-healthy"
  /** Record where the replicas run, and the routing rows of the domains. */
  | "record"
  /** Make the edges follow the records. */
  | "route"
  /** Unroute, stop and remove every container of the deployment that is not wanted. */
  | "retire"
  /** Say "running", unless nothing changed. */
  | "settle";

export interface RollPlan {
  action: "roll";
  build: BuildFacts;
  /** Set when the "announce" step is to say something. */
  announce?: StatusChange;
  network: { name: string; labels: Record<string, string> };
  /** One per slot, in slot order. */
  replicas: ReplicaSpec[];
  /** Labels of each replica's container, by slot. */
  labels: Array<Record<string, string>>;
  limits: { cpuMillicores: number; memoryMb: number };
  routes: { domains: readonly string[]; port: number };
  /** Every wanted replica already ran and the status said "running": a quiet roll keeps the status. */
  quiet: boolean;
  steps: readonly RollStep[];
}

export interface PlaceRequestSpec {
  deploymentId: string;
  strategy: string;
  /** The slots to place, in the order the placements come back. */
  slots: number[];
  cpuMillicores: number;
  memoryMb: number;
  /** Nodes where replicas of the deployment run and stay. */
  existing: string[];
  /** Nodes the deployment moves off. */
  avoidNodes: string[];
}

export type DeploymentPlan =
  | { action: "none" }
  | { action: "fail"; status: StatusChange }
  /** The engine or the scheduler cannot do it now, while what runs still serves: try later. */
  | { action: "retry"; message: string }
  | { action: "forget" }
  | { action: "remove"; retire: readonly ContainerRef[] }
  | { action: "stop"; retire: readonly ContainerRef[]; status?: StatusChange }
  | { action: "build" }
  | { action: "place"; request: PlaceRequestSpec }
  | RollPlan;

/** The order of a roll: new replicas healthy and routed before anything old goes. */
export const ROLL_STEPS: readonly RollStep[] = [
  "announce",
  "network",
  "run",
  "await-healthy",
  "record",
  "route",
  "retire",
  "settle",
];

const NONE: DeploymentPlan = { action: "none" };

/**
 * What the deployment needs. `now` is the time of the decision: no decision depends on it yet
 * (the health timeout is the runtime's), and it is taken so that none reads the clock.
 */
export function planDeployment(
  desired: DesiredDeployment,
  actual: ActualDeployment,
  nodes: NodeHealth | undefined,
  _now: Date,
): DeploymentPlan {
  const { deployment } = desired;
  if (actual.engineError !== undefined) {
    // No engine: say where we looked, at once, rather than retrying in silence.
    if (deployment.desiredState === "deleted") return { action: "forget" };
    return { action: "fail", status: { status: "failed", message: actual.engineError } };
  }
  if (deployment.desiredState === "deleted") {
    return { action: "remove", retire: actual.containers };
  }
  if (deployment.desiredState === "stopped") {
    const recorded = actual.recorded?.locations.length ?? 0;
    if (actual.containers.length === 0 && recorded === 0 && deployment.status === "stopped") {
      return NONE;
    }
    return {
      action: "stop",
      retire: actual.containers,
      ...(deployment.status !== "stopped"
        ? { status: { status: "stopped", message: "stopped" } as const }
        : {}),
    };
  }
  if (deployment.currentBuildId === null) return { action: "build" };
  const { build } = desired;
  if (build?.status !== "succeeded" || build.id !== deployment.currentBuildId) {
    return {
      action: "fail",
      status: {
        status: "failed",
        message: "the deployment's build is missing or did not succeed: redeploy it",
      },
    };
  }
  const wanted = nodes
    ? placedReplicas(desired, build, actual.containers, nodes)
    : fixedReplicas(deployment, build, actual.containers);
  if (!Array.isArray(wanted)) return wanted;
  return roll(desired, build, actual, wanted);
}

/** On a single engine: replica r of the current build, always the same name. */
function fixedReplicas(
  d: DeploymentFacts,
  build: BuildFacts,
  containers: readonly ContainerRef[],
): ReplicaSpec[] {
  const names = containerNames(d.id, d.replicas, build.id, d.restartGeneration);
  const wanted = new Array<ReplicaSpec>(names.length);
  for (let replica = 0; replica < names.length; replica++) {
    const name = names[replica] as string;
    wanted[replica] = { replica, name, running: runs(containers, name) };
  }
  return wanted;
}

/**
 * On a cluster: a slot whose container runs on a usable node stays there (a running one rather
 * than a stopped one); the others (new, removed by hand, on a drained or down node) are placed
 * by the scheduler. When it finds no room: replicas moving off a drained node with nowhere to go
 * still serve there, so they stay and it is tried again later; new replicas (a new deployment, a
 * redeploy, a scale-up) fail, as a new version that does not come up does.
 */
function placedReplicas(
  desired: DesiredDeployment,
  build: BuildFacts,
  containers: readonly ContainerRef[],
  nodes: NodeHealth,
): ReplicaSpec[] | DeploymentPlan {
  const d = desired.deployment;
  const names = (nodeId: string) =>
    containerNames(d.id, d.replicas, build.id, d.restartGeneration, nodeId);
  const unusable = new Set(nodes.unusable);
  const kept = new Array<ContainerRef | undefined>(d.replicas);
  for (const c of containers) {
    if (c.nodeId === undefined || unusable.has(c.nodeId)) continue;
    const replica = names(c.nodeId).indexOf(c.name);
    const current = kept[replica];
    if (replica >= 0 && (!current || preferred(c, current))) kept[replica] = c;
  }
  const missing: number[] = [];
  const wanted: ReplicaSpec[] = [];
  for (let replica = 0; replica < d.replicas; replica++) {
    const c = kept[replica];
    if (c?.nodeId === undefined) missing.push(replica);
    else {
      wanted.push({ replica, name: c.name, nodeId: c.nodeId, running: runs(containers, c.name) });
    }
  }
  if (missing.length === 0) return wanted;

  const { placed } = desired;
  if (placed === undefined) {
    return {
      action: "place",
      request: {
        deploymentId: d.id,
        strategy: d.strategy,
        slots: missing,
        ...limitsOf(desired),
        existing: wanted.map((w) => w.nodeId as string),
        avoidNodes: [
          ...new Set(
            containers.flatMap((c) => (c.nodeId && unusable.has(c.nodeId) ? [c.nodeId] : [])),
          ),
        ].sort(),
      },
    };
  }
  if (!placed.ok) {
    const down = new Set(nodes.down);
    const moving = missing.every((replica) =>
      containers.some(
        (c) =>
          c.nodeId !== undefined &&
          unusable.has(c.nodeId) &&
          names(c.nodeId)[replica] === c.name &&
          c.state === "running" &&
          !down.has(c.nodeId),
      ),
    );
    if (moving) {
      return {
        action: "retry",
        message: `cannot move deployment ${d.id} off its nodes: ${placed.message}`,
      };
    }
    return {
      action: "fail",
      status: { status: "failed", message: `cannot be placed: ${placed.message}` },
    };
  }
  missing.forEach((replica, i) => {
    const nodeId = placed.nodes[i];
    if (nodeId === undefined) return;
    const name = names(nodeId)[replica] as string;
    wanted.push({ replica, name, nodeId, running: runs(containers, name) });
  });
  if (wanted.length < d.replicas) {
    return {
      action: "fail",
      status: { status: "failed", message: "cannot be placed: the scheduler placed too few" },
    };
  }
  wanted.sort((a, b) => a.replica - b.replica);
  return wanted;
}

function roll(
  desired: DesiredDeployment,
  build: BuildFacts,
  actual: ActualDeployment,
  replicas: ReplicaSpec[],
): DeploymentPlan {
  const d = desired.deployment;
  const upToDate = replicas.every((r) => r.running);
  if (
    upToDate &&
    d.status === "running" &&
    actual.containers.length === replicas.length &&
    recordsAgree(desired, build, actual, replicas)
  ) {
    return NONE;
  }
  const labels = replicas.map((r) => ({
    ...deploymentLabels({
      deploymentId: d.id,
      projectId: d.projectId,
      organizationId: d.organizationId,
      replica: r.replica,
      buildId: build.id,
      installationId: desired.installationId,
    }),
    ...desired.edgeLabels,
  }));
  return {
    action: "roll",
    build,
    ...(!upToDate && d.status !== "deploying"
      ? {
          announce: {
            status: "deploying",
            message: `starting ${d.replicas} replica(s) of build ${shortBuild(build)}`,
          },
        }
      : {}),
    network: {
      name: projectNetworkName(d.projectId),
      labels: {
        [LABELS.deployment]: DEPLOYMENT_LABEL_VALUE,
        [LABELS.projectId]: d.projectId,
        [LABELS.organizationId]: d.organizationId,
      },
    },
    replicas,
    labels,
    limits: limitsOf(desired),
    routes: { domains: desired.domains, port: build.port },
    quiet: upToDate && d.status === "running",
    steps: ROLL_STEPS,
  };
}

/**
 * Whether every wanted replica runs, each container of the deployment is one of them, and the
 * records point at exactly them and route exactly the domains to the build's port.
 */
function recordsAgree(
  desired: DesiredDeployment,
  build: BuildFacts,
  actual: ActualDeployment,
  replicas: readonly ReplicaSpec[],
): boolean {
  // As many containers as replicas, each a wanted one: each replica's, once. Few enough to
  // compare pairwise, which allocates nothing on the reconciler's every pass.
  const { containers } = actual;
  for (let i = 0; i < containers.length; i++) {
    const c = containers[i] as ContainerRef;
    if (!replicas.some((r) => r.name === c.name)) return false;
    for (let j = 0; j < i; j++) if ((containers[j] as ContainerRef).name === c.name) return false;
  }
  const { recorded } = actual;
  if (recorded === undefined) return true;
  if (recorded.locations.length !== containers.length) return false;
  for (const location of recorded.locations) {
    const c = containers.find((x) => x.id === location.containerId);
    if (!c || (c.hostPort !== undefined && c.hostPort !== location.port)) return false;
  }
  // The record step routes every domain to the build's port and, when there is a domain, drops
  // the routes of others; with none it leaves the routes as they are.
  const routed = new Map(recorded.routes.map((r) => [r.domain, r.targetPort]));
  if (desired.domains.length > 0 && routed.size !== desired.domains.length) return false;
  return desired.domains.every((domain) => routed.get(domain) === build.port);
}

/** Once the roll has started `started`, what to retire of what the engine lists, and what to say. */
export function settleRoll(
  plan: RollPlan,
  listed: readonly ContainerRef[],
  started: ReadonlyArray<{ id: string; address?: string | undefined }>,
): { retire: ContainerRef[]; status?: StatusChange } {
  const keep = new Set(started.map((c) => c.id));
  const retire = listed.filter((c) => !keep.has(c.id));
  // Nothing changed: the status, and what it says (a cancelled build, say), stay.
  if (plan.quiet && retire.length === 0) return { retire };
  const where = [...new Set(started.flatMap((c) => (c.address ? [c.address] : [])))].sort();
  return {
    retire,
    status: {
      status: "running",
      message: `${plan.replicas.length} replica(s) running build ${shortBuild(plan.build)}${where.length > 0 ? ` on ${where.join(", ")}` : ""}`,
    },
  };
}

/** Why a roll's new version did not come up, as the deployer (roll.ts) reports it. */
export interface StartFailure {
  /** Starting the replicas, or waiting until they are healthy. */
  phase: "start" | "health";
  message: string;
  /**
   * The runtime said the build's image is not on the engine that was to run it and could not be
   * brought there: no engine it can be copied or pushed from has it (reason image_missing).
   */
  imageMissing: boolean;
  /** The kind of the runtime's error, when it was a DomainError. */
  kind?: DomainErrorKind | undefined;
  /**
   * The runtime refused because the node a replica was placed on is down or drained as the
   * orchestrator sees it now (reason node_unavailable; Swarm learns of a lost node before the
   * platform's heartbeats expire).
   */
  nodeUnavailable?: boolean | undefined;
}

/**
 * Whether a start that failed with an error of this kind may succeed when tried again, what
 * served keeping serving meanwhile: then the deployment keeps its status and the reconciler
 * tries again, with its backoff, instead of the deployment failing.
 */
export const TRANSIENT_START_FAILURE: Readonly<Record<DomainErrorKind, boolean>> = {
  // A host port taken on the node by something else: the next try picks another port.
  resource_exhausted: true,
  // A Swarm manager that did not answer in time (withinDeadline, src/runtime/engine-client.ts),
  // as while the Swarm elects a new Raft leader after a node loss.
  deadline_exceeded: true,
  // An engine that cannot be reached is reported at once, as planDeployment does when the engine
  // does not answer, rather than retried in silence.
  unavailable: false,
  // The rest fail the deployment, saying which step broke: a bad image or configuration fails
  // the same way again, and a lost image is built again (below). No start of the runtime
  // reports `aborted` (something under way) today; should one, it is to be judged here.
  invalid_argument: false,
  not_found: false,
  already_exists: false,
  permission_denied: false,
  unauthenticated: false,
  failed_precondition: false,
  aborted: false,
  unimplemented: false,
  internal: false,
};

export type FailedStartPlan =
  | { action: "fail"; status: StatusChange }
  /** Transient (TRANSIENT_START_FAILURE): the status stays, and the reconciler tries again. */
  | { action: "retry" }
  /**
   * Build `commit` again as the deployment's next build: no current build, that commit wanted,
   * status queued; the lost build's image is forgotten, so that no rollback chooses it.
   */
  | {
      action: "rebuild";
      lostBuildId: string;
      commit: string;
      status: { status: "queued"; message: string };
    };

/**
 * What follows a roll whose new version did not come up. What served keeps serving either way.
 *
 * A failure another try may not meet (TRANSIENT_START_FAILURE: a host port taken, a manager
 * that did not answer in time; or a replica placed on a node the orchestrator knows is down) is
 * tried again by the reconciler; the deployment keeps its status.
 *
 * The build's image is on no engine that could run it (the only copy was on a node that was
 * lost, or it was removed by hand): the repository still has the build's commit, so that commit
 * is built again and run, as a user would expect, rather than the deployment failing. Not when
 * the build was made in this very convergence (`builtNow`): an image missing right after it was
 * built would be missing after every build, and building again would loop. Not when the build's
 * commit is unknown either: the branch's head would be another version than the one deployed.
 * Any other failure: the deployment fails, saying which step broke.
 */
export function planFailedStart(
  build: BuildFacts,
  failure: StartFailure,
  builtNow: boolean,
): FailedStartPlan {
  if (failure.kind !== undefined && TRANSIENT_START_FAILURE[failure.kind])
    return { action: "retry" };
  // Placed on a node the orchestrator already knows is gone: placed again on the next try, and
  // elsewhere once the platform has seen the node down too.
  if (failure.nodeUnavailable) return { action: "retry" };
  if (failure.imageMissing && !builtNow && build.commitSha !== "") {
    const commit = build.commitSha.slice(0, 7);
    return {
      action: "rebuild",
      lostBuildId: build.id,
      commit: build.commitSha,
      status: {
        status: "queued",
        message: `the image of build ${commit} is on no reachable node: building commit ${commit} again`,
      },
    };
  }
  return { action: "fail", status: rollFailed(failure.phase, failure.message) };
}

/** What a roll whose new version did not come up says. */
export function rollFailed(phase: "start" | "health", message: string): StatusChange {
  return {
    status: "failed",
    message:
      phase === "start"
        ? `the new version could not be started: ${message}`
        : `the new version did not become healthy: ${message}`,
  };
}

function limitsOf(desired: DesiredDeployment) {
  return {
    cpuMillicores: desired.deployment.cpuMillicores || desired.defaults.cpuMillicores,
    memoryMb: desired.deployment.memoryMb || desired.defaults.memoryMb,
  };
}

const shortBuild = (build: BuildFacts) => build.commitSha.slice(0, 7) || build.id.slice(0, 8);

/** Of two containers for one slot, the one that stays: a running one, else the first by id. */
function preferred(c: ContainerRef, current: ContainerRef): boolean {
  const running = c.state === "running";
  if (running !== (current.state === "running")) return running;
  return c.id < current.id;
}

/** Running, and healthy or without a health check. */
const isUp = (c: ContainerRef) => c.state === "running" && c.health !== "unhealthy";

function runs(containers: readonly ContainerRef[], name: string): boolean {
  for (const c of containers) if (c.name === name && isUp(c)) return true;
  return false;
}
