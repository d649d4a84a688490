/**
 * One Docker engine, through dockerode: the platform's containers and project networks on it.
 *
 * Every operation is idempotent, keyed by a deterministic name (see names.ts): running a spec
 * whose container exists reuses it, removing what is gone succeeds. The reconciler can therefore
 * repeat any step after a crash. Failures are DomainErrors: `unavailable` when the engine cannot
 * be reached (retry), `not_found` for a missing image or network, `invalid_argument` for what
 * the engine refuses, `failed_precondition` for an app that does not become healthy.
 *
 * Security of user containers (docs/architecture.md, "Security"), set on every container this creates:
 * - `no-new-privileges` and every capability dropped. Apps listen on an unprivileged port (8080),
 *   which needs no capability, so none is added back. Images whose entrypoint switches users
 *   (su-exec, gosu, nginx's master process) need SETUID/SETGID and fail here: build them to run
 *   as their user from the start.
 * - CPU (NanoCpus), memory without swap (Memory = MemorySwap) and a process count limit
 *   (PidsLimit) so that one app cannot starve a node or fork-bomb it.
 * - A writable root filesystem (ReadonlyRootfs false): most apps write caches and temporary files
 *   where they live, and the platform offers no volumes yet; the limits above bound the harm.
 * - json-file logs capped in size and count, so that a chatty app cannot fill the disk.
 * - One bridge network per project: Docker isolates user-defined bridges from each other (its
 *   DOCKER-ISOLATION iptables chains), so one project's containers cannot reach another's, while
 *   containers of one project reach each other (inter-container communication stays on). This
 *   relies on the engine managing iptables (its default); an engine run with `--iptables=false`
 *   gives no isolation. Ports are published on `hostAddress` only (127.0.0.1 in the embedded
 *   mode), never on every interface. Each project's bridge is named `obt-…`, and the agent's
 *   isolation rules (src/network) keep everything on such a bridge from the host itself (its
 *   API, database, published ports), the cluster's nodes, engine ports and link-local addresses.
 *
 * Restart policy: `on-failure` with at most RESTART_MAX_RETRIES restarts, not `always` or
 * `unless-stopped`. The reconciler owns the lifecycle: Docker restarting a crashed app at once
 * covers a transient crash without waiting for the next reconcile pass, but an app that keeps
 * crashing ends `exited` with its exit code, which the reconciler sees, reports and retries with
 * backoff, instead of a restart loop that only Docker knows about. A container the platform
 * stopped stays stopped (Docker never restarts a manually stopped container), and after a host
 * reboot the reconciler, not Docker, starts what should run.
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
import { engineClient, findNetwork, PING_TIMEOUT_MS, pingEngine } from "./engine-client.js";
import { engineError, isPortInUse, reasonOf, statusOf } from "./engine-errors.js";
import { type LogOptions, lastLogLines, readLogs } from "./engine-logs.js";
import { candidatePorts, checkPortRange, type PortRange, probePort } from "./host-ports.js";
import type { LogLine } from "./log-stream.js";
import { connects, listens } from "./port-probes.js";
import { type ContainerStats, computeStats, type RawDockerStats } from "./stats.js";
import { BUILD_NETWORK, tenantBridgeName } from "./tenant-networks.js";

/** Process count limit of a container: generous for an app, fatal for a fork bomb. */
export const PIDS_LIMIT = 512;
/** Restarts Docker makes after a crash before it leaves the container exited for the reconciler. */
export const RESTART_MAX_RETRIES = 3;
/** json-file log rotation: at most LOG_MAX_FILES files of LOG_MAX_SIZE per container. */
export const LOG_MAX_SIZE = "10m";
export const LOG_MAX_FILES = "3";
/** Containers created with another port when the one picked was taken meanwhile. */
const PORT_ATTEMPTS = 5;
/** How long a name another creator reserved may take to become a container one can inspect. */
const NAME_RESERVED_WAIT_MS = 5_000;
const HEALTH_POLL_MS = 50;
/** A direct probe that neither connects nor is refused within this is "unreachable". */
const DIRECT_PROBE_TIMEOUT_MS = 250;
const MIB = 1024 * 1024;
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/;
const ENV_NAME = /^[^=\0]+$/;

