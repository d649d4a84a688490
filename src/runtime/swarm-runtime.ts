/**
 * A Docker Swarm, through a manager's API: the cluster counterpart of DockerRuntime.
 *
 * Each deployment replica is one Swarm service (one task), pinned to the node the platform's
 * scheduler chose and published in host mode there, so that routes go to node address and
 * published port (docs/architecture.md, "Deployment flow", step 5, and "Routing"). What the service asks for is in
 * swarm-spec.ts; images reach the nodes without a registry through swarm-images.ts.
 *
 * As in DockerRuntime, every operation is idempotent, keyed by a deterministic name (names.ts):
 * running a spec whose service exists reuses it (with its configuration: a new configuration
 * needs a new name), removing what is gone succeeds. Failures are DomainErrors: `unavailable`
 * when the manager cannot be reached or is not a manager, `not_found` for a missing node, image
 * or network, `invalid_argument` for what the engine refuses, `failed_precondition` for an app
 * that does not come up.
 *
 * Host ports: picked from the configured range, avoiding the ports that services pinned to the
 * target node (or running there, or pinned nowhere) publish. Swarm itself checks nothing for
 * host-mode ports at creation; a port held on the node by something outside Swarm makes the task
 * fail, which waitRunning reports as `resource_exhausted`: remove the service and run it again
 * (the controller's retry does), and another port is picked.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import {
  DomainError,
  failedPrecondition,
  imageMissing,
  invalidArgument,
  LABELS,
  resourceExhausted,
  unavailable,
} from "../domain/index.js";
import { KeyLock } from "../platform/index.js";
import type { NetworkRef } from "./docker-runtime.js";
import {
  engineClient,
  findNetwork,
  MANAGER_CALL_TIMEOUT_MS,
  pingEngine,
  withinDeadline,
} from "./engine-client.js";
import { engineError, reasonOf, statusOf } from "./engine-errors.js";
import { type LogOptions, lastLogLines, readLogs } from "./engine-logs.js";
import { candidatePorts, checkPortRange, type PortRange } from "./host-ports.js";
import type { LogLine } from "./log-stream.js";
import { connects, listens } from "./port-probes.js";
import type { RegistryAuth } from "./registry.js";
import { copyImage, type EngineRef, type ImagePresence } from "./swarm-images.js";
import {
  checkServiceSpec,
  currentTask,
  featuresOf,
  newestFirst,
  portsTakenOnNode,
  type RawNode,
  type RawService,
  type RawTask,
  runningTask,
  type ServiceInfo,
  type ServiceTask,
  STOP_GRACE_MS,
  type SwarmFeatures,
  type SwarmNode,
  type SwarmNodeAvailability,
  type SwarmServiceSpec,
  serviceSpec,
  toServiceInfo,
  toServiceTask,
  toSwarmNode,
} from "./swarm-spec.js";

/** A port that answers a connection in this time is held by something outside Swarm. */
const PORT_PROBE_TIMEOUT_MS = 300;
const POLL_MS = 250;
/** Node updates that lost a race with another writer ("update out of sequence") are retried. */
const NODE_UPDATE_ATTEMPTS = 5;
const CONTAINER_SPEC_MIN_API = "1.41";
/** What a task's error says when its host port was taken (engine-errors.ts's isPortInUse). */
const PORT_IN_USE = /address already in use|port is already allocated/i;

export interface SwarmRuntimeOptions {
  /** A client of a manager's engine; otherwise one is made for `dockerHost`. */
  docker?: Dockerode;
  /** DOCKER_HOST-style address of a manager: `unix:///var/run/docker.sock` (default) or `tcp://…`. */
  dockerHost?: string;
  /** Host ports to publish services on, both ends included. */
  portRange: PortRange;
  /**
   * Services are created with it (X-Registry-Auth), so that the nodes pull their images from
   * the registry with it (REGISTRY): Swarm keeps it with the service.
   */
  registryAuth?: RegistryAuth;
  /** The time a task gets to stop before it is killed (STOP_TIMEOUT_SECONDS); 10 s by default. */
  stopGraceMs?: number;
  /** How long a request to the manager may take (MANAGER_CALL_TIMEOUT_MS by default). */
  callTimeoutMs?: number;
  logger?: Logger;
}

