/**
 * Platform health: /health (database, cache, engine, metrics system), the API's latency and error
 * rate (from /metrics/rpc, between two scrapes), the round trip this browser sees, and the metrics
 * system's own report (/metrics/observability, where the server has it).
 */
import { errorMessage, getAuthorized, getJson } from "../api.js";
import { type Chart, chart } from "../components/chart.js";
import { card, pageHeader } from "../components/form.js";
import { empty, errorState, loading } from "../components/states.js";
import { dot } from "../components/status.js";
import { type Child, h, mount } from "../dom.js";
import { duration, percent } from "../format.js";
import { poll } from "../live.js";
import type { Page } from "../page.js";
import { stat } from "./nodes.js";

interface HealthReport {
  status: "ok" | "degraded";
  version: string;
  uptimeSeconds: number;
  checks: Record<
    string,
    {
      ok: boolean;
      kind?: string;
      detail?: string;
      latencyMs?: number;
      status?: string;
      reasons?: string[];
    }
  >;
}

/** Samples of one metric family: labels and value. */
type Samples = Array<{ labels: Record<string, string>; value: number }>;

/** The Prometheus text format, the few families this page reads. */
export function parsePrometheus(text: string, families: string[]): Map<string, Samples> {
  const out = new Map<string, Samples>(families.map((f) => [f, []]));
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    const name = brace >= 0 ? line.slice(0, brace) : line.slice(0, line.indexOf(" "));
    const list = out.get(name);
    if (!list) continue;
    const labels: Record<string, string> = {};
    if (brace >= 0) {
      const body = line.slice(brace + 1, line.lastIndexOf("}"));
      for (const m of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, "$1");
    }
    list.push({ labels, value: Number(line.slice(space + 1)) });
  }
  return out;
}

const SERVER_ERRORS = new Set([
  "internal",
  "unknown",
  "unavailable",
  "deadline_exceeded",
  "data_loss",
]);

interface RpcFigures {
  total: number;
  serverErrors: number;
  clientErrors: number;
  /** Cumulative bucket counts by upper bound (seconds). */
  buckets: Map<number, number>;
  byProcedure: Map<string, { total: number; errors: number }>;
}

function rpcFigures(text: string): RpcFigures {
  const families = parsePrometheus(text, [
    "obiente_rpc_requests_total",
    "obiente_rpc_duration_seconds_bucket",
  ]);
  const figures: RpcFigures = {
    total: 0,
    serverErrors: 0,
    clientErrors: 0,
    buckets: new Map(),
    byProcedure: new Map(),
  };
  for (const { labels, value } of families.get("obiente_rpc_requests_total") ?? []) {
    figures.total += value;
    const code = labels.code ?? "ok";
    const isServer = SERVER_ERRORS.has(code);
    if (isServer) figures.serverErrors += value;
    else if (code !== "ok" && code !== "canceled") figures.clientErrors += value;
    const p = labels.procedure ?? "?";
    const entry = figures.byProcedure.get(p) ?? { total: 0, errors: 0 };
    entry.total += value;
    if (isServer) entry.errors += value;
    figures.byProcedure.set(p, entry);
  }
  for (const { labels, value } of families.get("obiente_rpc_duration_seconds_bucket") ?? []) {
    const le = labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels.le);
    figures.buckets.set(le, (figures.buckets.get(le) ?? 0) + value);
  }
  return figures;
}

/** A quantile from cumulative histogram buckets, interpolated inside the bucket (as Prometheus does). */
function quantile(buckets: Map<number, number>, q: number): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return prevBound;
      const inBucket = count - prevCount;
      return prevBound + (bound - prevBound) * (inBucket > 0 ? (rank - prevCount) / inBucket : 0);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

function diff(now: RpcFigures, before: RpcFigures | undefined): RpcFigures {
  if (!before || now.total < before.total) return now;
  const buckets = new Map<number, number>();
  for (const [le, v] of now.buckets) buckets.set(le, v - (before.buckets.get(le) ?? 0));
  const byProcedure = new Map<string, { total: number; errors: number }>();
  for (const [p, v] of now.byProcedure) {
    const b = before.byProcedure.get(p);
    byProcedure.set(p, { total: v.total - (b?.total ?? 0), errors: v.errors - (b?.errors ?? 0) });
  }
  return {
    total: now.total - before.total,
    serverErrors: now.serverErrors - before.serverErrors,
    clientErrors: now.clientErrors - before.clientErrors,
    buckets,
    byProcedure,
  };
}