export interface DockerRuntimeOptions {
  /** An engine client; otherwise one is made for `dockerHost`. */
  docker?: Dockerode;
  /** DOCKER_HOST-style address: `unix:///var/run/docker.sock` (default) or `tcp://HOST:PORT`. */
  dockerHost?: string;
  /** Host ports to publish containers on, both ends included. */
  portRange: PortRange;
  /** The address ports are published on and routes use: "127.0.0.1" in the embedded mode. */
  hostAddress: string;
  logger?: Logger;
}

export interface HealthCheckSpec {
  /** Run in the container (no shell), healthy on exit 0; without it the image's HEALTHCHECK. */
  cmd?: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface ContainerSpec {
  /** Deterministic (names.ts): the key that makes `run` idempotent. */
  name: string;
  /** Preferably the image's content id (`sha256:…`): never pulled. */
  image: string;
  /** Overrides the image's CMD; for images without one. */
  cmd?: string[];
  /** `PORT` is always set to `internalPort`, whatever this says. */
  env: Record<string, string>;
  labels: Record<string, string>;
  /** The project's network (ensureNetwork first). */
  network: string;
  /** The port the app listens on in the container. */
  internalPort: number;
  /** A fixed host port; otherwise one is picked from the range. */
  hostPort?: number;
  cpuMillicores: number;
  memoryMb: number;
  healthCheck?: HealthCheckSpec;
}

export interface RunningContainer {
  id: string;
  name: string;
  hostPort: number;
  /** The host address the port is published on: routes go to `address:hostPort`. */
  address: string;
  /** False when a container of that name existed and was reused. */
  created: boolean;
}

export type ContainerState =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "removing"
  | "exited"
  | "dead";

/** "none" when the container has no health check. */
export type ContainerHealth = "healthy" | "unhealthy" | "starting" | "none";

export interface ContainerInfo {
  id: string;
  name: string;
  state: ContainerState;
  health: ContainerHealth;
  labels: Record<string, string>;
  /** The published host port while the container runs; undefined when it does not. */
  hostPort: number | undefined;
  /** The image's content id (`sha256:…`). */
  image: string;
  createdAt: Date;
}

export interface EngineInfo {
  id: string;
  hostname: string;
  cpus: number;
  memoryBytes: number;
  serverVersion: string;
  /** The engine's membership of a Swarm, when it is an active node of one. */
  swarm?: { nodeId: string; manager: boolean };
}

export interface NetworkRef {
  id: string;
  name: string;
  created: boolean;
}

export type ImageRemoval = "removed" | "not_found" | "in_use";

export class DockerRuntime {
  /** Where the engine is looked for, for messages: "unix:///var/run/docker.sock". */
  readonly endpoint: string;
  private readonly docker: Dockerode;
  private readonly portRange: PortRange;
  private readonly hostAddress: string;
  private readonly logger: Logger | undefined;
  /** Ports picked for containers being created by this process, not yet visible in the engine. */
  private readonly reservedPorts = new Set<number>();
  /** run() calls in flight, by container name: a second call for a name waits for the first. */
  private readonly running = new KeyLock();

  constructor(options: DockerRuntimeOptions) {
    this.portRange = checkPortRange(options.portRange);
    if (!options.hostAddress) throw invalidArgument("hostAddress must not be empty");
    this.hostAddress = options.hostAddress;
    this.logger = options.logger;
    ({ docker: this.docker, endpoint: this.endpoint } = engineClient(options));
  }

  /** Resolves when the engine answers; throws `unavailable` naming the endpoint otherwise. */
  async ping(): Promise<void> {
    await pingEngine({ docker: this.docker, endpoint: this.endpoint });
  }