export interface RunningService {
  /** The service id. */
  id: string;
  name: string;
  /** The node it is pinned to. */
  nodeId: string;
  hostPort: number;
  /** The node's address: routes go to `address:hostPort`. */
  address: string;
  /** False when a service of that name existed and was reused. */
  created: boolean;
}

export interface ImageSources {
  /** The engine that has the image (the one that built it). */
  sourceDocker: EngineRef;
  /** The engine of a node; undefined when the node's engine is not reachable from here. */
  targetDockerForNode: (nodeId: string) => EngineRef | undefined;
  signal?: AbortSignal;
}

export class SwarmRuntime {
  /** Where the manager is looked for, for messages: "unix:///var/run/docker.sock". */
  readonly endpoint: string;
  private readonly docker: Dockerode;
  private readonly portRange: PortRange;
  private readonly stopGraceMs: number;
  private readonly callTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly registryAuth: RegistryAuth | undefined;
  private features: Promise<SwarmFeatures> | undefined;
  /** Ports picked by this process for services being created, by node. */
  private readonly reservedPorts = new Map<string, Set<number>>();
  /** run() calls in flight, by service name: a second call for a name waits for the first. */
  private readonly running = new KeyLock();
  /** ensureImage() calls in flight, by node and image. */
  private readonly copying = new Map<string, Promise<ImagePresence>>();

  constructor(options: SwarmRuntimeOptions) {
    this.portRange = checkPortRange(options.portRange);
    this.stopGraceMs = options.stopGraceMs ?? STOP_GRACE_MS;
    this.callTimeoutMs = options.callTimeoutMs ?? MANAGER_CALL_TIMEOUT_MS;
    this.logger = options.logger;
    this.registryAuth = options.registryAuth;
    ({ docker: this.docker, endpoint: this.endpoint } = engineClient(options));
  }

  /**
   * Resolves when the engine answers and is a Swarm manager; throws `unavailable` naming the
   * endpoint otherwise.
   */
  async ping(): Promise<void> {
    await pingEngine({ docker: this.docker, endpoint: this.endpoint });
    try {
      await this.deadline("inspect the swarm", () => this.docker.swarmInspect());
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw unavailable(
        `the Docker engine at ${this.endpoint} is not a Swarm manager: ${reasonOf(error)}`,
        error,
      );
    }
  }

  /**
   * What the manager's API allows of the security settings (swarm-spec.ts). Refuses engines
   * older than API 1.41, which would silently ignore the dropped capabilities.
   */
  securityFeatures(): Promise<SwarmFeatures> {
    this.features ??= (async () => {
      const version = await this.call("read the engine's version", () => this.docker.version());
      const features = featuresOf(String(version.ApiVersion ?? "0"));
      if (!features.capabilityDrop) {
        throw failedPrecondition(
          `the Swarm manager at ${this.endpoint} speaks API ${features.apiVersion}; at least ${CONTAINER_SPEC_MIN_API} (Docker 20.10) is needed to drop capabilities of services`,
        );
      }
      if (!features.noNewPrivileges) {
        this.logger?.info(
          { apiVersion: features.apiVersion },
          "no-new-privileges comes from the engines' default (dockerd --no-new-privileges)",
        );
      }
      return features;
    })();
    this.features.catch(() => {
      this.features = undefined;
    });
    return this.features;
  }

