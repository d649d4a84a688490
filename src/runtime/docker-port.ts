/**
 * The controller's runtime (RuntimePort) on one Docker engine: DockerRuntime, with a project's
 * network made one at a time and a deployment's images removed by label.
 */
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { LABELS } from "../domain/index.js";
import { KeyLock } from "../platform/index.js";
import type { DockerRuntime } from "./docker-runtime.js";
import { driftFilters, engineEvents } from "./engine-events.js";
import { removeImagesLabelled } from "./image-cleanup.js";
import type { ContainerRef, RunSpec, RuntimePort, Started } from "./runtime-port.js";

export interface DockerRuntimePortOptions {
  runtime: DockerRuntime;
  /** The same engine's client, for its events and images. */
  docker: Dockerode;
  hostAddress: string;
  /** How long a stopping container gets before it is killed (STOP_TIMEOUT_SECONDS). */
  stopTimeoutSec: number;
  logger?: Logger;
}

export class DockerRuntimePort implements RuntimePort {
  readonly endpoint: string;
  readonly hostAddress: string;
  /**
   * Deployments of one project converging at once (the job worker runs two) would each find the
   * project's network missing and each create it; Docker allows twins of a name, and a container
   * started on that name before the twin is removed fails with "network … is ambiguous".
   */
  private readonly networks = new KeyLock();

  constructor(private readonly options: DockerRuntimePortOptions) {
    this.endpoint = options.runtime.endpoint;
    this.hostAddress = options.hostAddress;
  }

  ping(): Promise<void> {
    return this.options.runtime.ping();
  }

  ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return this.networks.run(name, async () => {
      await this.options.runtime.ensureNetwork(name, labels);
    });
  }

  run(spec: RunSpec): Promise<Started> {
    return this.options.runtime.run(spec);
  }

  waitHealthy(id: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    return this.options.runtime.waitHealthy(id, options);
  }

  stop(id: string): Promise<void> {
    return this.options.runtime.stop(id, { timeoutSec: this.options.stopTimeoutSec });
  }

  remove(id: string): Promise<void> {
    return this.options.runtime.remove(id);
  }

  async removeImage(id: string): Promise<void> {
    await this.options.runtime.removeImage(id);
  }

  removeImagesOf(deploymentId: string): Promise<void> {
    return removeImagesLabelled(
      this.options.docker,
      `${LABELS.deploymentId}=${deploymentId}`,
      this.options.logger,
    );
  }

  events(signal: AbortSignal): AsyncIterable<{ type: string; action: string; id: string }> {
    return engineEvents(this.options.docker, driftFilters(`${LABELS.deployment}=true`), signal);
  }

  async list(filter?: { deploymentId?: string }): Promise<ContainerRef[]> {
    return (await this.options.runtime.list(filter)).map((c) => ({
      id: c.id,
      name: c.name,
      state: c.state,
      health: c.health,
      labels: c.labels,
      hostPort: c.hostPort,
    }));
  }
}
