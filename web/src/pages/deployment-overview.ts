/** The deployment's overview: the live build log while it builds, metrics, where it runs and why. */
import {
  type Build,
  BuildStatus,
  DeploymentStatus,
} from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api, Code, codeOf, errorMessage, isUnimplemented } from "../api.js";
import { logView } from "../components/logview.js";
import { metricsPanel } from "../components/metrics.js";
import { errorState, loading } from "../components/states.js";
import { dot, isTransitional } from "../components/status.js";
import { h, mount } from "../dom.js";
import { ago, dateOf, shortId } from "../format.js";
import { poll, stream } from "../live.js";
import type { DeploymentView } from "./deployment.js";

const byNewest = (a: Build, b: Build) =>
  (dateOf(b.createdAt)?.getTime() ?? 0) - (dateOf(a.createdAt)?.getTime() ?? 0);

/**
 * The build to show: the newest one that is queued or running, waited for while the deployment is
 * queued or building (its build row may not exist yet); else the newest (a rollback builds nothing).
 */
async function currentBuild(
  deploymentId: string,
  signal: AbortSignal,
  stillBuilding: () => boolean,
): Promise<Build | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    const { builds } = await api.deployments.listBuilds({ deploymentId }, { signal });
    const sorted = [...builds].sort(byNewest);
    const active = sorted.find(
      (b) => b.status === BuildStatus.QUEUED || b.status === BuildStatus.RUNNING,
    );
    if (active) return active;
    if (!stillBuilding() && sorted[0]) return sorted[0];
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 3_000)));
  }
  return undefined;
}

/**
 * A build's log, live while the build runs: `buildId`, or the newest build (waited for).
 * Returns the element; the log follows until the build ends or `signal` aborts.
 */
export function buildLog(
  deploymentId: string,
  signal: AbortSignal,
  options: {
    buildId?: string;
    stillBuilding?: () => boolean;
    onBuild?: (build: Build) => void;
  } = {},
): HTMLElement {
  const view = logView({
    label: "Build log",
    emptyText: "Waiting for the build to start…",
    testid: "build-log",
  });
  const run = async () => {
    let buildId = options.buildId;
    if (!buildId) {
      view.setState("connecting", "waiting for the build");
      try {
        const build = await currentBuild(
          deploymentId,
          signal,
          options.stillBuilding ?? (() => false),
        );
        if (!build) return;
        buildId = build.id;
        options.onBuild?.(build);
      } catch (error) {
        if (!signal.aborted) view.setState("retrying", errorMessage(error));
        return;
      }
    }
    const id = buildId;
    view.setEmptyText("No output yet.");
    let seen = 0;
    stream(
      signal,
      async (s, live) => {
        let index = 0;
        for await (const { line, at } of api.deployments.streamBuildLogs(
          { buildId: id },
          { signal: s },
        )) {
          live();
          // After a reconnect the stored lines come again: skip the ones already shown.
          if (index++ < seen) continue;
          seen++;
          view.append([{ text: line, ...(at ? { at: dateOf(at) as Date } : {}) }]);
        }
        // The stream ends when the build does.
        return "done";
      },
      { onState: (state, error) => view.setState(state, error ? errorMessage(error) : undefined) },
    );
  };
  void run();
  return view.el;
}

export function overviewTab(view: DeploymentView, signal: AbortSignal): Node {
  const id = view.deployment.id;
  const buildSlot = h("div", { class: "build-slot" });
  let buildAbort: AbortController | undefined;
  let transitional = false;

  const syncBuild = () => {
    const now =
      isTransitional(view.deployment.status) &&
      view.deployment.status !== DeploymentStatus.DELETING;
    if (now && !transitional) {
      buildAbort?.abort();
      buildAbort = new AbortController();
      const mine = buildAbort;
      signal.addEventListener("abort", () => mine.abort());
      const title = h("span", { class: "card-title" }, "Building");
      const sub = h("span", { class: "muted mono" });
      buildSlot.replaceChildren(
        h(
          "details",
          { class: "card details build-card", open: true, "data-testid": "build-card" },
          h("summary", { class: "card-header" }, title, sub),
          h(
            "div",
            { class: "card-body" },
            buildLog(id, mine.signal, {
              stillBuilding: () =>
                view.deployment.status === DeploymentStatus.QUEUED ||
                view.deployment.status === DeploymentStatus.BUILDING,
              onBuild: (b) => {
                sub.textContent = `build ${shortId(b.id)}${b.commitSha ? ` · ${shortId(b.commitSha, 7)}` : ""}`;
              },
            }),
          ),
        ),
      );
    } else if (!now && transitional) {
      const details = buildSlot.querySelector("details");
      const title = buildSlot.querySelector(".card-title");
      if (title)
        title.textContent =
          view.deployment.status === DeploymentStatus.FAILED ? "Build log (failed)" : "Build log";
      if (details && view.deployment.status !== DeploymentStatus.FAILED) details.open = false;
    }
    transitional = now;
  };
  syncBuild();
  view.onChange((d, previous) => {
    if (d.status !== previous.status) syncBuild();
  }, signal);

  return h(
    "div",
    { class: "tab-grid" },
    buildSlot,
    metricsPanel(id, signal),
    placementCard(view, signal),
  );
}

