/**
 * Network namespaces, interfaces and listeners that a test makes for itself, and removes: the
 * only addresses the network tests send traffic to besides loopback (../../shared/ENVIRONMENT.md,
 * "Rules of the network"). Every command runs with an argument array, no shell.
 *
 * The kernel of these machines has no `dummy` link type: a bridge without ports stands in for a
 * dummy interface (an interface that only holds addresses).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { promisify } from "node:util";

const exec = promisify(execFile);
const PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;

export async function run(file: string, args: string[]): Promise<string> {
  const { stdout } = await exec(file, args, { env: { ...process.env, PATH } });
  return stdout;
}

/** Why these tests cannot run here (not root, no ip/iptables/nsenter), or undefined. */
export async function netnsSkipReason(): Promise<string | undefined> {
  if (process.platform !== "linux") return "needs Linux";
  if (process.getuid?.() !== 0) return "needs root (network namespaces, iptables)";
  for (const tool of ["ip", "iptables", "iptables-restore", "nsenter"]) {
    try {
      await exec("sh", ["-c", 'command -v "$1"', "sh", tool], { env: { PATH } });
    } catch {
      return `needs ${tool} (Debian: iproute2, iptables, util-linux)`;
    }
  }
  return undefined;
}

/** A short random suffix for names (interface names are at most 15 characters). */
export const suffix = () => randomBytes(3).toString("hex");

/** Things to undo, in reverse order, whatever happened. */
export class Undo {
  private readonly steps: Array<() => Promise<unknown>> = [];

  push(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      await step().catch((error: unknown) => {
        // Clean-up goes on: one step failing must not leave the others' things behind.
        process.stderr.write(`clean-up step failed: ${String(error)}\n`);
      });
    }
  }
}

/** `ip netns add NAME`, removed by `undo`; its path for nsenter. */
export async function makeNetns(name: string, undo: Undo): Promise<string> {
  await run("ip", ["netns", "add", name]);
  undo.push(() => run("ip", ["netns", "del", name]));
  await run("ip", ["-n", name, "link", "set", "lo", "up"]);
  return `/var/run/netns/${name}`;
}

/** A port-less bridge holding `cidr` (a dummy interface's stand-in), in `netns` or the host's. */
export async function addressHolder(
  name: string,
  cidr: string,
  undo: Undo,
  netns?: string,
): Promise<void> {
  const ip = (args: string[]) => run("ip", netns ? ["-n", netns, ...args] : args);
  await ip(["link", "add", name, "type", "bridge"]);
  if (!netns) undo.push(() => run("ip", ["link", "del", name]));
  await ip(["addr", "add", cidr, "dev", name]);
  await ip(["link", "set", name, "up"]);
}

export interface Listener {
  child: ChildProcess;
  /** How many connections it has accepted so far. */
  connections(): number;
}

/**
 * A TCP listener at host:port in the network namespace `netnsPath` (the host's when undefined)
 * that answers every connection with `reply` and closes. Resolves once it listens.
 */
export async function listener(
  host: string,
  port: number,
  reply: string,
  undo: Undo,
  netnsPath?: string,
): Promise<Listener> {
  const script = `require("node:net").createServer((s) => { console.log("connection"); s.on("error", () => {}); s.end(${JSON.stringify(
    reply,
  )} + "\\n"); }).listen(${port}, ${JSON.stringify(host)}, () => console.log("listening"));`;
  const argv = [process.execPath, "-e", script];
  const child = netnsPath
    ? spawn("nsenter", [`--net=${netnsPath}`, ...argv], { env: { PATH } })
    : spawn(argv[0] as string, argv.slice(1), { env: { PATH } });
  undo.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });
  let output = "";
  let stdout = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("listening")) resolve();
    });
    child.once("exit", (code) =>
      reject(new Error(`listener ${host}:${port} exited with ${code}: ${output}`)),
    );
  });
  return { child, connections: () => stdout.split("connection").length - 1 };
}

/**
 * A veth pair from the host (`hostName`, holding `hostCidr`) into the namespace `netns` (its end
 * `eth0`, holding `nsCidrs`); the namespace's default route goes back through the host.
 */
export async function vethInto(
  netns: string,
  hostName: string,
  hostCidr: string,
  nsCidrs: string[],
  undo: Undo,
): Promise<void> {
  await run("ip", [
    "link",
    "add",
    hostName,
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    netns,
  ]);
  undo.push(() => run("ip", ["link", "del", hostName]));
  await run("ip", ["addr", "add", hostCidr, "dev", hostName]);
  await run("ip", ["link", "set", hostName, "up"]);
  for (const cidr of nsCidrs) await run("ip", ["-n", netns, "addr", "add", cidr, "dev", "eth0"]);
  await run("ip", ["-n", netns, "link", "set", "eth0", "up"]);
  const gateway = hostCidr.split("/")[0] as string;
  await run("ip", ["-n", netns, "route", "add", "default", "via", gateway]);
}

/** A TCP forwarder listening on host:0 (an address of this host) to 127.0.0.1:targetPort. */
export async function forwarder(host: string, targetPort: number, undo: Undo): Promise<number> {
  const { createServer, connect } = await import("node:net");
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const upstream = connect({ host: "127.0.0.1", port: targetPort });
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  undo.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