  /** The engine's identity and capacity, for node_metadata. */
  async info(): Promise<EngineInfo> {
    // A hung engine must not hang the caller (the heartbeat, at start-up): a deadline, as ping.
    const info = await this.call("read the engine's info", () =>
      (
        this.docker.info as unknown as (options: {
          abortSignal: AbortSignal;
        }) => Promise<Record<string, unknown>>
      ).call(this.docker, { abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) }),
    );
    return {
      id: String(info.ID ?? ""),
      hostname: String(info.Name ?? ""),
      cpus: Number(info.NCPU ?? 0),
      memoryBytes: Number(info.MemTotal ?? 0),
      serverVersion: String(info.ServerVersion ?? ""),
      ...swarmMembership(info.Swarm),
    };
  }

  /**
   * The bridge network `name`, created when missing, its Linux bridge named `obt-…`
   * (tenant-networks.ts). Two processes may create it at once: the engine refuses the second
   * (409, or 403 for the same bridge name) or, as Docker does not strictly enforce unique network
   * names, both succeed and the newer twin is removed, so everyone ends up on the oldest.
   */
  async ensureNetwork(
    name: string,
    labels: Record<string, string>,
    options: { interContainer?: boolean } = {},
  ): Promise<NetworkRef> {
    const existing = await this.findNetwork(name);
    if (existing) return { id: existing, name, created: false };
    let id: string;
    try {
      const network = await this.docker.createNetwork({
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: labels,
        Options: {
          // Containers of one project talk to each other; other projects' bridges are isolated.
          // The build network turns it off: builds of different tenants share it.
          "com.docker.network.bridge.enable_icc": String(options.interContainer ?? true),
          // The isolation rules match every tenant bridge by this name (tenant-networks.ts).
          "com.docker.network.bridge.name": tenantBridgeName(name),
        },
      });
      id = network.id;
    } catch (error) {
      // 403 "networks have same bridge name": another process made it a moment ago.
      if (statusOf(error) === 409 || statusOf(error) === 403) {
        const winner = await this.findNetwork(name);
        if (winner) return { id: winner, name, created: false };
      }
      throw engineError(error, this.endpoint, `create network ${name}`);
    }
    const oldest = await this.findNetwork(name);
    if (oldest && oldest !== id) {
      await this.removeNetwork(id).catch((error: unknown) => {
        this.logger?.warn({ err: error, network: name }, "could not remove a duplicate network");
      });
      return { id: oldest, name, created: false };
    }
    this.logger?.info({ network: name, id }, "network created");
    return { id, name, created: true };
  }

  /**
   * The network every build step runs on (BUILD_NETWORK), created when missing: no traffic
   * between its containers, and under the isolation rules like a project's network.
   */
  ensureBuildNetwork(labels: Record<string, string> = {}): Promise<NetworkRef> {
    return this.ensureNetwork(
      BUILD_NETWORK,
      { ...labels, [LABELS.network]: "build" },
      { interContainer: false },
    );
  }

