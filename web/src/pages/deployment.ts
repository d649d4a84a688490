/**
 * One deployment: header with live status and actions, and tabs (overview with the live build log,
 * metrics and placement; logs; builds with rollback; previews; settings). The status stream stays
 * open while the page is shown; each tab's own fetches and streams end when another tab opens. A
 * preview's page says what it is a preview of, and has no previews tab.
 */
import {
  type Deployment,
  DeploymentStatus,
} from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api, Code, codeOf, errorMessage } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, button, metaItem } from "../components/form.js";
import { empty, errorState, loading } from "../components/states.js";
import { badge, deploymentStatus, dot, isTransitional } from "../components/status.js";
import { toast } from "../components/toast.js";
import { h, ICONS, icon, mount } from "../dom.js";
import { ago, dateOf, fullTime, repoName, shortId } from "../format.js";
import { stream } from "../live.js";
import type { Page, PageContext } from "../page.js";
import { buildsTab } from "./deployment-builds.js";
import { logsTab } from "./deployment-logs.js";
import { overviewTab } from "./deployment-overview.js";
import { previewsTab } from "./deployment-previews.js";
import { settingsTab } from "./deployment-settings.js";

/** What the tabs share: the deployment as it is now, and its changes. */
export interface DeploymentView {
  readonly deployment: Deployment;
  readonly ctx: PageContext;
  /** Fetches the deployment again and tells every listener. */
  refresh(): Promise<void>;
  /** Called on every change of the deployment (status, build, settings). */
  onChange(listener: (d: Deployment, previous: Deployment) => void, signal: AbortSignal): void;
  redeploy(): Promise<void>;
  openTab(tab: TabId): void;
}

type TabId = "overview" | "logs" | "builds" | "previews" | "settings";
const TABS: Array<{
  id: TabId;
  label: string;
  render: (view: DeploymentView, signal: AbortSignal) => Node;
}> = [
  { id: "overview", label: "Overview", render: overviewTab },
  { id: "logs", label: "Logs", render: logsTab },
  { id: "builds", label: "Builds", render: buildsTab },
  { id: "previews", label: "Previews", render: previewsTab },
  { id: "settings", label: "Settings", render: settingsTab },
];

