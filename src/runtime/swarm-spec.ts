/**
 * What the platform asks a Docker Swarm for, and what it reads back. Pure: a replica spec in, the
 * engine's service spec out; the engine's JSON for nodes, services and tasks in, typed values out.
 *
 * One deployment replica is one Swarm service with one task, pinned to the node the platform's
 * scheduler chose (`node.id==…`), its port published in host mode on that node (no ingress mesh:
 * routes go to node address and published port, docs/architecture.md, "Routing"), referring to its image by
 * content id so that no node ever tries a registry. Host mode publishes on every address of the
 * node and cannot be told one: the agent on each node lets only the edge reach ports of the
 * range, and only at the node's own address (src/network/isolation-rules.ts, OBIENTE-PUBLISHED). The security settings of DockerRuntime
 * (docs/architecture.md, "Security") carry over where the service API has them:
 * - every capability dropped (ContainerSpec.CapabilityDrop, API 1.41 and later);
 * - no-new-privileges per service only from API 1.44 on (ContainerSpec.Privileges.NoNewPrivileges);
 *   older engines get it from the engine default (`dockerd --no-new-privileges`, or
 *   `"no-new-privileges": true` in daemon.json), which applies to Swarm tasks too;
 * - CPU, memory and process count limits (Resources.Limits: NanoCPUs, MemoryBytes, Pids). The
 *   service API has no MemorySwap: swap is bounded only by the node's own swap settings;
 * - json-file logs capped like the container runtime's;
 * - restarts on failure, at most RESTART_MAX_RETRIES, then the reconciler decides.
 */
import type Dockerode from "dockerode";
import { invalidArgument } from "../domain/index.js";
import {
  type ContainerSpec,
  checkReplicaSettings,
  LOG_MAX_FILES,
  LOG_MAX_SIZE,
  PIDS_LIMIT,
  RESTART_MAX_RETRIES,
} from "./docker-runtime.js";

/** What a deployment replica needs on Swarm: the container's spec, the node, an overlay network. */
export interface SwarmServiceSpec extends Omit<ContainerSpec, "network"> {
  /** The Swarm node id the scheduler chose: the service is pinned there. */
  nodeId: string;
  /**
   * The project's swarm-scoped overlay network (SwarmRuntime.ensureNetwork), on which the
   * project's replicas reach each other across nodes; without it, the replica only has its
   * published port.
   */
  network?: string;
}

/** What the manager's API version allows (see the module comment). */
export interface SwarmFeatures {
  apiVersion: string;
  /** ContainerSpec.CapabilityDrop and Resources.Limits.Pids (API ≥ 1.41). */
  capabilityDrop: boolean;
  /** ContainerSpec.Privileges.NoNewPrivileges (API ≥ 1.44). */
  noNewPrivileges: boolean;
}

export type SwarmNodeAvailability = "active" | "pause" | "drain";
export type SwarmNodeState = "unknown" | "down" | "ready" | "disconnected";
export type SwarmNodeRole = "manager" | "worker";

export interface SwarmNode {
  id: string;
  hostname: string;
  /** Where the node's published ports answer: routes go to `address:hostPort`. */
  address: string;
  availability: SwarmNodeAvailability;
  state: SwarmNodeState;
  role: SwarmNodeRole;
  /** The Raft leader among the managers. */
  leader: boolean;
  labels: Record<string, string>;
  nanoCpus: number;
  memoryBytes: number;
  engineVersion: string;
  /** The manager's note on the node's state ("heartbeat failure", …); empty when none. */
  message: string;
}

export type SwarmTaskState =
  | "new"
  | "allocated"
  | "pending"
  | "assigned"
  | "accepted"
  | "preparing"
  | "ready"
  | "starting"
  | "running"
  | "complete"
  | "shutdown"
  | "failed"
  | "rejected"
  | "remove"
  | "orphaned";

