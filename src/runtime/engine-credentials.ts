/**
 * The credentials for remote engines, read once at start-up from the files the configuration
 * names, with the docker CLI's meaning: DOCKER_TLS_VERIFY turns TLS on with `ca.pem`, `cert.pem`
 * and `key.pem` from DOCKER_CERT_PATH (default `~/.docker`); for `ssh://` engines, DOCKER_SSH_KEY
 * (or the agent at SSH_AUTH_SOCK) and the host keys of DOCKER_SSH_KNOWN_HOSTS (default
 * `~/.ssh/known_hosts`). A file that cannot be read is an `invalid_argument` naming the variable
 * and the file, never its content.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { invalidArgument } from "../domain/index.js";
import type { EngineCredentials } from "./docker-host.js";
import { KnownHosts } from "./known-hosts.js";

export interface EngineCredentialSettings {
  DOCKER_TLS_VERIFY: boolean;
  DOCKER_CERT_PATH?: string | undefined;
  DOCKER_SSH_KEY?: string | undefined;
  DOCKER_SSH_KNOWN_HOSTS?: string | undefined;
  SSH_AUTH_SOCK?: string | undefined;
  ALLOW_INSECURE_ENGINE: boolean;
}

/** `engines`: the addresses in use; ssh settings are read only when one of them is `ssh://`. */
export function engineCredentials(
  settings: EngineCredentialSettings,
  engines: readonly string[],
): EngineCredentials {
  const credentials: EngineCredentials = { allowInsecure: settings.ALLOW_INSECURE_ENGINE };
  if (settings.DOCKER_TLS_VERIFY) {
    const dir = settings.DOCKER_CERT_PATH ?? join(homedir(), ".docker");
    const file = (name: string) => read("DOCKER_CERT_PATH", join(dir, name));
    credentials.tls = { ca: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem") };
  }
  if (!engines.some((engine) => engine.startsWith("ssh://"))) return credentials;
  const privateKey = settings.DOCKER_SSH_KEY
    ? read("DOCKER_SSH_KEY", settings.DOCKER_SSH_KEY)
    : undefined;
  if (!privateKey && !settings.SSH_AUTH_SOCK) {
    throw invalidArgument(
      "an ssh:// engine needs DOCKER_SSH_KEY (a private key file) or an ssh agent (SSH_AUTH_SOCK)",
    );
  }
  const knownHosts = new KnownHosts(
    read(
      "DOCKER_SSH_KNOWN_HOSTS",
      settings.DOCKER_SSH_KNOWN_HOSTS ?? join(homedir(), ".ssh", "known_hosts"),
    ).toString("utf8"),
  );
  credentials.ssh = {
    ...(privateKey ? { privateKey } : { agent: settings.SSH_AUTH_SOCK }),
    knownHost: (host, port, key) => knownHosts.accepts(host, port, key),
  };
  return credentials;
}

function read(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw invalidArgument(`${variable}: cannot read ${path} (${reason})`);
  }
}
