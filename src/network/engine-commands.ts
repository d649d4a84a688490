/**
 * The isolation's commands run in a helper container on the node's engine, for an agent that holds
 * the engine's socket but not the node's network namespace (the Swarm stack's agent: an
 * unprivileged user on an overlay network, which a Swarm service cannot mix with the host's
 * network). The socket is root on the node already; the helper only narrows what runs there.
 *
 * The helper, one per engine under one name, is made to be exactly this (helperSpec):
 * - the host's network namespace (`NetworkMode: host`), the one the node's iptables belong to;
 * - root inside, every capability dropped but NET_ADMIN, no-new-privileges, a read-only root;
 * - a process that only waits (`sleep`): each command is a `docker exec` in it, with an argument
 *   array and its input on stdin (iptables-restore), never a shell;
 * - the image NETWORK_ISOLATION_IMAGE names, or by default the agent's own container's image
 *   (the platform's image holds iptables), so that it needs no pull and follows the agent's
 *   updates;
 * - labelled as the platform's, with a hash of this spec: a helper that is missing, stopped, or
 *   made from another spec (another image) is made again before the next command; no restart
 *   policy, so that a helper whose agent is gone does not come back.
 *
 * close() removes it: it lives as long as the agent. The rules it installed stay.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { LABELS } from "../domain/index.js";
import { statusOf } from "../runtime/index.js";
import {
  COMMAND_PATH,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from "./commands.js";

export const HELPER_NAME = "obiente-network-isolation";
export const HELPER_COMPONENT = "network-isolation";

/** What the helper's one process runs: it waits (68 years), whatever `sleep` the image has. */
const WAIT = ["sleep", "2147483647"];
const MEMORY_BYTES = 64 * 1024 * 1024;

export interface EngineCommandsOptions {
  /** The node's engine. */
  docker: Dockerode;
  /** The helper's image, as this engine names it; the agent's own container's image if unset. */
  image?: string | undefined;
  /** The helper's name; one per engine. */
  name?: string;
  /** This process's container id, for the default image (read from /proc/self/mountinfo). */
  selfContainer?: () => Promise<string | undefined>;
  logger?: Logger | undefined;
}

export class EngineCommands implements CommandRunner {
  readonly where: string;
  private readonly name: string;
  /** The helper's id once prepared; cleared when the engine says it is gone. */
  private container: string | undefined;
  private preparing: Promise<string> | undefined;

  constructor(private readonly options: EngineCommandsOptions) {
    this.name = options.name ?? HELPER_NAME;
    this.where = `container ${this.name}`;
  }

  /** Makes the helper what it should be (level-triggered: every call looks again). */
  async prepare(): Promise<void> {
    await this.ensure();
  }

  async run(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const container = this.container ?? (await this.ensure());
    try {
      return await this.exec(container, [file, ...args], options);
    } catch (error) {
      // Removed or stopped since it was prepared (an operator, an engine restart): once more.
      if (!isGoneOrStopped(error)) throw error;
      this.container = undefined;
      return this.exec(await this.ensure(), [file, ...args], options);
    }
  }

