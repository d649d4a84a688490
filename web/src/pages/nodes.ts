/** Node health: each node's CPU, memory, disk, deployments, status and labels; drain and activate. */
import {
  NodeAvailability,
  type Node as NodeInfo,
} from "../../../src/gen/obiente/cloud/node/v1/node_pb.js";
import { api, errorMessage } from "../api.js";
import { confirmDialog, formDialog } from "../components/dialog.js";
import { button, field, pageHeader } from "../components/form.js";
import { empty, errorState, loading } from "../components/states.js";
import { badge, nodeStatus } from "../components/status.js";
import { toast } from "../components/toast.js";
import { h, mount } from "../dom.js";
import { ago, bytes, dateOf, percent } from "../format.js";
import { poll } from "../live.js";
import type { Page } from "../page.js";
import { staleBanner } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const HISTORY = 60;

function meter(label: string, value: number, text: string): HTMLElement {
  const clamped = Math.max(0, Math.min(100, value));
  const tone = clamped >= 90 ? "bad" : clamped >= 70 ? "warn" : "good";
  return h(
    "div",
    { class: "meter-row" },
    h("span", { class: "meter-label" }, label),
    h(
      "span",
      {
        class: `meter meter-${tone}`,
        role: "meter",
        "aria-label": label,
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": clamped.toFixed(0),
      },
      h("span", { class: "meter-fill", style: { width: `${clamped}%` } }),
    ),
    h("span", { class: "meter-text" }, text),
  );
}