  /** Removes a network (by name or id); gone already is fine; one still in use is refused. */
  async removeNetwork(nameOrId: string): Promise<void> {
    try {
      await this.docker.getNetwork(nameOrId).remove();
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status === 403 || status === 409) {
        throw failedPrecondition(`network ${nameOrId} is still in use: ${reasonOf(error)}`);
      }
      throw engineError(error, this.endpoint, `remove network ${nameOrId}`);
    }
  }

  /**
   * Runs the container described by `spec`, or reuses (and starts) the one of that name.
   * A reused container keeps its configuration: a different configuration needs a new name.
   */
  run(spec: ContainerSpec): Promise<RunningContainer> {
    try {
      checkSpec(spec);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.running.run(spec.name, () => this.runOnce(spec));
  }

  private async runOnce(spec: ContainerSpec): Promise<RunningContainer> {
    const existing = await this.inspectIfExists(spec.name);
    if (existing) {
      const reused = await this.reuse(existing, spec);
      if (reused) return reused;
    }
    return this.create(spec);
  }

  /** Starts an existing container if needed; undefined when it had to be removed instead. */
  private async reuse(
    info: Dockerode.ContainerInspectInfo,
    spec: ContainerSpec,
  ): Promise<RunningContainer | undefined> {
    const container = this.docker.getContainer(info.Id);
    const status = info.State.Status;
    if (status === "dead" || status === "removing") {
      await this.remove(info.Id);
      return undefined;
    }
    if (status === "paused") {
      await this.call(`unpause container ${spec.name}`, () => container.unpause());
    } else if (status === "created" || status === "exited") {
      try {
        await container.start();
      } catch (error) {
        if (statusOf(error) === 304) {
          // Started meanwhile by someone else.
        } else if (isPortInUse(error) && (await this.inspectIfExists(info.Id))?.State.Running) {
          // Its creator started it at the same moment, and the engine says "port already
          // allocated" to the second start: it runs, with its port.
        } else if (isPortInUse(error) && spec.hostPort === undefined) {
          // Its port was taken while it was stopped: make it again on another port.
          this.logger?.warn({ container: spec.name }, "host port taken while stopped, recreating");
          await this.remove(info.Id);
          return undefined;
        } else {
          throw engineError(error, this.endpoint, `start container ${spec.name}`);
        }
      }
    }
    const hostPort = boundHostPort(info.HostConfig.PortBindings, spec.internalPort);
    if (hostPort === undefined) {
      throw failedPrecondition(
        `container ${spec.name} exists but does not publish port ${spec.internalPort}: remove it first`,
      );
    }
    this.logger?.debug({ container: spec.name, id: info.Id }, "container reused");
    return { id: info.Id, name: spec.name, hostPort, address: this.hostAddress, created: false };
  }

  private async create(spec: ContainerSpec): Promise<RunningContainer> {
    const tried = new Set<number>();
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const picked = spec.hostPort === undefined;
      const hostPort = spec.hostPort ?? (await this.pickPort(tried));
      tried.add(hostPort);
      try {
        let container: Dockerode.Container;
        try {
          container = await this.docker.createContainer(this.createOptions(spec, hostPort));
        } catch (error) {
          if (statusOf(error) === 409) {
            // Created meanwhile by another process: theirs is ours.
            const existing = await this.awaitCreated(spec.name);
            const reused = existing && (await this.reuse(existing, spec));
            if (reused) return reused;
            continue;
          }
          if (statusOf(error) === 404) throw this.missing(error, spec);
          throw engineError(error, this.endpoint, `create container ${spec.name}`);
        }
        try {
          await container.start();
        } catch (error) {
          // 304: another process found it created and started it (see reuse).
          if (statusOf(error) === 304) return this.made(spec, container.id, hostPort);
          // Leave nothing half made behind: a retry starts clean (and removes it, should this fail).
          await this.remove(container.id).catch((removal: unknown) =>
            this.logger?.warn(
              { container: spec.name, reason: reasonOf(removal) },
              "removing a container that failed to start failed",
            ),
          );
          if (isPortInUse(error) && spec.hostPort === undefined) {
            this.logger?.warn(
              { container: spec.name, hostPort },
              "host port taken, trying another",
            );
            continue;
          }
          // The engine checks the network only now.
          if (statusOf(error) === 404) throw this.missing(error, spec);
          throw engineError(error, this.endpoint, `start container ${spec.name}`);
        }
        return this.made(spec, container.id, hostPort);
      } finally {
        // From now on the engine reports the port as published (or it is free again).
        if (picked) this.reservedPorts.delete(hostPort);
      }
    }
    throw resourceExhausted(
      `could not publish container ${spec.name}: ${PORT_ATTEMPTS} host ports were taken in a row`,
    );
  }

  /**
   * The container another creator is making under `name`. The engine reserves the name before
   * the container can be inspected, so a 409 may come while inspecting still answers 404 for a
   * moment: wait for it (undefined when it never appears, or was removed meanwhile).
   */
  private async awaitCreated(name: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    const deadline = Date.now() + NAME_RESERVED_WAIT_MS;
    for (;;) {
      const info = await this.inspectIfExists(name);
      if (info || Date.now() >= deadline) return info;
      await sleep(25);
    }
  }

  private made(spec: ContainerSpec, id: string, hostPort: number): RunningContainer {
    this.logger?.info({ container: spec.name, id, hostPort }, "container started");
    return { id, name: spec.name, hostPort, address: this.hostAddress, created: true };
  }

  /** A 404 while making a container: its network or image is missing, or it was removed meanwhile. */
  private missing(error: unknown, spec: ContainerSpec): DomainError {
    const reason = reasonOf(error);
    if (/no such container/i.test(reason)) {
      return unavailable(`container ${spec.name} was removed while it was being started`, error);
    }
    if (/network/i.test(reason)) {
      return new DomainError("not_found", `network ${spec.network} not found`, { cause: error });
    }
    return imageMissing(`image ${spec.image} not found`, error);
  }

  private createOptions(spec: ContainerSpec, hostPort: number): Dockerode.ContainerCreateOptions {
    const port = `${spec.internalPort}/tcp`;
    const env = { ...spec.env, PORT: String(spec.internalPort) };
    const memory = spec.memoryMb * MIB;
    const health = spec.healthCheck;
    return {
      name: spec.name,
      Image: spec.image,
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      Labels: spec.labels,
      ExposedPorts: { [port]: {} },
      ...(health
        ? {
            Healthcheck: {
              // No Test: the image's HEALTHCHECK, with these timings.
              ...(health.cmd ? { Test: ["CMD", ...health.cmd] } : {}),
              Interval: health.intervalMs * 1e6,
              Timeout: health.timeoutMs * 1e6,
              Retries: health.retries,
              StartPeriod: health.startPeriodMs * 1e6,
            },
          }
        : {}),
      HostConfig: {
        NetworkMode: spec.network,
        PortBindings: { [port]: [{ HostIp: this.hostAddress, HostPort: String(hostPort) }] },
        SecurityOpt: ["no-new-privileges:true"],
        CapDrop: ["ALL"],
        // A tiny init as PID 1 forwards SIGTERM and reaps zombies: apps that would ignore the
        // signal as PID 1 stop at once instead of waiting out the whole grace period.
        Init: true,
        NanoCpus: spec.cpuMillicores * 1e6,
        Memory: memory,
        MemorySwap: memory,
        PidsLimit: PIDS_LIMIT,
        ReadonlyRootfs: false,
        RestartPolicy: { Name: "on-failure", MaximumRetryCount: RESTART_MAX_RETRIES },
        LogConfig: {
          Type: "json-file",
          Config: { "max-size": LOG_MAX_SIZE, "max-file": LOG_MAX_FILES },
        },
      },
      NetworkingConfig: { EndpointsConfig: { [spec.network]: {} } },
    };
  }

  /**
   * A host port of the range that neither a container of this engine (running, or stopped and
   * bound to it) nor another process holds, nor a run() of this process is about to take.
   */
  private async pickPort(exclude: ReadonlySet<number>): Promise<number> {
    const taken = new Set([...exclude, ...this.reservedPorts, ...(await this.enginePorts())]);
    const size = this.portRange.to - this.portRange.from + 1;
    const offset = Math.floor(Math.random() * size);
    for (const port of candidatePorts(this.portRange, taken, offset)) {
      if (this.reservedPorts.has(port)) continue;
      if ((await probePort(this.hostAddress, port)) === "in_use") continue;
      if (this.reservedPorts.has(port)) continue;
      this.reservedPorts.add(port);
      return port;
    }
    throw resourceExhausted(
      `no free host port in ${this.portRange.from}-${this.portRange.to} on ${this.hostAddress}`,
    );
  }

  private async enginePorts(): Promise<Set<number>> {
    const containers = await this.call("list containers", () =>
      this.docker.listContainers({ all: true }),
    );
    const ports = new Set<number>();
    const stopped: string[] = [];
    for (const container of containers) {
      for (const port of container.Ports ?? []) if (port.PublicPort) ports.add(port.PublicPort);
      if (container.State !== "running" && container.Labels?.[LABELS.deployment] === "true") {
        stopped.push(container.Id);
      }
    }
    // A stopped platform container gets its port back when the reconciler starts it again.
    const inspected = await Promise.all(stopped.map((id) => this.inspectIfExists(id)));
    for (const info of inspected) {
      for (const bindings of Object.values(info?.HostConfig.PortBindings ?? {})) {
        for (const binding of (bindings as PortBinding[] | null) ?? []) {
          const port = Number(binding.HostPort);
          if (port > 0) ports.add(port);
        }
      }
    }
    return ports;
  }

  /**
   * Resolves once the container is ready: `healthy` when it has a Docker health check, otherwise
   * when its published port accepts connections. Rejects, with the container's last log lines,
   * when it exits, crashes, turns unhealthy or `timeoutMs` passes.
   */
  async waitHealthy(
    id: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    const signal = options.signal;
    for (;;) {
      signal?.throwIfAborted();
      const info = await this.inspect(id);
      const name = info.Name.replace(/^\//, "");
      const state = info.State;
      if (state.Status === "exited" || state.Status === "dead" || state.Status === "restarting") {
        const what =
          state.Status === "restarting"
            ? `crashed with exit code ${state.ExitCode} before it became healthy (Docker is restarting it)`
            : `exited with code ${state.ExitCode} before it became healthy`;
        throw failedPrecondition(`container ${name} ${what}${await this.lastLines(id)}`);
      }
      if (state.Health && state.Health.Status !== "none") {
        if (state.Health.Status === "healthy") return;
        if (state.Health.Status === "unhealthy") {
          const probe = state.Health.Log?.at(-1)?.Output?.trim();
          throw failedPrecondition(
            `container ${name} is unhealthy${probe ? ` (health check: ${probe})` : ""}${await this.lastLines(id)}`,
          );
        }
      } else if (state.Running) {
        // Ask the app itself first, at its address on the container network: a connection
        // there succeeds only once it listens, with no proxy in between, so no hold is needed.
        // Where that address cannot be reached (a remote engine), the published port decides.
        const direct = directTarget(info);
        const verdict = direct
          ? await connects(direct.host, direct.port, DIRECT_PROBE_TIMEOUT_MS)
          : "unreachable";
        if (verdict === "listening") return;
        if (verdict === "unreachable") {
          const target = publishedTarget(info, this.hostAddress);
          if (!target || (await listens(target.host, target.port))) return;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DomainError(
          "deadline_exceeded",
          `container ${name} did not become healthy within ${options.timeoutMs} ms${await this.lastLines(id)}`,
        );
      }
      await sleep(Math.min(HEALTH_POLL_MS, left), undefined, signal ? { signal } : {}).catch(
        (error: unknown) => {
          signal?.throwIfAborted();
          throw error;
        },
      );
    }
  }

  /** The end of a failure's message: the last lines `id` logged (engine-logs.ts). */
  private lastLines(id: string): Promise<string> {
    return lastLogLines((options) => this.logs(id, options));
  }

  /** Stops a container; one already stopped or gone is fine. */
  async stop(id: string, options: { timeoutSec: number }): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: options.timeoutSec });
    } catch (error) {
      const status = statusOf(error);
      if (status === 304 || status === 404) return;
      throw engineError(error, this.endpoint, `stop container ${id}`);
    }
  }

  /** Removes a container, running or not, with its anonymous volumes; one already gone is fine. */
  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      // 409: a removal is already in progress.
      if (status === 404 || status === 409) return;
      throw engineError(error, this.endpoint, `remove container ${id}`);
    }
  }

  /** Removes an image unless a container (even a stopped one) still uses it. */
  async removeImage(id: string): Promise<ImageRemoval> {
    try {
      await this.docker.getImage(id).remove();
      return "removed";
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return "not_found";
      if (status === 409) return "in_use";
      throw engineError(error, this.endpoint, `remove image ${id}`);
    }
  }

  /** The platform's containers (label `cloud.obiente.deployment=true`), in every state. */
  async list(filter: { deploymentId?: string } = {}): Promise<ContainerInfo[]> {
    const label = [`${LABELS.deployment}=true`];
    if (filter.deploymentId !== undefined) {
      label.push(`${LABELS.deploymentId}=${filter.deploymentId}`);
    }
    const containers = await this.call("list containers", () =>
      this.docker.listContainers({ all: true, filters: { label } }),
    );
    return containers.map((container) => ({
      id: container.Id,
      name: (container.Names[0] ?? "").replace(/^\//, ""),
      state: container.State as ContainerState,
      health: healthFromStatus(container.Status),
      labels: container.Labels ?? {},
      hostPort: container.Ports?.find((port) => port.PublicPort && port.Type === "tcp")?.PublicPort,
      image: container.ImageID,
      createdAt: new Date(container.Created * 1000),
    }));
  }

  /**
   * A container's log lines, stdout and stderr, each with the time Docker received it. With
   * `follow`, it goes on until the container stops or `signal` aborts (then it just ends).
   */
  async *logs(id: string, options: LogOptions = {}): AsyncGenerator<LogLine> {
    const info = await this.inspect(id);
    const container = this.docker.getContainer(info.Id);
    yield* readLogs(
      {
        read: (query) => container.logs({ ...query, follow: false }),
        follow: (query) => container.logs({ ...query, follow: true }),
        tty: Boolean(info.Config.Tty),
        endpoint: this.endpoint,
        name: id,
        what: `container ${id}`,
      },
      options,
    );
  }

  /** One stats sample (the engine takes about a second to measure CPU over an interval). */
  async stats(id: string): Promise<ContainerStats> {
    const raw = await this.call(
      `read the stats of ${id}`,
      () => this.docker.getContainer(id).stats({ stream: false }),
      `container ${id}`,
    );
    return computeStats(raw as RawDockerStats);
  }

  private async inspect(id: string): Promise<Dockerode.ContainerInspectInfo> {
    return this.call(
      `inspect container ${id}`,
      () => this.docker.getContainer(id).inspect(),
      `container ${id}`,
    );
  }

  private async inspectIfExists(id: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw engineError(error, this.endpoint, `inspect container ${id}`);
    }
  }

  /**
   * The oldest network named `name`, of any scope: a container joins a bridge or, on a Swarm
   * node, an attachable overlay of the project's name alike (unlike SwarmRuntime's services).
   */
  private findNetwork(name: string): Promise<string | undefined> {
    return findNetwork({ docker: this.docker, endpoint: this.endpoint }, name);
  }

  private async call<T>(action: string, request: () => Promise<T>, what?: string): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw engineError(error, this.endpoint, action, what);
    }
  }
}

interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

function checkSpec(spec: ContainerSpec): void {
  if (!CONTAINER_NAME.test(spec.name)) {
    throw invalidArgument(`container name "${spec.name}" is not a valid Docker name`);
  }
  if (!spec.image) throw invalidArgument("image must not be empty");
  if (!spec.network) throw invalidArgument("network must not be empty");
  checkReplicaSettings(spec);
}

/**
 * The checks a container's spec and a Swarm service's (swarm-spec.ts) share: ports, limits,
 * environment and health check. Each checks its name and network first: Docker's and Swarm's
 * name rules differ, and a service's network is optional.
 */
export function checkReplicaSettings(
  spec: Pick<
    ContainerSpec,
    "internalPort" | "hostPort" | "cpuMillicores" | "memoryMb" | "env" | "healthCheck"
  >,
): void {
  if (!isPort(spec.internalPort)) {
    throw invalidArgument(`internal port must be 1-65535, got ${spec.internalPort}`);
  }
  if (spec.hostPort !== undefined && !isPort(spec.hostPort)) {
    throw invalidArgument(`host port must be 1-65535, got ${spec.hostPort}`);
  }
  if (!Number.isInteger(spec.cpuMillicores) || spec.cpuMillicores < 1) {
    throw invalidArgument(`cpu must be a positive number of millicores, got ${spec.cpuMillicores}`);
  }
  // The engine refuses less than 6 MiB.
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < 6) {
    throw invalidArgument(`memory must be at least 6 MB, got ${spec.memoryMb}`);
  }
  for (const key of Object.keys(spec.env)) {
    if (!ENV_NAME.test(key)) throw invalidArgument(`environment variable name "${key}" is invalid`);
  }
  const health = spec.healthCheck;
  if (health) {
    const durations = [health.intervalMs, health.timeoutMs, health.startPeriodMs];
    if (durations.some((ms) => !Number.isInteger(ms) || ms < 0) || health.intervalMs < 1) {
      throw invalidArgument("health check durations must be whole milliseconds, interval ≥ 1");
    }
    if (!Number.isInteger(health.retries) || health.retries < 0) {
      throw invalidArgument("health check retries must be a non-negative integer");
    }
    if (health.cmd && health.cmd.length === 0) {
      throw invalidArgument("health check command must not be empty");
    }
  }
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}

