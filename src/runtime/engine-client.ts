/**
 * The Docker client both runtimes (one engine, a Swarm) start from: a dockerode instance for an
 * address, or one given (tests), with the endpoint written for messages; and the ping and the
 * network lookup they share.
 */
import Dockerode from "dockerode";
import { DomainError, unavailable } from "../domain/index.js";
import { withDeadline } from "../platform/index.js";
import { DEFAULT_DOCKER_HOST, dockerOptions } from "./docker-host.js";
import { engineError, isAbort, reasonOf } from "./engine-errors.js";

/** How long a ping may take before the engine counts as not answering. */
export const PING_TIMEOUT_MS = 5_000;

export interface EngineClient {
  docker: Dockerode;
  /** Where the engine is looked for, for messages: "unix:///var/run/docker.sock". */
  endpoint: string;
}

/** A client for `docker`, or for the engine at `dockerHost` (DOCKER_HOST style; the default socket). */
export function engineClient(options: { docker?: Dockerode; dockerHost?: string }): EngineClient {
  if (options.docker) return { docker: options.docker, endpoint: describeEndpoint(options.docker) };
  const { options: dockerodeOptions, endpoint } = dockerOptions(
    options.dockerHost ?? DEFAULT_DOCKER_HOST,
  );
  return { docker: new Dockerode(dockerodeOptions), endpoint };
}

/**
 * How long one request to a Swarm manager that is not a stream (list, inspect, create, remove)
 * may take. A manager forwards such requests to the Raft leader; when the leader's node vanished
 * without closing its connections (power, link), the forwarded request can wait without end, and
 * with it every deployment whose roll made it. 30 s: far above what a busy manager takes (well
 * under 1 s), and shorter than the controller's job timeout.
 */
export const MANAGER_CALL_TIMEOUT_MS = 30_000;

/**
 * `request` given `timeoutMs` (src/platform's withDeadline): past it, `deadline_exceeded`,
 * saying what did not answer. A retry may succeed, so it is not terminal (the controller tries
 * the deployment again).
 */
export function withinDeadline<T>(
  request: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  what: () => string,
): Promise<T> {
  return withDeadline(
    request,
    timeoutMs,
    () => new DomainError("deadline_exceeded", `${what()}: no answer within ${timeoutMs} ms`),
  );
}

/** Resolves when the engine answers within PING_TIMEOUT_MS; throws `unavailable` otherwise. */
export async function pingEngine({ docker, endpoint }: EngineClient): Promise<void> {
  try {
    // dockerode's ping takes an abortSignal, which its type definitions leave out.
    const ping = docker.ping as unknown as (options: {
      abortSignal: AbortSignal;
    }) => Promise<unknown>;
    await ping.call(docker, { abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) });
  } catch (error) {
    const reason = isAbort(error) ? `no answer within ${PING_TIMEOUT_MS} ms` : reasonOf(error);
    throw unavailable(`no Docker engine at ${endpoint}: ${reason}`, error);
  }
}

/**
 * The id of the oldest network named exactly `name` (the engine's name filter also matches
 * parts of names), if any; with `scope`, only networks of that scope count. The oldest, because
 * two processes creating the network at once may both succeed (the engine does not strictly
 * enforce unique names): everyone settles on the same one, and DockerRuntime removes the newer.
 */
export async function findNetwork(
  { docker, endpoint }: EngineClient,
  name: string,
  scope?: "local" | "swarm",
): Promise<string | undefined> {
  let networks: Dockerode.NetworkInspectInfo[];
  try {
    networks = await docker.listNetworks({ filters: { name: [name] } });
  } catch (error) {
    throw engineError(error, endpoint, "list networks");
  }
  const same = networks
    .filter((network) => network.Name === name && (scope === undefined || network.Scope === scope))
    .sort((a, b) => a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
  return same[0]?.Id;
}

function describeEndpoint(docker: Dockerode): string {
  const modem = docker.modem as {
    socketPath?: unknown;
    host?: string;
    port?: string | number;
    protocol?: string;
    username?: string;
  };
  if (typeof modem.socketPath === "string") return `unix://${modem.socketPath}`;
  if (modem.host && modem.protocol === "ssh") {
    return `ssh://${modem.username ? `${modem.username}@` : ""}${modem.host}:${modem.port ?? 22}`;
  }
  if (modem.host) return `tcp://${modem.host}:${modem.port ?? 2375}`;
  return DEFAULT_DOCKER_HOST;
}