export const deploymentPage: Page = (ctx) => {
  const id = ctx.params.id ?? "";
  const org = ctx.app.organization;
  ctx.setTitle("Deployment", [
    { label: org?.name ?? "" },
    { label: "Deployments", href: "/deployments" },
    { label: "…" },
  ]);
  const root = h("div", { class: "page" }, loading("Loading the deployment…", 4));

  const start = async () => {
    try {
      const { deployment } = await api.deployments.getDeployment({ id }, { signal: ctx.signal });
      if (!deployment) throw new Error("the deployment was not found");
      show(deployment);
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (codeOf(error) === Code.NotFound) {
        mount(
          root,
          h("h1", { class: "page-title sr-only", tabindex: "-1" }, "Deployment not found"),
          empty(
            "This deployment does not exist",
            "It may have been deleted, or it belongs to another organization.",
            h("a", { class: "btn", href: "/deployments" }, "All deployments"),
          ),
        );
      } else {
        mount(
          root,
          h("h1", { class: "page-title sr-only", tabindex: "-1" }, "Deployment"),
          errorState(error, () => void start(), "Could not load the deployment"),
        );
      }
    }
  };

  const show = (initial: Deployment) => {
    let deployment = initial;
    // A preview has no previews of its own.
    const isPreview = initial.parentId !== "";
    const tabs = TABS.filter((t) => !(isPreview && t.id === "previews"));
    // Where "back" goes, and where the page goes once the deployment is deleted.
    const parentHref = isPreview ? `/deployments/${initial.parentId}/previews` : "/deployments";
    let parentName = "";
    const listeners = new Set<(d: Deployment, previous: Deployment) => void>();
    const set = (next: Deployment) => {
      const previous = deployment;
      deployment = next;
      renderHeader();
      for (const listener of listeners) listener(next, previous);
    };
    const view: DeploymentView = {
      get deployment() {
        return deployment;
      },
      ctx,
      async refresh() {
        const { deployment: d } = await api.deployments.getDeployment(
          { id },
          { signal: ctx.signal },
        );
        if (d) set(d);
      },
      onChange(listener, signal) {
        listeners.add(listener);
        signal.addEventListener("abort", () => listeners.delete(listener));
      },
      async redeploy() {
        const ok = await confirmDialog({
          title: `Redeploy ${deployment.name}?`,
          body: `Builds ${deployment.branch} again from ${repoName(deployment.gitRepo)}. Traffic switches once the new version is healthy; the current one keeps serving until then.`,
          confirmLabel: "Redeploy",
          action: async () => {
            const { deployment: d } = await api.deployments.redeployDeployment({ id });
            if (d) set(d);
          },
        });
        if (ok) {
          toast("Redeploying", "success");
          openTab("overview");
        }
      },
      openTab: (tab) => openTab(tab),
    };

    const title = h("h1", { class: "page-title", tabindex: "-1" });
    const statusEl = h("span", { class: "detail-status", "data-testid": "deployment-status" });
    const liveEl = h("span", {
      class: "live-indicator",
      dataset: { state: "connecting" },
      title: "Status updates",
    });
    const urlEl = h("div", { class: "detail-url" });
    const actions = h("div", { class: "page-actions" });
    const message = h("div", { class: "detail-message", hidden: true });
    const meta = h("dl", { class: "meta-grid" });
    const previewOf = h("div", { class: "preview-of", "data-testid": "preview-of" });
    const backLink = h(
      "a",
      { class: "back-link", href: parentHref },
      isPreview ? "← Previews" : "← Deployments",
    );

    const renderHeader = () => {
      const d = deployment;
      const info = deploymentStatus(d.status);
      ctx.setTitle(d.name, [
        { label: org?.name ?? "" },
        { label: "Deployments", href: "/deployments" },
        ...(isPreview ? [{ label: parentName || "…", href: parentHref }] : []),
        { label: d.name },
      ]);
      mount(previewOf, isPreview ? previewLine(d, parentName) : null);
      mount(title, dot(info.tone), d.name);
      mount(statusEl, badge(info));
      statusEl.dataset.status = info.tone;
      mount(
        urlEl,
        d.url
          ? h(
              "a",
              { href: d.url, target: "_blank", rel: "noopener noreferrer", class: "url-link" },
              d.url.replace(/^https?:\/\//, ""),
              icon(ICONS.external),
            )
          : h("span", { class: "muted" }, "No URL yet"),
        d.domains.length > 1
          ? h(
              "span",
              { class: "muted" },
              ` +${d.domains.length - 1} domain${d.domains.length > 2 ? "s" : ""}`,
            )
          : null,
      );
      const canDeploy = ctx.app.canDeploy;
      const busyStatus = isTransitional(d.status);
      const redeploy = button([icon(ICONS.refresh), "Redeploy"], () => void view.redeploy(), {
        disabled: !canDeploy || d.status === DeploymentStatus.DELETING,
        testid: "redeploy",
      });
      const stopped = d.status === DeploymentStatus.STOPPED;
      const toggle = button(
        stopped ? "Start" : "Stop",
        () => {
          void busy(toggle, async () => {
            const r = stopped
              ? await api.deployments.startDeployment({ id })
              : await api.deployments.stopDeployment({ id });
            if (r.deployment) set(r.deployment);
            toast(stopped ? "Starting" : "Stopping");
          });
        },
        {
          disabled: !canDeploy || d.status === DeploymentStatus.DELETING,
          testid: stopped ? "start" : "stop",
        },
      );
      mount(
        actions,
        d.url && d.status === DeploymentStatus.RUNNING
          ? h(
              "a",
              { class: "btn", href: d.url, target: "_blank", rel: "noopener noreferrer" },
              "Visit",
              icon(ICONS.external),
            )
          : null,
        toggle,
        redeploy,
      );
      redeploy.classList.add("btn-primary");
      if (d.statusMessage && (d.status === DeploymentStatus.FAILED || busyStatus)) {
        message.hidden = false;
        message.className = `detail-message ${d.status === DeploymentStatus.FAILED ? "detail-message-error" : "detail-message-info"}`;
        message.setAttribute("role", d.status === DeploymentStatus.FAILED ? "alert" : "status");
        mount(
          message,
          d.status === DeploymentStatus.FAILED ? h("strong", null, "Failed: ") : null,
          d.statusMessage,
        );
      } else {
        message.hidden = true;
      }
      const created = dateOf(d.createdAt);
      const updated = dateOf(d.updatedAt);
      mount(
        meta,
        metaItem("Source", h("span", { class: "mono", title: d.gitRepo }, repoName(d.gitRepo))),
        metaItem(
          "Branch",
          h(
            "span",
            { class: "source" },
            icon(ICONS.branch),
            h("span", { class: "mono" }, d.branch),
          ),
        ),
        metaItem(
          "Build",
          d.currentBuildId ? h("span", { class: "mono" }, shortId(d.currentBuildId)) : "—",
        ),
        metaItem("Replicas", String(d.replicas)),
        metaItem(
          "Resources",
          d.resources?.cpuMillicores || d.resources?.memoryMb
            ? `${d.resources.cpuMillicores ? `${d.resources.cpuMillicores / 1000} CPU` : "CPU default"} · ${d.resources.memoryMb ? `${d.resources.memoryMb} MB` : "memory default"}`
            : "Platform default",
        ),
        isPreview
          ? metaItem(
              "Last push",
              h("time", { title: fullTime(dateOf(d.lastPushAt)) }, ago(dateOf(d.lastPushAt))),
            )
          : null,
        metaItem("Created", h("time", { title: fullTime(created) }, ago(created))),
        metaItem("Updated", h("time", { title: fullTime(updated) }, ago(updated))),
      );
    };

    // Tabs (ARIA tabs: arrows move between them).
    const tabButtons = tabs.map((t) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          class: "tab",
          id: `tab-${t.id}`,
          "aria-controls": "tab-panel",
          "data-tab": t.id,
          onclick: () => openTab(t.id),
        },
        t.label,
      ),
    );
    const tabList = h(
      "div",
      { class: "tabs", role: "tablist", "aria-label": "Deployment" },
      tabButtons,
    );
    tabList.addEventListener("keydown", (event) => {
      const i = tabButtons.indexOf(document.activeElement as HTMLButtonElement);
      if (i < 0) return;
      const delta = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!delta) return;
      event.preventDefault();
      const next = tabs[(i + delta + tabs.length) % tabs.length];
      if (next) {
        openTab(next.id);
        document.getElementById(`tab-${next.id}`)?.focus();
      }
    });
    const panel = h("div", { class: "tab-panel", id: "tab-panel", role: "tabpanel" });
    let tabAbort: AbortController | undefined;
    const openTab = (tab: TabId) => {
      const def = tabs.find((t) => t.id === tab) ?? tabs[0];
      if (!def) return;
      tabAbort?.abort();
      tabAbort = new AbortController();
      const mine = tabAbort;
      ctx.signal.addEventListener("abort", () => mine.abort());
      for (const b of tabButtons) {
        const selected = b.dataset.tab === def.id;
        b.setAttribute("aria-selected", String(selected));
        b.tabIndex = selected ? 0 : -1;
      }
      panel.setAttribute("aria-labelledby", `tab-${def.id}`);
      history.replaceState(
        null,
        "",
        `/deployments/${id}${def.id === "overview" ? "" : `/${def.id}`}`,
      );
      try {
        panel.replaceChildren(def.render(view, mine.signal));
      } catch (error) {
        panel.replaceChildren(errorState(error));
      }
    };

    // The status, live.
    stream(
      ctx.signal,
      async (signal, live) => {
        for await (const event of api.deployments.streamDeploymentStatus({ id }, { signal })) {
          live();
          if (event.status === DeploymentStatus.DELETING && event.statusMessage === "deleted") {
            toast(`${deployment.name} was deleted`);
            ctx.navigate(parentHref);
            return "done";
          }
          const changed =
            event.status !== deployment.status || event.statusMessage !== deployment.statusMessage;
          if (!changed) continue;
          // The status event is enough to show at once; the rest (build, URL) follows.
          set({
            ...deployment,
            status: event.status,
            statusMessage: event.statusMessage,
            ...(event.at ? { updatedAt: event.at } : {}),
          });
          // A deployment being deleted has nothing more to show, and a read sent now could
          // land after the row is gone (NotFound): the page leaves when "deleted" arrives.
          if (event.status !== DeploymentStatus.DELETING) view.refresh().catch(() => undefined);
        }
        return undefined;
      },
      {
        onState: (state, error) => {
          liveEl.dataset.state = state;
          liveEl.title =
            state === "live"
              ? "Status updates: live"
              : `Status updates: ${state}${error ? ` (${errorMessage(error)})` : ""}`;
          liveEl.textContent =
            state === "live"
              ? "Live"
              : state === "retrying"
                ? "Reconnecting"
                : state === "paused"
                  ? "Paused"
                  : "";
          // After a reconnect, catch up with what happened meanwhile.
          if (state === "live") view.refresh().catch(() => undefined);
        },
      },
    );

    renderHeader();
    mount(
      root,
      h(
        "header",
        { class: "detail-header" },
        backLink,
        h(
          "div",
          { class: "page-header" },
          h(
            "div",
            null,
            h("div", { class: "detail-title-row" }, title, statusEl, liveEl),
            previewOf,
            urlEl,
          ),
          actions,
        ),
        message,
        meta,
      ),
      tabList,
      panel,
    );
    const tab = (ctx.params.tab ?? "overview") as TabId;
    openTab(tabs.some((t) => t.id === tab) ? tab : "overview");
    if (isPreview) {
      // The parent's name, for the line under the title and the breadcrumb.
      api.deployments.getDeployment({ id: initial.parentId }, { signal: ctx.signal }).then(
        ({ deployment: parent }) => {
          if (!parent) return;
          parentName = parent.name;
          backLink.textContent = `← ${parent.name}`;
          renderHeader();
        },
        // Without its name, the line shows the parent's short id, and the link still goes there.
        () => undefined,
      );
    }
    root.querySelector<HTMLElement>(".page-title")?.focus({ preventScroll: true });
  };

  void start();
  return root;
};

/** "Preview of <parent> · pull request #7" (or "· push to feature/x"), the parent a link. */
function previewLine(d: Deployment, parentName: string): HTMLElement {
  return h(
    "p",
    { class: "muted" },
    "Preview of ",
    h(
      "a",
      { href: `/deployments/${d.parentId}`, "data-testid": "preview-parent" },
      parentName || shortId(d.parentId),
    ),
    " · ",
    d.pullRequest
      ? h("span", { "data-testid": "preview-pull-request" }, `pull request #${d.pullRequest}`)
      : ["pushes to ", h("span", { class: "mono" }, d.branch)],
  );
}