  /** The Swarm's nodes, managers and workers, in every state. */
  async nodes(): Promise<SwarmNode[]> {
    const raw = (await this.call("list nodes", (abortSignal) =>
      this.docker.listNodes({ abortSignal }),
    )) as RawNode[];
    return raw.map(toSwarmNode).sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  async node(id: string): Promise<SwarmNode> {
    return toSwarmNode(await this.inspectNode(id));
  }

  /** Drains a node (Swarm stops its tasks) or makes it active again. */
  async setNodeAvailability(id: string, availability: SwarmNodeAvailability): Promise<void> {
    if (!["active", "pause", "drain"].includes(availability)) {
      throw invalidArgument(`availability must be active, pause or drain, got "${availability}"`);
    }
    await this.updateNode(id, `set node ${id} ${availability}`, (spec) => ({
      ...spec,
      Availability: availability,
    }));
  }

  /** Replaces the node's labels with `labels` (read them first to add one). */
  async setNodeLabels(id: string, labels: Record<string, string>): Promise<void> {
    await this.updateNode(id, `set the labels of node ${id}`, (spec) => ({
      ...spec,
      Labels: { ...labels },
    }));
  }

  private async updateNode(
    id: string,
    action: string,
    change: (spec: Record<string, unknown>) => Record<string, unknown>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const raw = (await this.inspectNode(id)) as RawNode & {
        Version?: { Index?: number };
        Spec?: Record<string, unknown>;
      };
      try {
        await this.deadline(action, () =>
          this.docker.getNode(raw.ID).update({
            _query: { version: raw.Version?.Index ?? 0 },
            _body: change(raw.Spec ?? {}),
          }),
        );
        return;
      } catch (error) {
        const outOfSequence = /out of sequence/i.test(reasonOf(error));
        if (outOfSequence && attempt < NODE_UPDATE_ATTEMPTS) continue;
        throw engineError(error, this.endpoint, action, `node ${id}`);
      }
    }
  }

  /**
   * The overlay network `name` (swarm-scoped, attachable), created when missing; the project's
   * replicas on every node reach each other on it.
   */
  async ensureNetwork(name: string, labels: Record<string, string>): Promise<NetworkRef> {
    const existing = await this.findNetwork(name);
    if (existing) return { id: existing, name, created: false };
    try {
      const network = await this.deadline(`create network ${name}`, () =>
        this.docker.createNetwork({
          Name: name,
          Driver: "overlay",
          Attachable: true,
          CheckDuplicate: true,
          Labels: labels,
        }),
      );
      this.logger?.info({ network: name, id: network.id }, "overlay network created");
      return { id: network.id, name, created: true };
    } catch (error) {
      if (statusOf(error) === 409) {
        const winner = await this.findNetwork(name);
        if (winner) return { id: winner, name, created: false };
      }
      throw engineError(error, this.endpoint, `create network ${name}`);
    }
  }

