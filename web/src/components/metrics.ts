/**
 * A deployment's metrics: live CPU, memory and network (the 5 s samples, streamed), the last hour
 * or day per minute, and hourly usage. Servers without metrics answer Unimplemented: the charts
 * then say so and nothing is retried.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  MetricsSample,
  UsageHour,
} from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api, checkAuth, errorMessage, isAbort, isUnimplemented } from "../api.js";
import { h } from "../dom.js";
import { bytes, dateOf, percent, rate } from "../format.js";
import { poll, stream } from "../live.js";
import { type Chart, chart } from "./chart.js";

type Range = "live" | "1h" | "24h";
const RANGES: Array<{ id: Range; label: string; ms: number }> = [
  { id: "live", label: "Live", ms: 15 * 60_000 },
  { id: "1h", label: "1 hour", ms: 3_600_000 },
  { id: "24h", label: "24 hours", ms: 86_400_000 },
];
/** Live samples kept: 15 minutes of 5 s samples. */
const LIVE_KEEP = 180;

export const METRICS_UNAVAILABLE = "Metrics are not available on this server yet.";

interface Point {
  t: number;
  cpu: number;
  mem: number;
  limit: number;
  rx: number;
  tx: number;
}

function toPoints(samples: MetricsSample[], defaultIntervalS: number): Point[] {
  const points: Point[] = [];
  let previous: number | undefined;
  for (const s of samples) {
    const t = (dateOf(s.at)?.getTime() ?? 0) / 1000;
    const interval =
      previous !== undefined && t > previous && t - previous <= defaultIntervalS * 3
        ? t - previous
        : defaultIntervalS;
    previous = t;
    points.push({
      t,
      cpu: s.cpuPercent,
      mem: Number(s.memoryBytes),
      limit: Number(s.memoryLimitBytes),
      rx: Number(s.networkRxBytes) / interval,
      tx: Number(s.networkTxBytes) / interval,
    });
  }
  return points;
}