/** A small line of the values seen since the page opened. */
function sparkline(values: number[], max = 100): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${HISTORY} 20`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(SVG, "polyline");
  const offset = HISTORY - values.length;
  line.setAttribute(
    "points",
    values
      .map((v, i) => `${offset + i},${(20 - (Math.min(v, max) / max) * 19).toFixed(2)}`)
      .join(" "),
  );
  svg.append(line);
  return svg;
}

export const nodesPage: Page = (ctx) => {
  ctx.setTitle("Nodes", [{ label: "Platform" }, { label: "Nodes" }]);
  const admin = ctx.app.isPlatformAdmin;
  const body = h("div", null, loading("Loading nodes…", 3));
  const summary = h("div", { class: "stat-row" });
  const banner = staleBanner();
  const history = new Map<string, number[]>();
  let loaded = false;

  const act = (n: NodeInfo, drain: boolean) =>
    confirmDialog({
      title: drain
        ? `Drain ${n.hostname || n.name || n.id}?`
        : `Activate ${n.hostname || n.name || n.id}?`,
      body: drain
        ? "No new deployment is placed on it, and the controller moves the deployments it runs to other nodes."
        : "Deployments can be placed on it again.",
      confirmLabel: drain ? "Drain" : "Activate",
      danger: drain,
      action: () =>
        drain ? api.nodes.drainNode({ id: n.id }) : api.nodes.activateNode({ id: n.id }),
    }).then((ok) => {
      if (ok) {
        toast(drain ? "Node draining" : "Node active", "success");
        refresh();
      }
    });

  const editLabels = (n: NodeInfo) => {
    const text = h("textarea", {
      class: "input mono",
      name: "labels",
      rows: "6",
      spellcheck: "false",
      props: {
        value: Object.entries(n.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join("\n"),
      },
    });
    return formDialog({
      title: `Labels of ${n.hostname || n.name || n.id}`,
      submitLabel: "Save labels",
      fields: field(
        "One key=value a line",
        text,
        "compute=true marks a node for user deployments.",
      ),
      submit: async () => {
        const set: Record<string, string> = {};
        for (const line of text.value
          .split("\n")
          .map((l) => l.trim())
          .filter(Boolean)) {
          const i = line.indexOf("=");
          set[i < 0 ? line : line.slice(0, i).trim()] = i < 0 ? "" : line.slice(i + 1).trim();
        }
        const remove = Object.keys(n.labels).filter((k) => !(k in set));
        await api.nodes.labelNode({ id: n.id, set, remove });
        refresh();
      },
    });
  };

  const render = (nodes: NodeInfo[]) => {
    const active = nodes.filter((n) => n.availability === NodeAvailability.ACTIVE).length;
    const down = nodes.filter((n) => n.availability === NodeAvailability.DOWN).length;
    const deployments = nodes.reduce((sum, n) => sum + n.deploymentCount, 0);
    mount(
      summary,
      stat("Nodes", String(nodes.length)),
      stat("Active", String(active)),
      stat("Down", String(down), down > 0 ? "bad" : undefined),
      stat("Deployments placed", String(deployments)),
    );
    if (nodes.length === 0) {
      mount(
        body,
        empty(
          "No nodes have reported yet",
          "An agent records its node when it starts: run the agent role next to a Docker engine.",
        ),
      );
      return;
    }
    mount(
      body,
      h(
        "div",
        { class: "node-grid", "data-testid": "nodes" },
        nodes.map((n) => {
          const info = nodeStatus(n.availability);
          const memTotal = Number(n.capacity?.memoryBytes ?? 0n);
          const memUsed = Number(n.usage?.memoryBytes ?? 0n);
          const cpu = n.usage?.cpuPercent ?? 0;
          const series = history.get(n.id) ?? [];
          const heartbeat = dateOf(n.lastHeartbeat);
          const max = n.capacity?.maxDeployments ?? 0;
          const drainButton =
            n.availability === NodeAvailability.ACTIVE
              ? button("Drain", () => void act(n, true), {
                  small: true,
                  disabled: !admin,
                  title: admin ? undefined : "Platform administrators only",
                  testid: "drain",
                })
              : n.availability === NodeAvailability.DRAIN ||
                  n.availability === NodeAvailability.DOWN
                ? button("Activate", () => void act(n, false), {
                    small: true,
                    disabled: !admin,
                    title: admin ? undefined : "Platform administrators only",
                    testid: "activate",
                  })
                : null;
          return h(
            "article",
            {
              class: "node-card",
              dataset: { node: n.id, availability: NodeAvailability[n.availability].toLowerCase() },
            },
            h(
              "header",
              { class: "node-head" },
              h(
                "div",
                null,
                h("h2", { class: "node-name" }, n.hostname || n.name || n.id),
                h(
                  "div",
                  { class: "row-sub mono" },
                  // The address and role are shown to platform administrators only.
                  admin
                    ? `${n.address || "no address"} · ${n.role || "node"}${n.region ? ` · ${n.region}` : ""}`
                    : n.region || "no region",
                ),
              ),
              badge(info),
            ),
            n.statusMessage ? h("p", { class: "node-message" }, n.statusMessage) : null,
            h(
              "div",
              { class: "node-meters" },
              meter("CPU", cpu, `${percent(cpu, 0)} of ${n.capacity?.cpuCores ?? "?"} cores`),
              meter(
                "Memory",
                memTotal ? (memUsed / memTotal) * 100 : 0,
                `${bytes(memUsed, 1)} / ${bytes(memTotal, 1)}`,
              ),
              meter("Disk", n.usage?.diskPercent ?? 0, percent(n.usage?.diskPercent, 0)),
              meter(
                "Deployments",
                max ? (n.deploymentCount / max) * 100 : 0,
                `${n.deploymentCount}${max ? ` / ${max}` : ""}`,
              ),
            ),
            series.length > 1
              ? h(
                  "div",
                  { class: "node-trend", title: "CPU since this page opened" },
                  h("span", { class: "muted small" }, "CPU trend"),
                  sparkline(series),
                )
              : null,
            h(
              "div",
              { class: "labels" },
              Object.entries(n.labels).length
                ? Object.entries(n.labels).map(([k, v]) =>
                    h("span", { class: "label-chip mono" }, v ? `${k}=${v}` : k),
                  )
                : h("span", { class: "muted small" }, "no labels"),
            ),
            h(
              "footer",
              { class: "node-foot" },
              h(
                "span",
                { class: "muted small", title: heartbeat?.toLocaleString() },
                `heartbeat ${ago(heartbeat)}`,
              ),
              h(
                "span",
                { class: "node-actions" },
                admin
                  ? button("Labels", () => void editLabels(n), { small: true, kind: "ghost" })
                  : null,
                drainButton,
              ),
            ),
          );
        }),
      ),
    );
  };

  const refresh = poll(
    ctx.signal,
    async (signal) => {
      try {
        const { nodes } = await api.nodes.listNodes({}, { signal });
        for (const n of nodes) {
          const series = history.get(n.id) ?? [];
          series.push(n.usage?.cpuPercent ?? 0);
          if (series.length > HISTORY) series.shift();
          history.set(n.id, series);
        }
        loaded = true;
        banner.hide();
        render(nodes);
      } catch (error) {
        if (signal.aborted) return;
        if (!loaded)
          mount(
            body,
            errorState(error, () => refresh(), "Could not load nodes"),
          );
        else banner.show(`Live updates interrupted: ${errorMessage(error)} Retrying…`);
      }
    },
    () => 5_000,
  );

  return h(
    "div",
    { class: "page" },
    pageHeader(
      "Nodes",
      admin
        ? "The machines deployments run on. Updated every 5 seconds."
        : "The machines deployments run on. Draining and activating need a platform administrator.",
    ),
    summary,
    banner.el,
    body,
  );
};

export function stat(label: string, value: string, tone?: "bad" | "warn" | "good"): HTMLElement {
  return h(
    "div",
    { class: `stat${tone ? ` stat-${tone}` : ""}` },
    h("div", { class: "stat-label" }, label),
    h("div", { class: "stat-value" }, value),
  );
}