export interface ServiceTask {
  id: string;
  nodeId: string;
  state: SwarmTaskState;
  /** What the orchestrator wants of the task: "running" for the current one, "shutdown" for history. */
  desiredState: string;
  /** The state's note ("started", "pending task scheduling", …). */
  message: string;
  /** Why it failed or waits ("no suitable node …", "task: non-zero exit (1)"); empty when fine. */
  error: string;
  containerId: string | undefined;
  exitCode: number | undefined;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServiceInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** The node the service is pinned to (`node.id==…`), if it is. */
  nodeId: string | undefined;
  /** The port published in host mode on that node. */
  hostPort: number | undefined;
  image: string;
  /**
   * "running" when a task runs (and is meant to), otherwise the state of the task Swarm means to
   * run now; "none" when there is none.
   */
  state: SwarmTaskState | "none";
  /** Newest first, the current one and the history Swarm keeps. */
  tasks: ServiceTask[];
  /** A rolling update's or rollback's state, when one happened. */
  updateState: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

/** Swarm's service name rule: a DNS label of at most 63 characters. */
const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const NODE_ID = /^[a-z0-9]{25}$/;
const MIB = 1024 * 1024;
const NS_PER_MS = 1_000_000;
/** Time a task gets to stop before it is killed (SIGTERM, then SIGKILL), unless told otherwise. */
export const STOP_GRACE_MS = 10_000;
/** Pause between a crash and the next task. */
export const RESTART_DELAY_MS = 2_000;
/** How long a new task is watched during an update before the update counts as done. */
export const UPDATE_MONITOR_MS = 10_000;

export function checkServiceSpec(spec: SwarmServiceSpec): void {
  if (spec.name.length > 63 || !SERVICE_NAME.test(spec.name)) {
    throw invalidArgument(
      `service name "${spec.name.slice(0, 80)}" is not valid on Swarm: at most 63 letters, digits, "-" or "_", starting and ending with a letter or digit`,
    );
  }
  if (!NODE_ID.test(spec.nodeId)) {
    throw invalidArgument(`node id must be a Swarm node id, got "${spec.nodeId.slice(0, 80)}"`);
  }
  if (!spec.image) throw invalidArgument("image must not be empty");
  if (spec.network !== undefined && !spec.network) {
    throw invalidArgument("network must not be empty when given");
  }
  checkReplicaSettings(spec);
}

/** "1.41" ≥ "1.40": Docker API versions compared as numbers, part by part. */
export function apiAtLeast(version: string, minimum: string): boolean {
  const have = version.split(".").map(Number);
  const want = minimum.split(".").map(Number);
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    const a = have[i] ?? 0;
    const b = want[i] ?? 0;
    if (Number.isNaN(a)) return false;
    if (a !== b) return a > b;
  }
  return true;
}

export function featuresOf(apiVersion: string): SwarmFeatures {
  return {
    apiVersion,
    capabilityDrop: apiAtLeast(apiVersion, "1.41"),
    noNewPrivileges: apiAtLeast(apiVersion, "1.44"),
  };
}

/**
 * The engine's service spec for one replica published on `hostPort`. The labels go on the
 * service (the reconciler lists services by them) and on its containers (node-local tools, the
 * agent's stats, see them). dockerode's types lag behind the API (RestartPolicy, Privileges), so
 * the spec is typed here and handed over as the engine's JSON.
 */