const ms = (seconds: number | undefined) =>
  seconds === undefined ? "—" : duration(seconds * 1000);

/** Any JSON as nested definition lists. */
function tree(value: unknown, depth = 0): Child {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "—");
  if (Array.isArray(value)) {
    if (value.length === 0) return h("span", { class: "muted" }, "none");
    return h(
      "ul",
      { class: "tree-list" },
      value.map((v) => h("li", null, tree(v, depth + 1))),
    );
  }
  if (typeof value === "object") {
    return h(
      "dl",
      { class: `tree tree-${depth}` },
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        h("dt", null, k.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()),
        h("dd", null, tree(v, depth + 1)),
      ]),
    );
  }
  if (typeof value === "boolean")
    return h("span", { class: value ? "ok" : "bad" }, value ? "yes" : "no");
  if (typeof value === "number")
    return h(
      "span",
      { class: "mono" },
      Number.isInteger(value) ? value.toLocaleString() : value.toFixed(3),
    );
  const text = String(value);
  if (text === "healthy" || text === "closed" || text === "ok")
    return h("span", { class: "ok" }, text);
  if (text === "degraded" || text === "open" || text === "half-open")
    return h("span", { class: "bad" }, text);
  return h("span", null, text);
}

export const healthPage: Page = (ctx) => {
  ctx.setTitle("Health", [{ label: "Platform" }, { label: "Health" }]);
  const banner = h(
    "div",
    { class: "health-banner", dataset: { status: "loading" } },
    loading("Checking…", 1),
  );
  const stats = h("div", { class: "stat-row" });
  const checks = h("div", null, loading("Loading checks…", 3));
  const procedures = h("div");
  const observability = h("div", null, loading("Loading…", 2));
  const latency: Chart = chart({
    title: "Round trip from this browser (GET /health)",
    series: [{ label: "Round trip", color: "#0070f3", fill: true }],
    format: (v) => duration(v),
    minMax: 10,
    height: 140,
    testid: "chart-latency",
  });
  ctx.signal.addEventListener("abort", () => latency.dispose());
  const rtt: { x: number[]; y: number[] } = { x: [], y: [] };
  let previous: RpcFigures | undefined;
  let loadedHealth = false;

  const refresh = poll(
    ctx.signal,
    async (signal) => {
      // /health answers 503 with its report when something is down.
      const started = performance.now();
      let report: HealthReport | undefined;
      try {
        const answer = await getJson<HealthReport>("/health", signal);
        rtt.x.push(Date.now() / 1000);
        rtt.y.push(performance.now() - started);
        if (rtt.x.length > 120) {
          rtt.x.shift();
          rtt.y.shift();
        }
        latency.setData([...rtt.x], [[...rtt.y]]);
        report = answer.body;
        if (!report?.checks)
          throw new Error(`/health answered HTTP ${answer.status} without a report`);
        loadedHealth = true;
      } catch (error) {
        if (signal.aborted) return;
        banner.dataset.status = "down";
        mount(
          banner,
          dot("failed"),
          h(
            "div",
            null,
            h("strong", null, "The API does not answer"),
            h("div", { class: "muted" }, errorMessage(error)),
          ),
        );
        if (!loadedHealth)
          mount(
            checks,
            errorState(error, () => refresh(), "Could not read /health"),
          );
        latency.setState("error", "No answer");
        return;
      }
      const ok = report.status === "ok";
      const failing = Object.entries(report.checks)
        .filter(([, c]) => !c.ok)
        .map(([name]) => name);
      banner.dataset.status = ok ? "ok" : "degraded";
      mount(
        banner,
        dot(ok ? "running" : "failed"),
        h(
          "div",
          null,
          h(
            "strong",
            { "data-testid": "health-status" },
            ok ? "All systems operational" : `Degraded: ${failing.join(", ")}`,
          ),
          h(
            "div",
            { class: "muted" },
            `Version ${report.version} · up ${duration(report.uptimeSeconds * 1000)}`,
          ),
        ),
      );
      mount(
        checks,
        h(
          "table",
          { class: "table", "data-testid": "health-checks" },
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              h("th", null, "Check"),
              h("th", null, "State"),
              h("th", null, "Kind"),
              h("th", { class: "num" }, "Latency"),
              h("th", null, "Detail"),
            ),
          ),
          h(
            "tbody",
            null,
            Object.entries(report.checks).map(([name, c]) =>
              h(
                "tr",
                { dataset: { check: name } },
                h("td", null, h("strong", null, name)),
                h(
                  "td",
                  null,
                  h(
                    "span",
                    { class: "inline-status" },
                    dot(c.ok ? "running" : "failed"),
                    c.ok ? "OK" : "Failing",
                  ),
                ),
                h("td", { class: "muted" }, c.kind ?? c.status ?? "—"),
                h("td", { class: "num" }, c.latencyMs === undefined ? "—" : `${c.latencyMs} ms`),
                h(
                  "td",
                  { class: "muted small" },
                  c.detail ?? (c.reasons?.length ? c.reasons.join("; ") : ""),
                ),
              ),
            ),
          ),
        ),
      );

      // The API's own figures.
      try {
        const response = await getAuthorized("/metrics/rpc", signal);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const now = rpcFigures(await response.text());
        const recent = diff(now, previous);
        previous = now;
        const window = "last 5 s";
        const p50 = quantile(now.buckets, 0.5);
        const p95 = quantile(now.buckets, 0.95);
        const recentP95 = recent === now ? undefined : quantile(recent.buckets, 0.95);
        const errorRate = now.total ? (now.serverErrors / now.total) * 100 : 0;
        const recentRate = recent.total ? (recent.serverErrors / recent.total) * 100 : 0;
        mount(
          stats,
          stat("RPC latency p50", ms(p50)),
          stat("RPC latency p95", ms(p95)),
          stat(`p95, ${window}`, recent === now ? "—" : ms(recentP95)),
          stat("Error rate", percent(errorRate, 2), errorRate > 1 ? "bad" : undefined),
          stat(
            `Errors, ${window}`,
            recent === now ? "—" : percent(recentRate, 1),
            recentRate > 1 ? "bad" : undefined,
          ),
          stat("RPCs served", now.total.toLocaleString()),
        );
        const top = [...now.byProcedure].sort((a, b) => b[1].total - a[1].total).slice(0, 8);
        mount(
          procedures,
          top.length
            ? h(
                "table",
                { class: "table table-compact" },
                h(
                  "thead",
                  null,
                  h(
                    "tr",
                    null,
                    h("th", null, "Procedure"),
                    h("th", { class: "num" }, "Calls"),
                    h("th", { class: "num" }, "Server errors"),
                  ),
                ),
                h(
                  "tbody",
                  null,
                  top.map(([p, v]) =>
                    h(
                      "tr",
                      null,
                      h("td", { class: "mono small" }, p.replace(/^obiente\.cloud\.\w+\.v1\./, "")),
                      h("td", { class: "num" }, v.total.toLocaleString()),
                      h("td", { class: `num${v.errors ? " bad" : ""}` }, v.errors.toLocaleString()),
                    ),
                  ),
                ),
              )
            : empty("No calls yet"),
        );
      } catch (error) {
        if (signal.aborted) return;
        mount(stats, h("p", { class: "muted" }, `API figures unavailable: ${errorMessage(error)}`));
      }

      // The metrics system.
      try {
        const answer = await getJson<unknown>("/metrics/observability", signal);
        if (answer.status === 404) {
          const fromHealth = report.checks.metrics;
          mount(
            observability,
            fromHealth ? tree(fromHealth) : null,
            h(
              "p",
              { class: "muted", "data-testid": "observability-missing" },
              fromHealth
                ? "This server exposes no detailed report (/metrics/observability)."
                : "This server has no metrics system yet.",
            ),
          );
        } else if (answer.status >= 400 || answer.body === undefined) {
          mount(
            observability,
            h("p", { class: "muted" }, `/metrics/observability answered HTTP ${answer.status}.`),
          );
        } else {
          mount(observability, h("div", { "data-testid": "observability" }, tree(answer.body)));
        }
      } catch (error) {
        if (!signal.aborted) mount(observability, h("p", { class: "muted" }, errorMessage(error)));
      }
    },
    () => 5_000,
  );

  return h(
    "div",
    { class: "page" },
    pageHeader("Platform health", "Checked every 5 seconds."),
    banner,
    stats,
    h(
      "div",
      { class: "tab-grid" },
      card("Round trip", latency.el),
      card("Checks", checks),
      card("Busiest procedures", procedures),
      card("Metrics system", observability),
    ),
  );
};
