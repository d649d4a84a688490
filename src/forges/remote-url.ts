/**
 * Whether two git remotes name the same repository, however each was written: a forge's payload
 * gives `https://github.com/Owner/App.git`, `git@github.com:Owner/App.git`,
 * `git://github.com/Owner/App.git` and `https://github.com/Owner/App`; a project may have been set
 * up with any of them, or with `ssh://git@github.com:22/owner/app`.
 */
import { posix } from "node:path";

/** What names a repository, once the way of writing it is taken away. */
type Remote =
  | {
      kind: "network";
      /** The protocol family: `http` and `https` are one (`web`), `ssh` and scp-like are one. */
      transport: "web" | "ssh" | "git";
      /** Lower-cased, without user-info. */
      host: string;
      /** Absent when it is the protocol's default. */
      port?: string;
      /** Lower-cased segments joined by `/`, without a leading `/` and `.git`. */
      path: string;
    }
  | { kind: "local"; path: string };

const TRANSPORTS: Readonly<Record<string, "web" | "ssh" | "git">> = {
  http: "web",
  https: "web",
  ssh: "ssh",
  "git+ssh": "ssh",
  "ssh+git": "ssh",
  git: "git",
};

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  http: "80",
  https: "443",
  ssh: "22",
  "git+ssh": "22",
  "ssh+git": "22",
  git: "9418",
};

/**
 * True when `a` and `b` name the same repository. Remotes over the network (https, http, ssh,
 * scp-like `git@host:owner/repo`, git://) are the same when their hosts and paths are, whatever the
 * protocol: user-info, default ports, a trailing `.git` or `/` and the case of the host and path
 * do not count. The forges all treat owner and repository names without regard to case, so a
 * remote typed in lower case still matches the payload's. A port counts only between two remotes of
 * one protocol family, since a forge serves ssh and https on ports of their own. `file://` URLs
 * and local paths are compared as paths (normalised, without a trailing `/`, `/.git` or `.git`)
 * and never match a network remote.
 */
export function sameRepository(a: string, b: string): boolean {
  if (a.trim() !== "" && a.trim() === b.trim()) return true;
  const left = parseRemote(a);
  const right = parseRemote(b);
  if (left === undefined || right === undefined) return false;
  if (left.kind === "local" || right.kind === "local") {
    return left.kind === right.kind && left.path === right.path;
  }
  return (
    left.host === right.host &&
    left.path === right.path &&
    (left.transport !== right.transport || left.port === right.port)
  );
}

/** The remote `url` names; undefined when it is empty or of a protocol git does not fetch over. */
export function parseRemote(url: string): Remote | undefined {
  const text = url.trim();
  if (text === "") return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme) {
    const name = (scheme[1] as string).toLowerCase();
    const rest = text.slice(scheme[0].length);
    const slash = rest.search(/[/?#]/);
    const authority = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? "" : rest.slice(slash);
    if (name === "file") {
      const host = authority.toLowerCase();
      return host === "" || host === "localhost" ? local(decode(stripQuery(path))) : undefined;
    }
    const transport = TRANSPORTS[name];
    if (transport === undefined) return undefined;
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
    const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
    if (!match) return undefined;
    const port = match[2] === undefined || match[2] === "" ? undefined : String(Number(match[2]));
    return network(
      transport,
      match[1] as string,
      port === DEFAULT_PORTS[name] ? undefined : port,
      stripQuery(path),
    );
  }
  // git's scp-like syntax, `[user@]host:path`: a colon before any slash. A single letter before
  // the colon is a Windows drive (`C:/repos/app`), a local path.
  const scp = /^(?:[^@/]*@)?(\[[^\]]*\]|[^:/[\]]{2,}):(.*)$/.exec(text);
  if (scp) return network("ssh", scp[1] as string, undefined, scp[2] as string);
  return local(text);
}

function network(
  transport: "web" | "ssh" | "git",
  host: string,
  port: string | undefined,
  path: string,
): Remote | undefined {
  const segments = decode(path)
    .toLowerCase()
    .split("/")
    .filter((s) => s !== "" && s !== ".");
  const last = segments.pop();
  if (last === undefined) return undefined;
  const name = last.endsWith(".git") ? last.slice(0, -".git".length) : last;
  if (name !== "") segments.push(name);
  const normalHost = host.toLowerCase().replace(/\.$/, "");
  if (normalHost === "" || segments.length === 0) return undefined;
  return {
    kind: "network",
    transport,
    host: normalHost,
    ...(port !== undefined ? { port } : {}),
    path: segments.join("/"),
  };
}

function local(path: string): Remote | undefined {
  if (path === "") return undefined;
  let normal = posix.normalize(path);
  if (normal.length > 1) normal = normal.replace(/\/+$/, "");
  if (normal.endsWith("/.git")) normal = normal.slice(0, -"/.git".length) || "/";
  else if (normal.endsWith(".git") && normal.length > ".git".length) normal = normal.slice(0, -4);
  return { kind: "local", path: normal };
}

function stripQuery(path: string): string {
  const end = path.search(/[?#]/);
  return end === -1 ? path : path.slice(0, end);
}

/** Percent-decoding, leaving a malformed escape as written. */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