export function metricsPanel(deploymentId: string, signal: AbortSignal): HTMLElement {
  const sync = `metrics-${deploymentId}`;
  const charts: Chart[] = [
    chart({
      title: "CPU",
      series: [{ label: "CPU", color: "#0070f3", fill: true }],
      format: (v) => percent(v, v < 10 ? 1 : 0),
      minMax: 5,
      syncKey: sync,
      testid: "chart-cpu",
    }),
    chart({
      title: "Memory",
      series: [
        { label: "Used", color: "#7928ca", fill: true },
        { label: "Limit", color: "#a1a1a1" },
      ],
      format: (v) => bytes(v, 0),
      binary: true,
      syncKey: sync,
      testid: "chart-memory",
    }),
    chart({
      title: "Network",
      series: [
        { label: "In", color: "#0cce6b", fill: true },
        { label: "Out", color: "#f5a623" },
      ],
      format: (v) => rate(v),
      minMax: 1024,
      binary: true,
      syncKey: sync,
      testid: "chart-network",
    }),
  ];
  const [cpuChart, memChart, netChart] = charts as [Chart, Chart, Chart];
  const usageBody = h("div", { class: "usage" });
  const note = h("p", { class: "card-note" });
  let range: Range = "live";
  let rangeAbort: AbortController | undefined;
  let points: Point[] = [];

  const draw = () => {
    const x = points.map((p) => p.t);
    cpuChart.setData(x, [points.map((p) => p.cpu)]);
    memChart.setData(x, [
      points.map((p) => p.mem),
      points.map((p) => (p.limit > 0 ? p.limit : null)),
    ]);
    netChart.setData(x, [points.map((p) => p.rx), points.map((p) => p.tx)]);
  };
  const setAll = (state: "loading" | "empty" | "unavailable" | "error", message: string) => {
    for (const c of charts) c.setState(state, message);
  };

  const buttons = RANGES.map((r) =>
    h(
      "button",
      {
        type: "button",
        class: "segment",
        "aria-pressed": String(r.id === range),
        onclick: () => select(r.id),
      },
      r.label,
    ),
  );

  const select = (next: Range) => {
    range = next;
    buttons.forEach((b, i) => {
      b.setAttribute("aria-pressed", String(RANGES[i]?.id === next));
    });
    rangeAbort?.abort();
    rangeAbort = new AbortController();
    const mine = rangeAbort;
    signal.addEventListener("abort", () => mine.abort());
    points = [];
    setAll("loading", "Loading…");
    if (next === "live") startLive(mine.signal);
    else startHistory(mine.signal, RANGES.find((r) => r.id === next)?.ms ?? 3_600_000);
  };

  const unavailable = () => {
    setAll("unavailable", METRICS_UNAVAILABLE);
    usageBody.replaceChildren(h("p", { class: "muted" }, METRICS_UNAVAILABLE));
    note.textContent = "";
    el.dataset.metrics = "unavailable";
  };

  const startLive = async (s: AbortSignal) => {
    note.textContent = "Every 5 seconds, as the agents collect them.";
    try {
      const since = timestampFromDate(new Date(Date.now() - 15 * 60_000));
      const initial = await api.deployments.getDeploymentMetrics(
        { deploymentId, since },
        { signal: s },
      );
      points = toPoints(initial.live, 5).slice(-LIVE_KEEP);
      renderUsage(initial.usage);
      el.dataset.metrics = "available";
      if (points.length) draw();
      else setAll("empty", "Waiting for the first samples…");
    } catch (error) {
      if (s.aborted || isAbort(error)) return;
      checkAuth(error);
      if (isUnimplemented(error)) return unavailable();
      setAll("error", `Could not load metrics: ${errorMessage(error)}`);
    }
    stream(
      s,
      async (streamSignal, live) => {
        for await (const { sample } of api.deployments.streamDeploymentMetrics(
          { deploymentId },
          { signal: streamSignal },
        )) {
          if (!sample) continue;
          live();
          const [p] = toPoints([sample], 5);
          if (!p) continue;
          const last = points[points.length - 1];
          if (last && p.t <= last.t) continue;
          if (last && p.t - last.t <= 15) {
            p.rx = Number(sample.networkRxBytes) / (p.t - last.t);
            p.tx = Number(sample.networkTxBytes) / (p.t - last.t);
          }
          points.push(p);
          if (points.length > LIVE_KEEP) points.splice(0, points.length - LIVE_KEEP);
          draw();
        }
        return undefined;
      },
      {
        onState: (state, error) => {
          if (state === "unavailable") unavailable();
          else if (state === "retrying" && error && points.length === 0) {
            setAll("error", `Live metrics interrupted: ${errorMessage(error)}`);
          }
        },
      },
    );
  };

  const startHistory = (s: AbortSignal, ms: number) => {
    note.textContent = "One point per minute.";
    poll(
      s,
      async (pollSignal) => {
        try {
          const since = timestampFromDate(new Date(Date.now() - ms));
          const answer = await api.deployments.getDeploymentMetrics(
            { deploymentId, since },
            { signal: pollSignal },
          );
          points = toPoints(answer.minutes, 60);
          renderUsage(answer.usage);
          el.dataset.metrics = "available";
          if (points.length) draw();
          else setAll("empty", "No per-minute data in this range yet.");
        } catch (error) {
          if (pollSignal.aborted) return;
          if (isUnimplemented(error)) {
            unavailable();
            rangeAbort?.abort();
            return;
          }
          setAll("error", `Could not load metrics: ${errorMessage(error)}`);
          throw error;
        }
      },
      () => 60_000,
    );
  };

  const renderUsage = (usage: UsageHour[]) => {
    if (usage.length === 0) {
      usageBody.replaceChildren(h("p", { class: "muted" }, "No hourly usage recorded yet."));
      return;
    }
    const rows = [...usage]
      .sort((a, b) => (dateOf(b.hour)?.getTime() ?? 0) - (dateOf(a.hour)?.getTime() ?? 0))
      .slice(0, 24);
    usageBody.replaceChildren(
      h(
        "table",
        { class: "table table-compact" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Hour"),
            h("th", { class: "num" }, "CPU"),
            h("th", { class: "num" }, "Memory"),
            h("th", { class: "num" }, "Network"),
            h("th", { class: "num" }, "Disk I/O"),
          ),
        ),
        h(
          "tbody",
          null,
          rows.map((u) =>
            h(
              "tr",
              null,
              h(
                "td",
                null,
                dateOf(u.hour)?.toLocaleString(undefined, {
                  month: "short",
                  day: "numeric",
                  hour: "2-digit",
                  minute: "2-digit",
                }) ?? "—",
              ),
              h("td", { class: "num" }, `${(u.cpuSeconds / 3600).toFixed(3)} core·h`),
              h(
                "td",
                { class: "num" },
                `${(u.memoryByteSeconds / 3600 / 1024 ** 3).toFixed(3)} GB·h`,
              ),
              h("td", { class: "num" }, bytes(u.networkBytes)),
              h("td", { class: "num" }, bytes(u.diskIoBytes)),
            ),
          ),
        ),
      ),
    );
  };

  signal.addEventListener("abort", () => {
    for (const c of charts) c.dispose();
  });

  const el = h(
    "div",
    { class: "metrics", "data-testid": "metrics" },
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-header" },
        h("h2", { class: "card-title" }, "Metrics"),
        h("div", { class: "segmented", role: "group", "aria-label": "Time range" }, buttons),
      ),
      h(
        "div",
        { class: "card-body" },
        h(
          "div",
          { class: "charts" },
          charts.map((c) => c.el),
        ),
        note,
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-header" }, h("h2", { class: "card-title" }, "Usage by hour")),
      h("div", { class: "card-body" }, usageBody),
    ),
  );
  select("live");
  return el;
}
