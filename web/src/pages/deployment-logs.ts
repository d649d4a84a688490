/** Logs: the runtime logs of every replica, followed live; or a build's log. */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DeploymentStatus } from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api, errorMessage } from "../api.js";
import { logView } from "../components/logview.js";
import { errorState, loading } from "../components/states.js";
import { buildStatus, isTransitional } from "../components/status.js";
import { h } from "../dom.js";
import { ago, dateOf, shortId } from "../format.js";
import { stream } from "../live.js";
import type { DeploymentView } from "./deployment.js";
import { buildLog } from "./deployment-overview.js";

/** The runtime logs, following; after a reconnect, only what came since the last line shown. */
export function runtimeLogs(deploymentId: string, signal: AbortSignal): HTMLElement {
  const view = logView({
    label: "Runtime logs",
    emptyText: "No output yet.",
    testid: "runtime-log",
  });
  let lastAt: number | undefined;
  let atLast = new Set<string>();
  stream(
    signal,
    async (s, live) => {
      const since = lastAt === undefined ? undefined : timestampFromDate(new Date(lastAt));
      for await (const { line } of api.deployments.streamDeploymentLogs(
        { deploymentId, tail: since ? 1_000 : 200, ...(since ? { since } : {}) },
        { signal: s },
      )) {
        if (!line) continue;
        live();
        const t = dateOf(line.at)?.getTime() ?? Date.now();
        const key = `${line.containerId} ${line.line}`;
        if (lastAt !== undefined && (t < lastAt || (t === lastAt && atLast.has(key)))) continue;
        if (t !== lastAt) {
          lastAt = t;
          atLast = new Set();
        }
        atLast.add(key);
        view.append([{ text: line.line, at: new Date(t), stderr: line.stream === "stderr" }]);
      }
      return undefined;
    },
    {
      onState: (state, error) => {
        view.setState(state, error ? errorMessage(error) : undefined);
        if (state === "unavailable") view.setEmptyText("This server cannot read container logs.");
      },
    },
  );
  return view.el;
}

export function logsTab(view: DeploymentView, signal: AbortSignal): Node {
  const d = view.deployment;
  const building = isTransitional(d.status) && d.status !== DeploymentStatus.DELETING;
  let mode: "runtime" | "build" = building ? "build" : "runtime";
  const body = h("div", { class: "logs-body" });
  const buildPicker = h("div", { class: "build-picker" });
  let modeAbort: AbortController | undefined;

  const segments = (["runtime", "build"] as const).map((m) =>
    h(
      "button",
      { type: "button", class: "segment", "data-mode": m, onclick: () => open(m) },
      m === "runtime" ? "Runtime" : "Build",
    ),
  );

  const open = (m: "runtime" | "build", buildId?: string) => {
    mode = m;
    for (const b of segments) b.setAttribute("aria-pressed", String(b.dataset.mode === m));
    modeAbort?.abort();
    modeAbort = new AbortController();
    const mine = modeAbort;
    signal.addEventListener("abort", () => mine.abort());
    if (m === "runtime") {
      buildPicker.replaceChildren();
      body.replaceChildren(runtimeLogs(d.id, mine.signal));
      return;
    }
    body.replaceChildren(loading("Loading builds…", 2));
    api.deployments.listBuilds({ deploymentId: d.id }, { signal: mine.signal }).then(
      ({ builds }) => {
        const sorted = [...builds].sort(
          (a, b) => (dateOf(b.createdAt)?.getTime() ?? 0) - (dateOf(a.createdAt)?.getTime() ?? 0),
        );
        if (sorted.length === 0) {
          body.replaceChildren(
            buildLog(d.id, mine.signal, {
              stillBuilding: () => isTransitional(view.deployment.status),
            }),
          );
          return;
        }
        const chosen = buildId ?? sorted[0]?.id ?? "";
        const select = h(
          "select",
          { class: "input select", "aria-label": "Build" },
          sorted.map((b) =>
            h(
              "option",
              { value: b.id, selected: b.id === chosen },
              `${shortId(b.id)} · ${buildStatus(b.status).label} · ${ago(dateOf(b.createdAt))}${b.id === view.deployment.currentBuildId ? " · current" : ""}`,
            ),
          ),
        );
        select.addEventListener("change", () => open("build", select.value));
        buildPicker.replaceChildren(select);
        body.replaceChildren(buildLog(d.id, mine.signal, { buildId: chosen }));
      },
      (error) => {
        if (!mine.signal.aborted)
          body.replaceChildren(errorState(error, () => open("build", buildId)));
      },
    );
  };
  open(mode);
  // A new build starts (redeploy): show it.
  view.onChange((next, previous) => {
    if (
      mode === "build" &&
      next.status === DeploymentStatus.BUILDING &&
      previous.status !== DeploymentStatus.BUILDING
    )
      open("build");
  }, signal);

  return h(
    "section",
    { class: "card" },
    h(
      "div",
      { class: "card-header" },
      h("div", { class: "segmented", role: "group", "aria-label": "Which logs" }, segments),
      buildPicker,
    ),
    h("div", { class: "card-body" }, body),
  );
}
