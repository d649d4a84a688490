/** Deployments of the organization: live status (status streams for the ones changing, a poll for the rest), filters. */
import {
  type Deployment,
  DeploymentStatus,
} from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import type { Project } from "../../../src/gen/obiente/cloud/project/v1/project_pb.js";
import { api, errorMessage } from "../api.js";
import { pageHeader } from "../components/form.js";
import { empty, errorState, loading } from "../components/states.js";
import { badge, deploymentStatus, dot, isTransitional } from "../components/status.js";
import { h, ICONS, icon } from "../dom.js";
import { ago, dateOf, repoName } from "../format.js";
import { poll, stream } from "../live.js";
import type { Page } from "../page.js";
import { noOrganization, staleBanner } from "./common.js";

/** Open status streams at most: each holds one of the browser's six connections per origin. */
const MAX_STREAMS = 3;

let marked = false;

type ListAnswers = [
  Awaited<ReturnType<typeof api.deployments.listDeployments>>,
  Awaited<ReturnType<typeof api.projects.listProjects>>,
];
let prefetched: { organizationId: string; at: number; answers: Promise<ListAnswers> } | undefined;

/**
 * Starts loading an organization's deployments and projects before the page exists: on a first
 * load, while the app is still signing in (WhoAmI), so that the list needs no round trip more.
 */
export function prefetchDeployments(organizationId: string): void {
  const answers = Promise.all([
    api.deployments.listDeployments({ organizationId }),
    api.projects.listProjects({ organizationId }),
  ]);
  answers.catch(() => undefined); // used, or not, by the page; never unhandled
  prefetched = { organizationId, at: Date.now(), answers };
}

function takePrefetched(organizationId: string): Promise<ListAnswers> | undefined {
  const p = prefetched;
  prefetched = undefined;
  return p && p.organizationId === organizationId && Date.now() - p.at < 10_000
    ? p.answers
    : undefined;
}

