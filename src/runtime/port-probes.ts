/**
 * Connections that tell whether something listens behind `host:port`: the readiness probes of
 * both runtimes (DockerRuntime.waitHealthy, SwarmRuntime.waitRunning) and the Swarm's check that
 * a host port is not held outside Swarm.
 */
import { Socket } from "node:net";

/** How long a probe connection must stay open to count (see `listens`). */
const PROBE_HOLD_MS = 200;
const PROBE_CONNECT_TIMEOUT_MS = 1_000;

/**
 * Whether something listens behind `host:port`. A connection alone does not say so: a proxy in
 * front of the port (Docker's userland proxy, used for loopback-published ports) accepts every
 * connection and closes it at once when nothing behind it answers. So the connection has to stay
 * open a moment.
 */
export function listens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let hold: NodeJS.Timeout | undefined;
    const done = (result: boolean) => {
      clearTimeout(hold);
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(PROBE_CONNECT_TIMEOUT_MS, () => done(false));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
    socket.once("end", () => done(false));
    // An app that greets first (SMTP, Redis) is listening.
    socket.once("data", () => done(true));
    socket.connect({ host, port }, () => {
      socket.setTimeout(0);
      hold = setTimeout(() => done(true), PROBE_HOLD_MS);
    });
  });
}

/**
 * Connects once: "listening" when the connection is accepted, "refused" when nothing listens
 * (yet), "unreachable" for any other error or no answer within `timeoutMs`.
 */
export function connects(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<"listening" | "refused" | "unreachable"> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (result: "listening" | "refused" | "unreachable") => {
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done("unreachable"));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ECONNREFUSED" ? "refused" : "unreachable"),
    );
    socket.connect({ host, port }, () => done("listening"));
  });
}
