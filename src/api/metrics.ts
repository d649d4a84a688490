/**
 * Prometheus metrics of the API, in the process's registry when one is given, else in a registry
 * of its own (never prom-client's global one), so that several servers in one process (tests) do
 * not collide.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export class ApiMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<"procedure" | "code">;
  private readonly duration: Histogram<"procedure" | "code">;
  readonly http: Histogram<"route" | "status">;

  /**
   * A given registry is the process's, which has the process metrics already; a registry made
   * here gets them unless `defaultMetrics` is false.
   */
  constructor(options: { defaultMetrics?: boolean; registry?: Registry } = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    if (!options.registry && (options.defaultMetrics ?? true)) {
      collectDefaultMetrics({ register: registry, prefix: "obiente_" });
    }
    this.requests = new Counter({
      name: "obiente_rpc_requests_total",
      help: "RPCs handled, by procedure and Connect code",
      labelNames: ["procedure", "code"] as const,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "obiente_rpc_duration_seconds",
      help: "RPC latency, by procedure and Connect code",
      labelNames: ["procedure", "code"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.http = new Histogram({
      name: "obiente_http_request_duration_seconds",
      help: "HTTP requests outside the RPC routes (REST alias, health), by route and status",
      labelNames: ["route", "status"] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
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