  /** Removes a network; gone already is fine; one still in use is refused. */
  async removeNetwork(nameOrId: string): Promise<void> {
    try {
      await this.deadline(`remove network ${nameOrId}`, (abortSignal) =>
        this.docker.getNetwork(nameOrId).remove({ abortSignal }),
      );
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status === 403 || status === 409 || /in use|active endpoints/i.test(reasonOf(error))) {
        throw failedPrecondition(`network ${nameOrId} is still in use: ${reasonOf(error)}`);
      }
      throw engineError(error, this.endpoint, `remove network ${nameOrId}`);
    }
  }

  /**
   * The oldest swarm-scoped network named `name`: the manager's engine may also hold a local
   * bridge of that name (a single-engine installation's), which replicas on other nodes cannot
   * join.
   */
  private findNetwork(name: string): Promise<string | undefined> {
    return this.deadline(`look up network ${name}`, () =>
      findNetwork({ docker: this.docker, endpoint: this.endpoint }, name, "swarm"),
    );
  }

  /**
   * Creates the service of `spec` on its node, or reuses the one of that name. Does not wait for
   * it: see waitRunning.
   */
  run(spec: SwarmServiceSpec): Promise<RunningService> {
    try {
      checkServiceSpec(spec);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.running.run(spec.name, () => this.runOnce(spec));
  }

  private async runOnce(spec: SwarmServiceSpec): Promise<RunningService> {
    const existing = await this.findService(spec.name);
    if (existing) return this.reuse(existing, spec);
    const features = await this.securityFeatures();
    const node = await this.node(spec.nodeId);
    if (node.availability !== "active" || node.state !== "ready") {
      // The placement was made on what the platform knew; the Swarm may know sooner that a node
      // is gone (its heartbeats expire later): unavailable, so that the replica is placed again.
      throw new DomainError(
        "unavailable",
        `node ${node.hostname || node.id} is ${node.state}/${node.availability}: nothing new is placed on it`,
        { reason: "node_unavailable" },
      );
    }
    const picked = spec.hostPort === undefined;
    const hostPort = spec.hostPort ?? (await this.pickPort(node));
    try {
      let id: string;
      try {
        const body = serviceSpec(spec, hostPort, features, this.stopGraceMs);
        const created = await this.deadline(`create service ${spec.name}`, () =>
          this.registryAuth
            ? this.docker.createService(this.registryAuth, body)
            : this.docker.createService(body),
        );
        id = created.id;
      } catch (error) {
        if (statusOf(error) === 409) {
          // Created meanwhile by another process: theirs is ours.
          const winner = await this.findService(spec.name);
          if (winner) return this.reuse(winner, spec);
        }
        if (statusOf(error) === 404 && spec.network && /network/i.test(reasonOf(error))) {
          throw new DomainError("not_found", `network ${spec.network} not found`, {
            cause: error,
          });
        }
        throw engineError(error, this.endpoint, `create service ${spec.name}`);
      }
      this.logger?.info(
        { service: spec.name, id, node: node.hostname, hostPort },
        "service created",
      );
      return {
        id,
        name: spec.name,
        nodeId: node.id,
        hostPort,
        address: node.address,
        created: true,
      };
    } finally {
      // From now on the manager lists the port (or it is free again).
      if (picked) this.reservedPorts.get(node.id)?.delete(hostPort);
    }
  }

  private async reuse(service: RawService, spec: SwarmServiceSpec): Promise<RunningService> {
    const info = toServiceInfo(service, []);
    if (info.hostPort === undefined) {
      throw failedPrecondition(
        `service ${spec.name} exists but publishes no host port: remove it first`,
      );
    }
    const nodeId = info.nodeId ?? spec.nodeId;
    const node = await this.node(nodeId);
    this.logger?.debug({ service: spec.name, id: service.ID }, "service reused");
    return {
      id: service.ID,
      name: spec.name,
      nodeId,
      hostPort: info.hostPort,
      address: node.address,
      created: false,
    };
  }

  /**
   * A host port of the range that no service on (or possibly on) the node publishes, that
   * nothing on the node answers on, and that no run() of this process is about to take.
   */
  private async pickPort(node: SwarmNode): Promise<number> {
    const [services, tasks] = await Promise.all([
      this.call("list services", (abortSignal) =>
        this.docker.listServices({ abortSignal }),
      ) as Promise<RawService[]>,
      this.call("list tasks", (abortSignal) =>
        this.docker.listTasks({
          filters: { node: [node.id], "desired-state": ["running"] },
          abortSignal,
        }),
      ) as Promise<RawTask[]>,
    ]);
    let reserved = this.reservedPorts.get(node.id);
    if (!reserved) {
      reserved = new Set();
      this.reservedPorts.set(node.id, reserved);
    }
    const taken = new Set([...reserved, ...portsTakenOnNode(node.id, services, tasks)]);
    const size = this.portRange.to - this.portRange.from + 1;
    const offset = Math.floor(Math.random() * size);
    for (const port of candidatePorts(this.portRange, taken, offset)) {
      if (reserved.has(port)) continue;
      if ((await connects(node.address, port, PORT_PROBE_TIMEOUT_MS)) === "listening") continue;
      if (reserved.has(port)) continue;
      reserved.add(port);
      return port;
    }
    throw resourceExhausted(
      `no free host port in ${this.portRange.from}-${this.portRange.to} on node ${node.hostname || node.id}`,
    );
  }

  /**
   * Resolves once the service's task runs (Swarm counts a task with a health check as running
   * only once it is healthy) and its published port holds a connection. Rejects, with the
   * service's last log lines, when a task of its current version fails, is rejected or
   * completes, or when `timeoutMs` passes.
   */
  async waitRunning(
    id: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    const signal = options.signal;
    const service = await this.inspectService(id);
    const info = toServiceInfo(service, []);
    // Tasks made before the service's last update belong to an earlier version of it.
    const since = Date.parse(service.UpdateStatus?.StartedAt ?? "") || info.createdAt.getTime();
    const addresses = new Map<string, string>();
    for (;;) {
      signal?.throwIfAborted();
      const tasks = newestFirst(await this.tasks(service.ID));
      const running = runningTask(tasks);
      if (running) {
        let address = addresses.get(running.nodeId);
        if (address === undefined) {
          address = (await this.node(running.nodeId)).address;
          addresses.set(running.nodeId, address);
        }
        if (info.hostPort === undefined || (await listens(address, info.hostPort))) return;
      }
      const failed = tasks.find(
        (task) =>
          (task.state === "failed" || task.state === "rejected" || task.state === "complete") &&
          task.createdAt.getTime() >= since,
      );
      if (failed) throw await this.taskFailure(info, failed);
      const left = deadline - Date.now();
      if (left <= 0) {
        const current = currentTask(tasks);
        const where = current
          ? `its task is ${current.state}${current.error ? ` (${current.error})` : current.message ? ` (${current.message})` : ""}`
          : "it has no task";
        throw new DomainError(
          "deadline_exceeded",
          `service ${info.name} did not start within ${options.timeoutMs} ms: ${where}${await this.lastLines(service.ID)}`,
        );
      }
      await sleep(Math.min(POLL_MS, left), undefined, signal ? { signal } : {}).catch(
        (error: unknown) => {
          signal?.throwIfAborted();
          throw error;
        },
      );
    }
  }

  private async taskFailure(info: ServiceInfo, task: ServiceTask): Promise<DomainError> {
    const reason = task.error || task.message;
    if (task.state === "rejected" && /no such image|not found/i.test(reason)) {
      return imageMissing(
        `image ${info.image} not found on node ${task.nodeId} (ensureImage first): ${reason}`,
      );
    }
    if (PORT_IN_USE.test(reason)) {
      return resourceExhausted(
        `service ${info.name} could not publish port ${info.hostPort} on node ${task.nodeId}: ${reason}`,
      );
    }
    let what: string;
    if (task.state === "complete") {
      what =
        "exited with code 0 before it was running (stopped by a failing health check, or done)";
    } else if (task.state === "rejected") {
      what = `was rejected by node ${task.nodeId}: ${reason}`;
    } else if (/unhealthy/i.test(reason)) {
      what = `turned unhealthy before it was running (${reason})`;
    } else {
      const code = task.exitCode !== undefined ? ` with exit code ${task.exitCode}` : "";
      what = `crashed${code} before it was running${reason ? ` (${reason})` : ""}`;
    }
    return failedPrecondition(`service ${info.name} ${what}${await this.lastLines(info.id)}`);
  }

  /** The end of a failure's message: the last lines `id` logged (engine-logs.ts). */
  private lastLines(id: string): Promise<string> {
    return lastLogLines((options) => this.logs(id, options));
  }

  /** Removes a service (Swarm then stops its task); one already gone is fine. */
  async remove(id: string): Promise<void> {
    try {
      await this.deadline(`remove service ${id}`, (abortSignal) =>
        this.docker.getService(id).remove({ abortSignal }),
      );
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw engineError(error, this.endpoint, `remove service ${id}`);
    }
  }

  /** The platform's services (label `cloud.obiente.deployment=true`) with their tasks. */
  async list(filter: { deploymentId?: string } = {}): Promise<ServiceInfo[]> {
    const label = [`${LABELS.deployment}=true`];
    if (filter.deploymentId !== undefined) {
      label.push(`${LABELS.deploymentId}=${filter.deploymentId}`);
    }
    const services = (await this.call("list services", (abortSignal) =>
      this.docker.listServices({ filters: { label }, abortSignal }),
    )) as RawService[];
    if (services.length === 0) return [];
    const tasks = (await this.call("list tasks", (abortSignal) =>
      this.docker.listTasks({
        filters: { service: services.map((service) => service.ID) },
        abortSignal,
      }),
    )) as RawTask[];
    const byService = new Map<string, ServiceTask[]>();
    for (const task of tasks) {
      const list = byService.get(task.ServiceID ?? "") ?? [];
      list.push(toServiceTask(task));
      byService.set(task.ServiceID ?? "", list);
    }
    return services
      .map((service) => toServiceInfo(service, byService.get(service.ID) ?? []))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One service and its tasks. */
  async inspect(id: string): Promise<ServiceInfo> {
    const service = await this.inspectService(id);
    return toServiceInfo(service, await this.tasks(service.ID));
  }

  /**
   * The service's log lines (every task's), stdout and stderr, each with the time Docker
   * received it. With `follow`, it goes on until `signal` aborts or the service is removed. The
   * node running the task must be up: Swarm fetches the lines from its engine.
   */
  async *logs(id: string, options: LogOptions = {}): AsyncGenerator<LogLine> {
    const raw = await this.inspectService(id);
    const service = this.docker.getService(raw.ID);
    yield* readLogs(
      {
        read: (query) => service.logs({ ...query, follow: false }),
        follow: (query) => service.logs({ ...query, follow: true }),
        tty: Boolean(raw.Spec?.TaskTemplate?.ContainerSpec?.TTY),
        endpoint: this.endpoint,
        name: `service ${id}`,
        what: `service ${id}`,
      },
      options,
    );
  }

  /**
   * Makes sure node `nodeId` has the image `imageId` (a content id): "present" when it had it,
   * "loaded" when it was streamed from `sourceDocker` into the node's engine. Concurrent calls
   * for one image and node share one copy.
   */
  ensureImage(imageId: string, nodeId: string, sources: ImageSources): Promise<ImagePresence> {
    const target = sources.targetDockerForNode(nodeId);
    if (target === undefined) {
      return Promise.reject(
        new DomainError("not_found", `no Docker engine is known for node ${nodeId}`),
      );
    }
    const key = `${nodeId} ${imageId}`;
    const inFlight = this.copying.get(key);
    if (inFlight) return inFlight;
    const copy = copyImage(imageId, sources.sourceDocker, target, {
      ...(sources.signal ? { signal: sources.signal } : {}),
    })
      .then((presence) => {
        if (presence === "loaded")
          this.logger?.info({ image: imageId, node: nodeId }, "image loaded");
        return presence;
      })
      .finally(() => this.copying.delete(key));
    this.copying.set(key, copy);
    return copy;
  }

  private async tasks(serviceId: string): Promise<ServiceTask[]> {
    const raw = (await this.call(`list the tasks of service ${serviceId}`, (abortSignal) =>
      this.docker.listTasks({ filters: { service: [serviceId] }, abortSignal }),
    )) as RawTask[];
    // The service filter also matches services whose name starts with the id.
    return raw.filter((task) => task.ServiceID === serviceId).map(toServiceTask);
  }

  private async findService(name: string): Promise<RawService | undefined> {
    const services = (await this.call("list services", (abortSignal) =>
      this.docker.listServices({ filters: { name: [name] }, abortSignal }),
    )) as RawService[];
    return services.find((service) => service.Spec?.Name === name);
  }

  private async inspectService(id: string): Promise<RawService> {
    return (await this.call(
      `inspect service ${id}`,
      (abortSignal) => this.docker.getService(id).inspect({ abortSignal }),
      `service ${id}`,
    )) as RawService;
  }

  private async inspectNode(id: string): Promise<RawNode> {
    return (await this.call(
      `inspect node ${id}`,
      (abortSignal) => this.docker.getNode(id).inspect({ abortSignal }),
      `node ${id}`,
    )) as RawNode;
  }

  /** A request to the manager, its failure a DomainError (engineError). */
  private async call<T>(
    action: string,
    request: (abortSignal: AbortSignal) => Promise<T>,
    what?: string,
  ): Promise<T> {
    try {
      return await this.deadline(action, request);
    } catch (error) {
      throw engineError(error, this.endpoint, action, what);
    }
  }

  /**
   * A request to the manager that rejects with `deadline_exceeded` when it takes longer than
   * callTimeoutMs (engine-client.ts, MANAGER_CALL_TIMEOUT_MS); its own failures are left as
   * they are, for the caller to read.
   */
  private deadline<T>(
    action: string,
    request: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withinDeadline(
      request,
      this.callTimeoutMs,
      () => `the Swarm manager at ${this.endpoint} was asked to ${action}`,
    );
  }
}