export function serviceSpec(
  spec: SwarmServiceSpec,
  hostPort: number,
  features: SwarmFeatures,
  stopGraceMs = STOP_GRACE_MS,
): Dockerode.ServiceSpec {
  const env = { ...spec.env, PORT: String(spec.internalPort) };
  const health = spec.healthCheck;
  const memory = spec.memoryMb * MIB;
  const body = {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        // A container's `cmd` replaces the image's CMD, which is the service's Args (Command
        // would replace the ENTRYPOINT).
        ...(spec.cmd ? { Args: spec.cmd } : {}),
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Labels: spec.labels,
        ...(health
          ? {
              HealthCheck: {
                // No Test: the image's HEALTHCHECK, with these timings.
                ...(health.cmd ? { Test: ["CMD", ...health.cmd] } : {}),
                Interval: health.intervalMs * NS_PER_MS,
                Timeout: health.timeoutMs * NS_PER_MS,
                Retries: health.retries,
                StartPeriod: health.startPeriodMs * NS_PER_MS,
              },
            }
          : {}),
        CapabilityDrop: ["ALL"],
        ...(features.noNewPrivileges ? { Privileges: { NoNewPrivileges: true } } : {}),
        ReadOnly: false,
        // A tiny init as PID 1 forwards SIGTERM and reaps zombies, as for a single engine's
        // containers: without it an app that ignores the signal as PID 1 (busybox httpd, a Node
        // app without a handler) never hears it and is killed after the whole grace period.
        Init: true,
        StopGracePeriod: stopGraceMs * NS_PER_MS,
      },
      // Limits only: placement by capacity is the platform's scheduler's job (docs/architecture.md, "Scheduling");
      // Swarm reservations would make a second, disagreeing scheduler.
      Resources: {
        Limits: { NanoCPUs: spec.cpuMillicores * NS_PER_MS, MemoryBytes: memory, Pids: PIDS_LIMIT },
      },
      RestartPolicy: {
        Condition: "on-failure",
        Delay: RESTART_DELAY_MS * NS_PER_MS,
        MaxAttempts: RESTART_MAX_RETRIES,
      },
      Placement: { Constraints: [`node.id==${spec.nodeId}`] },
      ...(spec.network ? { Networks: [{ Target: spec.network }] } : {}),
      LogDriver: {
        Name: "json-file",
        Options: { "max-size": LOG_MAX_SIZE, "max-file": LOG_MAX_FILES },
      },
    },
    Mode: { Replicated: { Replicas: 1 } },
    UpdateConfig: {
      Parallelism: 1,
      Order: "start-first",
      FailureAction: "rollback",
      Monitor: UPDATE_MONITOR_MS * NS_PER_MS,
    },
    RollbackConfig: {
      Parallelism: 1,
      Order: "start-first",
      FailureAction: "pause",
      Monitor: UPDATE_MONITOR_MS * NS_PER_MS,
    },
    EndpointSpec: {
      // DNS round robin: no virtual IP (Swarm's VIPs need IPVS, and routes go to node:port).
      // Published on every address of the node: the agent's rules keep all but the edge out.
      Mode: "dnsrr",
      Ports: [
        {
          Protocol: "tcp",
          TargetPort: spec.internalPort,
          PublishedPort: hostPort,
          PublishMode: "host",
        },
      ],
    },
  };
  return body as Dockerode.ServiceSpec;
}

// --- Reading the engine's JSON -------------------------------------------------------------------

/** A service as GET /services returns it, the fields read here. */
export interface RawService {
  ID: string;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec?: {
    Name?: string;
    Labels?: Record<string, string>;
    TaskTemplate?: {
      ContainerSpec?: { Image?: string; TTY?: boolean };
      Placement?: { Constraints?: string[] };
    };
    Mode?: { Global?: unknown };
    EndpointSpec?: { Ports?: RawPort[] };
  };
  Endpoint?: { Ports?: RawPort[] };
  UpdateStatus?: { State?: string; StartedAt?: string };
}

interface RawPort {
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}

/** A task as GET /tasks returns it, the fields read here. */
export interface RawTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt?: string;
  UpdatedAt?: string;
  DesiredState?: string;
  Status?: {
    Timestamp?: string;
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
    PortStatus?: { Ports?: RawPort[] };
  };
}

/** A node as GET /nodes returns it, the fields read here. */
export interface RawNode {
  ID: string;
  Description?: {
    Hostname?: string;
    Resources?: { NanoCPUs?: number; MemoryBytes?: number };
    Engine?: { EngineVersion?: string };
  };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Status?: { State?: string; Addr?: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Addr?: string };
}

export function toSwarmNode(raw: RawNode): SwarmNode {
  return {
    id: raw.ID,
    hostname: raw.Description?.Hostname ?? "",
    address: nodeAddress(raw),
    availability: (raw.Spec?.Availability ?? "active") as SwarmNodeAvailability,
    state: (raw.Status?.State ?? "unknown") as SwarmNodeState,
    role: raw.Spec?.Role === "manager" ? "manager" : "worker",
    leader: raw.ManagerStatus?.Leader === true,
    labels: raw.Spec?.Labels ?? {},
    nanoCpus: Number(raw.Description?.Resources?.NanoCPUs ?? 0),
    memoryBytes: Number(raw.Description?.Resources?.MemoryBytes ?? 0),
    engineVersion: raw.Description?.Engine?.EngineVersion ?? "",
    message: raw.Status?.Message ?? "",
  };
}

/**
 * The node's address. Some engine versions report a manager's Status.Addr as 0.0.0.0 (it listens
 * on every address); its advertised manager address says where it is.
 */
function nodeAddress(raw: RawNode): string {
  const addr = raw.Status?.Addr ?? "";
  if (addr && addr !== "0.0.0.0" && addr !== "::") return addr;
  const manager = raw.ManagerStatus?.Addr ?? "";
  const host = manager.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host || addr;
}

