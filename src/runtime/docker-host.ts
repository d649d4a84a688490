/**
 * Where to find a Docker engine, written the way DOCKER_HOST is: `unix:///var/run/docker.sock`
 * or `tcp://10.0.0.5:2375`. Pure.
 */
import type { DockerOptions } from "dockerode";
import { invalidArgument } from "../domain/errors.js";

const TCP = /^(?:tcp|http):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/;

const NO_TLS = { ca: undefined, cert: undefined, key: undefined } as const;

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/**
 * dockerode's options for an engine address, every connection field set so that none comes from
 * the process environment (dockerode otherwise reads DOCKER_HOST and DOCKER_CERT_PATH itself).
 * TLS (`DOCKER_TLS_VERIFY`) is not supported: reach remote engines over a private network or a
 * socket.
 */
export function dockerOptions(dockerHost: string): { options: DockerOptions; endpoint: string } {
  if (dockerHost.startsWith("unix://")) {
    const socketPath = dockerHost.slice("unix://".length);
    if (!socketPath.startsWith("/")) {
      throw invalidArgument(`Docker host "${dockerHost}" needs an absolute socket path`);
    }
    return {
      options: { socketPath, host: undefined, port: undefined, ...NO_TLS },
      endpoint: dockerHost,
    };
  }
  const tcp = TCP.exec(dockerHost);
  if (tcp) {
    const [, host = "", port = "2375"] = tcp;
    return {
      options: {
        host: host.replace(/^\[|\]$/g, ""),
        port,
        protocol: "http",
        socketPath: undefined,
        ...NO_TLS,
      },
      endpoint: `tcp://${host}:${port}`,
    };
  }
  throw invalidArgument(
    `Docker host "${dockerHost}" is not supported: use unix:///path/to/docker.sock or tcp://HOST:PORT`,
  );
}
