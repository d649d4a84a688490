/**
 * Prometheus's `GET /metrics`, for every process whatever its roles, on a listener of its own
 * (METRICS_HOST:METRICS_PORT, 127.0.0.1:9464 by default) rather than on the API's public port:
 * the series name every tenant's deployments and projects, which no tenant may read. With
 * METRICS_TOKEN set, a scraper must also send `Authorization: Bearer <token>`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Registry } from "prom-client";
import { constantTimeEqual } from "../crypto/index.js";

/** A process's registry, with Node.js's process metrics under the platform's prefix. */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "obiente_" });
  return registry;
}

/** Whether an Authorization header carries the metrics token; no token configured: yes. */
export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  return token === undefined || constantTimeEqual(header ?? "", `Bearer ${token}`);
}

export interface MetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function serveMetrics(
  registry: Registry,
  options: { host: string; port: number; token?: string | undefined },
): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
      return;
    }
    if (!metricsAuthorized(req.headers.authorization, options.token)) {
      res
        .writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" })
        .end("send the metrics token (METRICS_TOKEN)\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) =>
        res.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `cannot serve metrics on ${options.host}:${options.port} (METRICS_HOST, METRICS_PORT): ${error.code ?? error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
