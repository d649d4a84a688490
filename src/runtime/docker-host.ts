/**
 * Where to find a Docker engine, written the way DOCKER_HOST is, and how to reach it safely. Pure:
 * the credentials (certificate files, an ssh key) are read elsewhere (engine-credentials.ts).
 *
 * - `unix:///var/run/docker.sock`: the local engine's socket.
 * - `tcp://HOST:PORT` (or `https://`) with TLS credentials: the engine's certificate is checked
 *   against the CA and the platform presents its client certificate, as the docker CLI does with
 *   DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. `https://` always needs them.
 * - `tcp://HOST:PORT` without them: plain HTTP, which gives whoever reaches the port root on that
 *   machine; allowed to loopback only, or anywhere with `allowInsecure` (ALLOW_INSECURE_ENGINE).
 * - `ssh://USER@HOST[:PORT]`: the engine through ssh (`docker system dial-stdio` on the other
 *   side), with a private key or an ssh agent, and the host key checked against known hosts.
 */
import type { DockerOptions } from "dockerode";
import { invalidArgument } from "../domain/index.js";

const TCP = /^(tcp|http|https):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/;
const SSH =
  /^ssh:\/\/(?:([A-Za-z0-9._][A-Za-z0-9._-]{0,63})@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/;

const NO_TLS = { ca: undefined, cert: undefined, key: undefined } as const;

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

export type EngineAddress =
  | { scheme: "unix"; socketPath: string }
  | { scheme: "tcp"; host: string; port: string; https: boolean }
  | { scheme: "ssh"; host: string; port: string; username: string | undefined };

/** How the platform proves itself to remote engines and checks them. */
export interface EngineCredentials {
  /** DOCKER_TLS_VERIFY: the CA the engine's certificate must chain to, and the client's pair. */
  tls?: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer };
  ssh?: {
    /** An OpenSSH private key; otherwise the agent. */
    privateKey?: Buffer;
    /** SSH_AUTH_SOCK. */
    agent?: string;
    /** True when the host's key (the raw key blob) is known for `host`. */
    knownHost: (host: string, port: string, key: Buffer) => boolean;
  };
  /** ALLOW_INSECURE_ENGINE: plain TCP to another machine. */
  allowInsecure?: boolean;
}

/** The parts of a DOCKER_HOST-style address; throws `invalid_argument` for anything else. */
export function parseDockerHost(dockerHost: string): EngineAddress {
  if (dockerHost.startsWith("unix://")) {
    const socketPath = dockerHost.slice("unix://".length);
    if (!socketPath.startsWith("/")) {
      throw invalidArgument(`Docker host "${dockerHost}" needs an absolute socket path`);
    }
    return { scheme: "unix", socketPath };
  }
  const tcp = TCP.exec(dockerHost);
  if (tcp) {
    const [, scheme, host = "", port] = tcp;
    return {
      scheme: "tcp",
      host: host.replace(/^\[|\]$/g, ""),
      port: port ?? (scheme === "https" ? "2376" : "2375"),
      https: scheme === "https",
    };
  }
  const ssh = SSH.exec(dockerHost);
  if (ssh) {
    const [, username, host = "", port = "22"] = ssh;
    return { scheme: "ssh", host: host.replace(/^\[|\]$/g, ""), port, username };
  }
  throw invalidArgument(
    `Docker host "${dockerHost}" is not supported: use unix:///path/to/docker.sock, tcp://HOST:PORT (with TLS) or ssh://USER@HOST`,
  );
}

/** 127.0.0.0/8, ::1 and localhost: an engine port there is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Why `dockerHost` may not be used with these credentials, for a configuration error naming
 * `variable`; undefined when it may.
 */
export function insecureEngineProblem(
  variable: string,
  dockerHost: string,
  options: { tls: boolean; allowInsecure: boolean },
): string | undefined {
  let address: EngineAddress;
  try {
    address = parseDockerHost(dockerHost);
  } catch (error) {
    return `${variable}: ${(error as Error).message}`;
  }
  if (address.scheme !== "tcp") return undefined;
  if (address.https && !options.tls) {
    return `${variable}=${dockerHost}: an https:// engine needs DOCKER_TLS_VERIFY=1 and the client certificate in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)`;
  }
  if (options.tls || options.allowInsecure || isLoopbackHost(address.host)) return undefined;
  return `${variable}=${dockerHost}: a plain-TCP Docker engine on another machine gives whoever reaches that port root there; use TLS (DOCKER_TLS_VERIFY=1 with client certificates in DOCKER_CERT_PATH) or ssh://USER@HOST, or set ALLOW_INSECURE_ENGINE=true`;
}

/**
 * dockerode's options for an engine address, every connection field set so that none comes from
 * the process environment (dockerode otherwise reads DOCKER_HOST and DOCKER_CERT_PATH itself).
 */
export function dockerOptions(
  dockerHost: string,
  credentials: EngineCredentials = {},
): { options: DockerOptions; endpoint: string } {
  const address = parseDockerHost(dockerHost);
  switch (address.scheme) {
    case "unix":
      return {
        options: { socketPath: address.socketPath, host: undefined, port: undefined, ...NO_TLS },
        endpoint: dockerHost,
      };
    case "tcp": {
      const host = address.host.includes(":") ? `[${address.host}]` : address.host;
      const endpoint = `tcp://${host}:${address.port}`;
      const base = { host: address.host, port: address.port, socketPath: undefined };
      if (credentials.tls) {
        const { ca, cert, key } = credentials.tls;
        return { options: { ...base, protocol: "https", ca, cert, key }, endpoint };
      }
      const problem = insecureEngineProblem("Docker host", dockerHost, {
        tls: false,
        allowInsecure: credentials.allowInsecure === true,
      });
      if (problem) throw invalidArgument(problem);
      return { options: { ...base, protocol: "http", ...NO_TLS }, endpoint };
    }
    case "ssh": {
      const ssh = credentials.ssh;
      if (!ssh || (!ssh.privateKey && !ssh.agent)) {
        throw invalidArgument(
          `Docker host "${dockerHost}" needs an ssh identity: DOCKER_SSH_KEY (a private key file) or an ssh agent (SSH_AUTH_SOCK)`,
        );
      }
      const { host, port } = address;
      return {
        options: {
          protocol: "ssh",
          host,
          port,
          ...(address.username ? { username: address.username } : {}),
          socketPath: undefined,
          ...NO_TLS,
          sshOptions: {
            ...(ssh.privateKey ? { privateKey: ssh.privateKey } : { agent: ssh.agent }),
            // ssh2 accepts any host key unless told otherwise: a stranger's would get the engine.
            hostVerifier: (key: Buffer) => ssh.knownHost(host, port, key),
          },
        } as DockerOptions,
        endpoint: `ssh://${address.username ? `${address.username}@` : ""}${host}:${port}`,
      };
    }
  }
}