  async close(): Promise<void> {
    await this.preparing?.catch(() => {
      // Whatever it did, the removal below looks at the engine itself.
    });
    this.container = undefined;
    try {
      await this.options.docker.getContainer(this.name).remove({ force: true });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** One preparation at a time; its outcome is the helper's id. */
  private ensure(): Promise<string> {
    this.preparing ??= this.make().finally(() => {
      this.preparing = undefined;
    });
    return this.preparing;
  }

  private async make(): Promise<string> {
    const { docker, logger } = this.options;
    const spec = helperSpec(this.name, await this.imageId());
    const wanted = spec.Labels?.[LABELS.spec];
    const existing = await inspectIfExists(docker.getContainer(this.name));
    if (existing && existing.Config.Labels?.[LABELS.spec] === wanted) {
      if (!existing.State.Running) await docker.getContainer(existing.Id).start();
      this.container = existing.Id;
      return existing.Id;
    }
    if (existing) await docker.getContainer(existing.Id).remove({ force: true });
    const created = await docker.createContainer(spec);
    try {
      await created.start();
    } catch (error) {
      await created.remove({ force: true }).catch((cleanup: unknown) => {
        logger?.warn(
          { err: cleanup, name: this.name },
          "could not remove a helper that did not start",
        );
      });
      throw error;
    }
    logger?.info(
      { name: this.name, image: spec.Image, replaced: existing !== undefined },
      "network isolation helper container started",
    );
    this.container = created.id;
    return created.id;
  }

  /** The image's id on this engine: the configured one, or this process's container's. */
  private async imageId(): Promise<string> {
    const { docker, image } = this.options;
    if (image !== undefined) {
      try {
        return (await docker.getImage(image).inspect()).Id;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        throw new Error(
          `image ${image} (NETWORK_ISOLATION_IMAGE) is not on this engine: pull it on every node, or leave NETWORK_ISOLATION_IMAGE unset to use the agent's own image`,
        );
      }
    }
    const self = await (this.options.selfContainer ?? ownContainerId)();
    if (self === undefined) {
      throw new Error(
        "this process does not run in a container, so it has no image for the helper: set NETWORK_ISOLATION_IMAGE",
      );
    }
    const info = await inspectIfExists(docker.getContainer(self));
    if (!info) {
      throw new Error(
        `this process's container ${self.slice(0, 12)} is not on this engine (DOCKER_HOST is another engine?): set NETWORK_ISOLATION_IMAGE`,
      );
    }
    return info.Image;
  }

  private async exec(
    container: string,
    cmd: string[],
    options: RunOptions,
  ): Promise<CommandResult> {
    const { docker } = this.options;
    const execution = await docker.getContainer(container).exec({
      Cmd: cmd,
      User: "0",
      Env: [`PATH=${COMMAND_PATH}`],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await execution.start({ hijack: true, stdin: true });
    let stdout = "";
    let stderr = "";
    const out = new PassThrough();
    const err = new PassThrough();
    out.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    err.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    docker.modem.demuxStream(stream, out, err);
    const finished = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The engine cannot kill an exec: the command may go on in the helper, unwatched.
        stream.destroy();
        resolve(false);
      }, options.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      stream.once("end", done);
      stream.once("close", done);
      stream.once("error", (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
      // Its end closes the command's stdin (the engine half-closes it).
      stream.end(options.input ?? "");
    });
    if (!finished) {
      return { code: null, stdout, stderr: `${stderr}timed out after ${options.timeoutMs} ms` };
    }
    return { code: await exitCode(execution), stdout, stderr };
  }
}

/** The helper's create options for the image `imageId`, with a hash of them as a label. */
export function helperSpec(name: string, imageId: string): Dockerode.ContainerCreateOptions {
  const spec: Dockerode.ContainerCreateOptions = {
    name,
    Image: imageId,
    Entrypoint: [WAIT[0] as string],
    Cmd: WAIT.slice(1),
    User: "0:0",
    // The platform's image checks the API or metrics port: here that would be the host's.
    Healthcheck: { Test: ["NONE"] },
    HostConfig: {
      NetworkMode: "host",
      CapDrop: ["ALL"],
      // iptables over nf_tables needs nothing else (NET_RAW only for the legacy backend's
      // sockets, which this helper does not support: docs/security-network.md).
      CapAdd: ["NET_ADMIN"],
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: true,
      Tmpfs: { "/run": "rw,noexec,nosuid,size=1m", "/tmp": "rw,noexec,nosuid,size=1m" },
      // Stops at once (sleep ignores SIGTERM as PID 1).
      Init: true,
      Memory: MEMORY_BYTES,
      MemorySwap: MEMORY_BYTES,
      PidsLimit: 32,
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
    },
  };
  const hash = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
  return {
    ...spec,
    Labels: { [LABELS.component]: HELPER_COMPONENT, [LABELS.spec]: hash },
  };
}

/**
 * This process's Docker container id, from the mount of /etc/hostname, which Docker binds from
 * `<data-root>/containers/<id>/hostname`; undefined outside a Docker container.
 */
export function containerIdFromMountinfo(mountinfo: string): string | undefined {
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    if (fields[4] !== "/etc/hostname") continue;
    const id = /\/containers\/([0-9a-f]{64})\/hostname$/.exec(fields[3] ?? "")?.[1];
    if (id) return id;
  }
  return undefined;
}

async function ownContainerId(): Promise<string | undefined> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  return containerIdFromMountinfo(mountinfo);
}

async function inspectIfExists(
  container: Dockerode.Container,
): Promise<Dockerode.ContainerInspectInfo | undefined> {
  try {
    return await container.inspect();
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/** 404: no such container; 409: it is not running (an exec cannot start). */
function isGoneOrStopped(error: unknown): boolean {
  const status = statusOf(error);
  return status === 404 || status === 409;
}

/** The exec's exit code, once the engine has recorded it (its output can end a moment before). */
async function exitCode(execution: Dockerode.Exec): Promise<number | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = await execution.inspect();
    if (!info.Running) return info.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}