function boundHostPort(portBindings: unknown, internalPort: number): number | undefined {
  const bindings = (portBindings as Record<string, PortBinding[] | null> | undefined)?.[
    `${internalPort}/tcp`
  ];
  const port = Number(bindings?.[0]?.HostPort);
  return port > 0 ? port : undefined;
}

/** Where the container's first published TCP port answers from this host. */
function publishedTarget(
  info: Dockerode.ContainerInspectInfo,
  hostAddress: string,
): { host: string; port: number } | undefined {
  const ports = (info.NetworkSettings.Ports ?? {}) as Record<string, PortBinding[] | null>;
  for (const [key, bindings] of Object.entries(ports)) {
    if (!key.endsWith("/tcp")) continue;
    const binding = bindings?.[0];
    const port = Number(binding?.HostPort);
    if (!(port > 0)) continue;
    const ip = binding?.HostIp;
    const host = !ip || ip === "0.0.0.0" || ip === "::" ? hostAddress : ip;
    return { host, port };
  }
  return undefined;
}

/** The container's own address and the app's port, on its first network. */
function directTarget(
  info: Dockerode.ContainerInspectInfo,
): { host: string; port: number } | undefined {
  const ip = Object.values(info.NetworkSettings?.Networks ?? {}).find(
    (n) => n.IPAddress,
  )?.IPAddress;
  const bindings = Object.keys(info.HostConfig?.PortBindings ?? {});
  const port = Number.parseInt(bindings[0]?.split("/")[0] ?? "", 10);
  return ip && Number.isInteger(port) ? { host: ip, port } : undefined;
}

function healthFromStatus(status: string): ContainerHealth {
  if (status.includes("(healthy)")) return "healthy";
  if (status.includes("(unhealthy)")) return "unhealthy";
  if (status.includes("(health: starting)")) return "starting";
  return "none";
}

/** `docker info`'s Swarm part as the engine's membership, when the node is active in a Swarm. */
function swarmMembership(swarm: unknown): Pick<EngineInfo, "swarm"> {
  if (typeof swarm !== "object" || swarm === null) return {};
  const { NodeID, LocalNodeState, ControlAvailable } = swarm as Record<string, unknown>;
  if (LocalNodeState !== "active" || typeof NodeID !== "string" || NodeID === "") return {};
  return { swarm: { nodeId: NodeID, manager: ControlAvailable === true } };
}