/** Where the deployment runs (its locations) and why there (the scheduler's verdicts). */
function placementCard(view: DeploymentView, signal: AbortSignal): HTMLElement {
  const id = view.deployment.id;
  const locationsBody = h("div", null, loading("Loading locations…", 2));
  const explainBody = h("div", { class: "explain" });
  let nodeNames = new Map<string, string>();

  const refresh = poll(
    signal,
    async (s) => {
      try {
        const [status, nodes] = await Promise.all([
          api.deployments.getDeploymentStatus({ id }, { signal: s }),
          nodeNames.size
            ? Promise.resolve(undefined)
            : api.nodes.listNodes({}, { signal: s }).catch(() => undefined),
        ]);
        if (nodes)
          nodeNames = new Map(nodes.nodes.map((n) => [n.id, n.hostname || n.name || n.id]));
        if (status.locations.length === 0) {
          mount(
            locationsBody,
            h(
              "p",
              { class: "muted" },
              view.deployment.status === DeploymentStatus.RUNNING
                ? "No replica is reported yet."
                : "Nothing runs: no replica is placed.",
            ),
          );
          return;
        }
        mount(
          locationsBody,
          h(
            "table",
            { class: "table table-compact", "data-testid": "locations" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                h("th", null, "Node"),
                h("th", null, "Container"),
                h("th", null, "State"),
                h("th", null, "Health"),
                h("th", null, "Address"),
                h("th", { class: "num" }, "Updated"),
              ),
            ),
            h(
              "tbody",
              null,
              status.locations.map((l) =>
                h(
                  "tr",
                  null,
                  h(
                    "td",
                    null,
                    h(
                      "a",
                      { href: "/nodes", class: "muted-link" },
                      nodeNames.get(l.nodeId) ?? shortId(l.nodeId, 12),
                    ),
                  ),
                  h("td", { class: "mono" }, shortId(l.containerId, 12)),
                  h(
                    "td",
                    null,
                    h(
                      "span",
                      { class: "inline-status" },
                      dot(
                        l.status === "running"
                          ? "running"
                          : l.status === "failed"
                            ? "failed"
                            : "stopped",
                      ),
                      l.status,
                    ),
                  ),
                  h("td", null, l.healthStatus || "—"),
                  h("td", { class: "mono" }, l.address ? `${l.address}:${l.port}` : "—"),
                  h("td", { class: "num muted" }, ago(dateOf(l.updatedAt))),
                ),
              ),
            ),
          ),
        );
      } catch (error) {
        if (!s.aborted)
          mount(
            locationsBody,
            errorState(error, () => refresh()),
          );
      }
    },
    () => (isTransitional(view.deployment.status) ? 3_000 : 15_000),
  );

  const explain = async () => {
    mount(explainBody, loading("Asking the scheduler…", 1));
    try {
      const answer = await api.deployments.explainPlacement({ deploymentId: id }, { signal });
      if (answer.nodes.length === 0) {
        // No decision for a running deployment: a single engine (no cluster), where there is no
        // choice to make. Otherwise it has not been placed yet.
        mount(
          explainBody,
          h(
            "p",
            { class: "muted", "data-testid": "placement-none" },
            view.deployment.status === DeploymentStatus.RUNNING
              ? "No scheduler decision: on a single Docker engine there is no node to choose."
              : "The scheduler has not placed this deployment yet.",
          ),
        );
        return;
      }
      const strategy =
        ["platform default", "least loaded", "round robin", "resource based"][answer.strategy] ??
        "—";
      mount(
        explainBody,
        h(
          "p",
          { class: "muted" },
          `Strategy: ${strategy}${answer.decidedAt ? ` · decided ${ago(dateOf(answer.decidedAt))}` : ""}`,
        ),
        h(
          "table",
          { class: "table table-compact", "data-testid": "placement" },
          h(
            "thead",
            null,
            h("tr", null, h("th", null, "Node"), h("th", null, "Verdict"), h("th", null, "Scores")),
          ),
          h(
            "tbody",
            null,
            answer.nodes.map((n) =>
              h(
                "tr",
                { class: n.selected ? "row-selected" : "" },
                h(
                  "td",
                  null,
                  nodeNames.get(n.nodeId) ?? shortId(n.nodeId, 12),
                  n.selected ? h("span", { class: "pill pill-accent" }, "chosen") : null,
                ),
                h(
                  "td",
                  null,
                  n.feasible
                    ? h("span", { class: "ok" }, "✓ feasible")
                    : h("span", { class: "bad" }, `✗ ${n.reason || "rejected"}`),
                ),
                h(
                  "td",
                  { class: "mono small" },
                  Object.entries(n.scores)
                    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
                    .join(" · ") || "—",
                ),
              ),
            ),
          ),
        ),
      );
    } catch (error) {
      if (signal.aborted) return;
      if (isUnimplemented(error)) {
        mount(
          explainBody,
          h(
            "p",
            { class: "muted", "data-testid": "placement-unavailable" },
            "The scheduler's explanation is not available on this server yet.",
          ),
        );
      } else if (codeOf(error) === Code.FailedPrecondition || codeOf(error) === Code.NotFound) {
        // Not placed by the scheduler (a single engine), or not yet: the server says why.
        mount(
          explainBody,
          h("p", { class: "muted", "data-testid": "placement-unavailable" }, errorMessage(error)),
        );
      } else {
        mount(
          explainBody,
          errorState(error, () => void explain(), "Could not explain the placement"),
        );
      }
    }
  };
  void explain();
  view.onChange((d, previous) => {
    if (d.status !== previous.status) {
      refresh();
      if (d.status === DeploymentStatus.RUNNING) void explain();
    }
  }, signal);

  return h(
    "section",
    { class: "card" },
    h("div", { class: "card-header" }, h("h2", { class: "card-title" }, "Where it runs")),
    h(
      "div",
      { class: "card-body" },
      locationsBody,
      h("h3", { class: "subhead" }, "Why there"),
      explainBody,
    ),
  );
}
