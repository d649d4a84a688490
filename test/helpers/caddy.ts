/**
 * Edge test helpers: a real Caddy process of the test's own (own data and config folders, admin API
 * on a free loopback port), free ports, and plain HTTP requests by Host header.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";

export const caddyBinary = process.env.CADDY_BINARY ?? "caddy";

/** A port that was free a moment ago: bind port 0 on loopback, read it, close. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request to `options.address` (127.0.0.1 unless a test names one of its own hosts) on
 * `port`, with the given Host header, on a fresh connection.
 */
export function requestByHost(
  port: number,
  host: string,
  path = "/",
  options: { method?: string; body?: string; timeoutMs?: number; address?: string } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.address ?? "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host },
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${host}${path} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Calls `attempt` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  attempt: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  intervalMs = 2,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`, { cause: last });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface RunningCaddy {
  adminUrl: string;
  /** What Caddy wrote to stderr (its log), for failure messages. */
  log(): string;
  close(): Promise<void>;
}

/**
 * `caddy run` with a minimal configuration that only sets the admin API's address; the test then
 * pushes whole configurations with POST /load.
 */
export async function startCaddy(): Promise<RunningCaddy> {
  const dir = await mkdtemp(join(tmpdir(), "obiente-caddy-"));
  let child: ChildProcess | undefined;
  let output = "";
  const close = async () => {
    if (child) await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const adminListen = `127.0.0.1:${await freePort()}`;
    const configFile = join(dir, "initial.json");
    await writeFile(configFile, JSON.stringify({ admin: { listen: adminListen } }));
    const started = spawn(caddyBinary, ["run", "--config", configFile], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        XDG_DATA_HOME: join(dir, "data"),
        XDG_CONFIG_HOME: join(dir, "config"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-200_000);
    };
    started.stdout?.on("data", append);
    started.stderr?.on("data", append);
    const adminUrl = `http://${adminListen}`;
    await eventually(
      async () => {
        if (started.exitCode !== null) throw new Error(`caddy exited: ${output}`);
        const response = await fetch(`${adminUrl}/config/`);
        await response.body?.cancel();
        return response.ok ? true : undefined;
      },
      15_000,
      "Caddy's admin API",
      50,
    );
    return { adminUrl, log: () => output, close };
  } catch (error) {
    await close();
    throw new Error(`could not start Caddy: ${output}`, { cause: error });
  }
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** "median …, p90 …, max …" of durations in milliseconds. */
export function latencySummary(samples: number[]): string {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return `median ${at(0.5).toFixed(2)} ms, p90 ${at(0.9).toFixed(2)} ms, max ${at(1).toFixed(2)} ms over ${sorted.length} applies`;
}

/** GET / over TLS to 127.0.0.1:port with SNI and Host `servername`, trusting only `ca`. */
export function httpsGet(
  port: number,
  servername: string,
  ca: string[],
): Promise<{ status: number; body: string; certificate: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, ca, timeout: 5000 }, () => {
      const certificate = socket.getPeerCertificate(true);
      const req = http.request(
        { createConnection: () => socket, headers: { host: servername }, path: "/" },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => {
            socket.destroy();
            resolve({ status: res.statusCode ?? 0, body, certificate });
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
    socket.on("timeout", () => socket.destroy(new Error("TLS timeout")));
    socket.on("error", reject);
  });
}
