/**
 * A real multi-node Docker Swarm for tests: scripts/swarm-up.sh in a folder of the test's own,
 * torn down by scripts/swarm-down.sh. Needs root, iproute2, iptables, util-linux and dockerd (as on
 * the CI machines); `swarmSkipReason()` says what is missing elsewhere, so that tests skip with a
 * clear message instead of failing. One harness per machine at a time (fixed bridge and
 * namespace names); one left behind by a test process that is gone is torn down by the next.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const scripts = fileURLToPath(new URL("../../scripts/", import.meta.url));
const TOOLS = ["ip", "iptables", "nsenter", "unshare", "setsid", "dockerd", "docker"];
const UP_TIMEOUT_MS = 180_000;

export interface SwarmNodeHandle {
  /** "node1", "node2", … */
  name: string;
  /** The Swarm node id. */
  id: string;
  /** The node's engine: "unix:///tmp/…/node2/docker.sock". */
  socket: string;
  /** 10.77.0.11, 10.77.0.12, … */
  address: string;
  role: "manager" | "worker";
}

export interface SwarmHarness {
  dir: string;
  /** The manager's engine (node1). */
  managerSocket: string;
  nodes: SwarmNodeHandle[];
  /** How long swarm-up.sh took. */
  upMs: number;
  /** Kills a node's dockerd (SIGKILL, by its pid file): a node failure, as Swarm sees it. */
  stopEngine(name: string): void;
  /** Tears everything down; safe to call twice. Resolves with how long it took (0 the 2nd time). */
  down(): Promise<number>;
}

/** Why the harness cannot run here, or undefined when it can. */
export function swarmSkipReason(): string | undefined {
  if (process.platform !== "linux") return "the Swarm harness needs Linux";
  if (process.getuid?.() !== 0) {
    return "the Swarm harness needs root (network namespaces, a bridge, iptables, dockerd)";
  }
  const missing = TOOLS.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    return `the Swarm harness needs ${missing.join(", ")} (Debian: iproute2, iptables, util-linux, docker.io)`;
  }
  return undefined;
}

function onPath(tool: string): boolean {
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin"]);
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Brings up an N-node Swarm (node1 manager, the others workers) in a fresh folder. */
export async function startSwarm(count = 3): Promise<SwarmHarness> {
  const dir = `/tmp/obt-swarm-${randomBytes(4).toString("hex")}`;
  const env = { ...process.env, SWARM_OWNER_PID: String(process.pid) };
  const started = Date.now();
  let stdout: string;
  try {
    ({ stdout } = await run("bash", [join(scripts, "swarm-up.sh"), String(count), dir], {
      env,
      timeout: UP_TIMEOUT_MS,
      maxBuffer: 10 * 1024 * 1024,
    }));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    await run("bash", [join(scripts, "swarm-down.sh"), dir], { env }).catch(() => undefined);
    throw new Error(`scripts/swarm-up.sh failed:\n${stderr}`, { cause: error });
  }
  const upMs = Date.now() - started;
  const nodes = stdout
    .trim()
    .split("\n")
    .map((line) => {
      const [name = "", address = "", socket = "", role = "", id = ""] = line.split("\t");
      return {
        name,
        address,
        socket,
        role: role === "manager" ? "manager" : "worker",
        id,
      } as const;
    });
  const manager = nodes.find((node) => node.role === "manager");
  if (nodes.length !== count || !manager) {
    throw new Error(`scripts/swarm-up.sh printed an unexpected node list:\n${stdout}`);
  }
  let downed: Promise<number> | undefined;
  return {
    dir,
    managerSocket: manager.socket,
    nodes,
    upMs,
    stopEngine(name) {
      const pid = Number(readFileSync(join(dir, name, "docker.pid"), "utf8").trim());
      if (!(pid > 0)) throw new Error(`no pid in ${dir}/${name}/docker.pid`);
      process.kill(pid, "SIGKILL");
    },
    down() {
      if (downed) return downed.then(() => 0);
      const start = Date.now();
      downed = run("bash", [join(scripts, "swarm-down.sh"), dir], { env }).then(
        () => Date.now() - start,
      );
      return downed;
    },
  };
}
