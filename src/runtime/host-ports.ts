/**
 * Host ports for published container ports: which ones in the configured range are free.
 */
import { createServer } from "node:net";
import { invalidArgument } from "../domain/index.js";

export interface PortRange {
  from: number;
  to: number;
}

export function checkPortRange(range: PortRange): PortRange {
  const { from, to } = range;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to > 65535 || from > to) {
    throw invalidArgument(`port range must be 1 ≤ from ≤ to ≤ 65535, got ${from}-${to}`);
  }
  return { from, to };
}

/**
 * The ports of the range not in `taken`, starting at `from + offset` and wrapping around. Several
 * allocators starting at different offsets rarely reach for the same port at once. Pure.
 */
export function candidatePorts(
  range: PortRange,
  taken: ReadonlySet<number>,
  offset: number,
): number[] {
  const size = range.to - range.from + 1;
  const ports: number[] = [];
  for (let i = 0; i < size; i++) {
    const port = range.from + ((((offset + i) % size) + size) % size);
    if (!taken.has(port)) ports.push(port);
  }
  return ports;
}

/**
 * Whether a listener could bind `host:port` now: "in_use" when something holds it (a process, or
 * a container published there by another engine user), "unknown" when `host` is not an address
 * of this machine (the engine is remote; its own error will tell).
 */
export function probePort(host: string, port: number): Promise<"free" | "in_use" | "unknown"> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => {
      resolve(error.code === "EADDRNOTAVAIL" ? "unknown" : "in_use");
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve("free"));
    });
  });
}
