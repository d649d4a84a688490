/**
 * Prometheus metrics of the API, in a registry of its own (not prom-client's global one), so
 * that several servers in one process (tests) do not collide.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "obiente_rpc_requests_total",
    help: "RPCs handled, by procedure and Connect code",
    labelNames: ["procedure", "code"] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "obiente_rpc_duration_seconds",
    help: "RPC latency, by procedure and Connect code",
    labelNames: ["procedure", "code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly http = new Histogram({
    name: "obiente_http_request_duration_seconds",
    help: "HTTP requests outside the RPC routes (REST alias, health), by route and status",
    labelNames: ["route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: "obiente_" });
    }
  }

  /** Starts timing one RPC; the returned function ends it with the Connect code. */
  rpcStarted(procedure: string): (code: string) => void {
    const end = this.duration.startTimer({ procedure });
    return (code) => {
      end({ code });
      this.requests.inc({ procedure, code });
    };
  }
}