export const deploymentsPage: Page = (ctx) => {
  const org = ctx.app.organization;
  if (!org) return noOrganization(ctx, "Deployments");
  ctx.setTitle("Deployments");

  let deployments: Deployment[] = [];
  let projects = new Map<string, Project>();
  let loaded = false;
  const rows = new Map<string, { el: HTMLElement; signature: string }>();
  const streams = new Map<string, AbortController>();

  const search = h("input", {
    class: "input search",
    type: "search",
    placeholder: "Search deployments…",
    "aria-label": "Search deployments",
    "data-search": "",
    value: ctx.query.get("q") ?? "",
  });
  const projectSelect = h("select", { class: "input select", "aria-label": "Project" });
  const body = h("div", { class: "list-body" }, loading("Loading deployments…", 4));
  const banner = staleBanner();
  const newButton = ctx.app.canDeploy
    ? h(
        "a",
        { class: "btn btn-primary", href: "/deployments/new", "data-testid": "new-deployment" },
        icon(ICONS.plus),
        "New deployment",
      )
    : null;

  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "table table-deployments", "data-testid": "deployments-table" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { scope: "col" }, "Deployment"),
        h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col", class: "hide-sm" }, "Project"),
        h("th", { scope: "col", class: "hide-sm" }, "Source"),
        h("th", { scope: "col", class: "num hide-xs" }, "Updated"),
      ),
    ),
    tbody,
  );

  const filtered = () => {
    const q = search.value.trim().toLowerCase();
    const project = projectSelect.value;
    return deployments.filter(
      (d) =>
        (!project || d.projectId === project) &&
        (!q ||
          [d.name, d.branch, d.gitRepo, d.url, ...d.domains].some((s) =>
            s.toLowerCase().includes(q),
          )),
    );
  };

  const rowOf = (d: Deployment) => {
    const info = deploymentStatus(d.status);
    const project = projects.get(d.projectId);
    const updated = dateOf(d.updatedAt);
    const signature = [
      d.name,
      d.status,
      d.statusMessage,
      d.url,
      project?.name,
      d.branch,
      d.gitRepo,
      ago(updated),
    ].join("|");
    const cached = rows.get(d.id);
    if (cached && cached.signature === signature) return cached.el;
    const el = h(
      "tr",
      { class: "row-link", dataset: { id: d.id, status: info.tone } },
      h(
        "td",
        null,
        h(
          "div",
          { class: "cell-main" },
          dot(info.tone, info.label),
          h(
            "div",
            null,
            h("a", { class: "row-title", href: `/deployments/${d.id}` }, d.name),
            h(
              "div",
              { class: "row-sub" },
              d.url ? d.url.replace(/^https?:\/\//, "") : (d.domains[0] ?? ""),
            ),
          ),
        ),
      ),
      h(
        "td",
        null,
        badge(info),
        d.status === DeploymentStatus.FAILED && d.statusMessage
          ? h("div", { class: "row-sub row-error", title: d.statusMessage }, d.statusMessage)
          : null,
      ),
      h(
        "td",
        { class: "hide-sm" },
        project
          ? h(
              "a",
              { class: "muted-link", href: `/deployments?project=${project.id}` },
              project.name,
            )
          : "—",
      ),
      h(
        "td",
        { class: "hide-sm" },
        h("div", { class: "source" }, icon(ICONS.branch), h("span", { class: "mono" }, d.branch)),
        h("div", { class: "row-sub mono", title: d.gitRepo }, repoName(d.gitRepo)),
      ),
      h(
        "td",
        { class: "num muted hide-xs" },
        h(
          "time",
          { datetime: updated?.toISOString(), title: updated?.toLocaleString() },
          ago(updated),
        ),
      ),
    );
    // The whole row opens the deployment; the name is the link for keyboards and screen readers.
    el.addEventListener("click", (event) => {
      if ((event.target as Element).closest("a")) return;
      ctx.navigate(`/deployments/${d.id}`);
    });
    rows.set(d.id, { el, signature });
    return el;
  };

  const render = () => {
    if (!loaded) return;
    const list = filtered();
    if (deployments.length === 0) {
      body.replaceChildren(
        empty(
          "No deployments yet",
          "Give Obiente Cloud a git repository and a branch: it builds the app and puts it live on its own URL.",
          newButton
            ? h("a", { class: "btn btn-primary", href: "/deployments/new" }, "Deploy from git")
            : null,
        ),
      );
    } else if (list.length === 0) {
      body.replaceChildren(empty("No deployments match", "Try another search or project."));
    } else {
      tbody.replaceChildren(...list.map(rowOf));
      if (body.firstChild !== table) body.replaceChildren(table);
    }
    if (!marked) {
      marked = true;
      performance.mark("obiente:deployments-rendered");
    }
  };

  const syncStreams = () => {
    const wanted = new Set(
      deployments
        .filter((d) => isTransitional(d.status))
        .slice(0, MAX_STREAMS)
        .map((d) => d.id),
    );
    for (const [id, controller] of streams) {
      if (!wanted.has(id)) {
        controller.abort();
        streams.delete(id);
      }
    }
    for (const id of wanted) {
      if (streams.has(id)) continue;
      const controller = new AbortController();
      ctx.signal.addEventListener("abort", () => controller.abort());
      streams.set(id, controller);
      stream(controller.signal, async (signal, live) => {
        for await (const event of api.deployments.streamDeploymentStatus({ id }, { signal })) {
          live();
          const d = deployments.find((x) => x.id === id);
          if (!d) return "done";
          d.status = event.status;
          d.statusMessage = event.statusMessage;
          if (event.at) d.updatedAt = event.at;
          render();
          if (!isTransitional(event.status)) {
            refresh();
            return "done";
          }
        }
        return undefined;
      });
    }
  };

  const load = async (signal: AbortSignal) => {
    try {
      const fresh = () =>
        Promise.all([
          api.deployments.listDeployments({ organizationId: org.id }, { signal }),
          loaded
            ? Promise.resolve(undefined)
            : api.projects.listProjects({ organizationId: org.id }, { signal }),
        ]);
      const early = loaded ? undefined : takePrefetched(org.id);
      const [d, p] = early ? await early.catch(fresh) : await fresh();
      if (p) {
        projects = new Map(p.projects.map((x) => [x.id, x]));
        const selected = ctx.query.get("project") ?? "";
        projectSelect.replaceChildren(
          h("option", { value: "" }, "All projects"),
          ...p.projects.map((x) =>
            h("option", { value: x.id, selected: x.id === selected }, x.name),
          ),
        );
      }
      deployments = d.deployments;
      loaded = true;
      banner.hide();
      render();
      syncStreams();
    } catch (error) {
      if (signal.aborted) return;
      if (!loaded)
        body.replaceChildren(errorState(error, () => refresh(), "Could not load deployments"));
      else banner.show(`Live updates interrupted: ${errorMessage(error)} Retrying…`);
    }
  };

  const refresh = poll(ctx.signal, load, () =>
    deployments.some((d) => isTransitional(d.status)) ? 3_000 : 10_000,
  );

  const syncQuery = () => {
    const q = new URLSearchParams();
    if (projectSelect.value) q.set("project", projectSelect.value);
    if (search.value.trim()) q.set("q", search.value.trim());
    ctx.setQuery(q);
    render();
  };
  search.addEventListener("input", syncQuery);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      search.value = "";
      syncQuery();
      search.blur();
    }
  });
  projectSelect.addEventListener("change", syncQuery);
  projectSelect.append(h("option", { value: "" }, "All projects"));

  return h(
    "div",
    { class: "page" },
    pageHeader("Deployments", `Everything ${org.name} runs, live.`, newButton),
    h("div", { class: "toolbar" }, search, projectSelect),
    banner.el,
    body,
  );
};