export function toServiceTask(raw: RawTask): ServiceTask {
  const status = raw.Status ?? {};
  const exitCode = status.ContainerStatus?.ExitCode;
  return {
    id: raw.ID,
    nodeId: raw.NodeID ?? "",
    state: (status.State ?? "new") as SwarmTaskState,
    desiredState: raw.DesiredState ?? "",
    message: status.Message ?? "",
    error: status.Err ?? "",
    containerId: status.ContainerStatus?.ContainerID || undefined,
    exitCode: typeof exitCode === "number" ? exitCode : undefined,
    createdAt: new Date(raw.CreatedAt ?? 0),
    updatedAt: new Date(status.Timestamp ?? raw.UpdatedAt ?? 0),
  };
}

/** Newest first: by creation, then by id for a stable order. */
export function newestFirst(tasks: ServiceTask[]): ServiceTask[] {
  return [...tasks].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || a.id.localeCompare(b.id),
  );
}

/**
 * The task Swarm means to run now: the newest whose desired state is running (or ready: a
 * replacement waiting out the restart delay).
 */
export function currentTask(tasks: ServiceTask[]): ServiceTask | undefined {
  return newestFirst(tasks).find(
    (task) => task.desiredState === "running" || task.desiredState === "ready",
  );
}

/**
 * The newest task that runs and is meant to: during an update that cannot place its new task,
 * the old one still serves.
 */
export function runningTask(tasks: ServiceTask[]): ServiceTask | undefined {
  return newestFirst(tasks).find(
    (task) => task.desiredState === "running" && task.state === "running",
  );
}

export function toServiceInfo(raw: RawService, tasks: ServiceTask[]): ServiceInfo {
  const sorted = newestFirst(tasks);
  return {
    id: raw.ID,
    name: raw.Spec?.Name ?? "",
    labels: raw.Spec?.Labels ?? {},
    nodeId: pinnedNodeId(raw),
    hostPort: hostPortsOf(raw)[0],
    image: raw.Spec?.TaskTemplate?.ContainerSpec?.Image ?? "",
    state: runningTask(sorted)?.state ?? currentTask(sorted)?.state ?? "none",
    tasks: sorted,
    updateState: raw.UpdateStatus?.State,
    createdAt: new Date(raw.CreatedAt ?? 0),
    updatedAt: new Date(raw.UpdatedAt ?? 0),
  };
}

/** The node a `node.id==…` constraint pins the service to. */
export function pinnedNodeId(raw: RawService): string | undefined {
  for (const constraint of raw.Spec?.TaskTemplate?.Placement?.Constraints ?? []) {
    const match = /^node\.id\s*==\s*(\S+)$/.exec(constraint.trim());
    if (match) return match[1];
  }
  return undefined;
}

/** The TCP ports the service publishes in host mode (on whatever node its tasks run). */
export function hostPortsOf(raw: RawService): number[] {
  const ports = raw.Spec?.EndpointSpec?.Ports ?? raw.Endpoint?.Ports ?? [];
  return ports
    .filter((port) => port.PublishMode === "host" && (port.Protocol ?? "tcp") === "tcp")
    .map((port) => Number(port.PublishedPort))
    .filter((port) => port > 0);
}

/** The host ports a task actually holds on its node. */
export function taskHostPorts(raw: RawTask): number[] {
  return (raw.Status?.PortStatus?.Ports ?? [])
    .filter((port) => port.PublishMode === "host")
    .map((port) => Number(port.PublishedPort))
    .filter((port) => port > 0);
}

/**
 * The host ports that are or may be taken on `nodeId`: those of services pinned there or with a
 * task there, of services pinned nowhere (a global service, like an edge publishing 80 and 443 in
 * host mode, runs on every node), and those tasks on the node hold. Pure.
 */
export function portsTakenOnNode(
  nodeId: string,
  services: RawService[],
  tasksOnNode: RawTask[],
): Set<number> {
  const present = new Set(tasksOnNode.map((task) => task.ServiceID));
  const taken = new Set<number>();
  for (const service of services) {
    const pinned = pinnedNodeId(service);
    if (pinned === nodeId || pinned === undefined || present.has(service.ID)) {
      for (const port of hostPortsOf(service)) taken.add(port);
    }
  }
  for (const task of tasksOnNode) for (const port of taskHostPorts(task)) taken.add(port);
  return taken;
}
