/**
 * Builds: every build of the deployment, its log, cancelling the one under way, and rollback to an
 * earlier successful one.
 */
import {
  type Build,
  BuildStatus,
} from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { button } from "../components/form.js";
import { empty, errorState, loading } from "../components/states.js";
import { badge, buildStatus } from "../components/status.js";
import { toast } from "../components/toast.js";
import { type Child, h, mount } from "../dom.js";
import { ago, dateOf, duration, fullTime, shortId } from "../format.js";
import type { DeploymentView } from "./deployment.js";
import { buildLog } from "./deployment-overview.js";

/** What asked for a build, as the API names it ("api", "push", …), for people. */
const TRIGGERS: Record<string, string> = {
  api: "API",
  push: "push",
  pull_request: "pull request",
  hook: "deploy hook",
  preview: "preview",
};
const TRIGGER_TITLES: Record<string, string> = {
  api: "Asked for through the API, the CLI or this dashboard",
  push: "A push to the branch, from the forge's webhook",
  pull_request: "A pull request opened or updated, from the forge's webhook",
  hook: "A POST to the deployment's deploy hook",
  preview: "Made with its preview",
};
const triggerLabel = (trigger: string) => TRIGGERS[trigger] ?? trigger;

/** A commit author as git gives it, "Name <email>": the name (or the address, if no name). */
function authorName(author: string): string {
  const name = author.replace(/\s*<[^>]*>\s*$/, "").trim();
  return name || author.replace(/^<|>$/g, "").trim();
}

/** The commit a build built: short sha and subject, then author and when it was committed. */
function commitCell(b: Build): Child {
  if (!b.commitSha) return "—";
  const subject = b.commitMessage.split("\n", 1)[0]?.trim() ?? "";
  const committed = dateOf(b.committedAt);
  const author = authorName(b.commitAuthor);
  return [
    h(
      "div",
      { class: "commit-line" },
      h("span", { class: "mono", title: b.commitSha }, shortId(b.commitSha, 7)),
      subject
        ? h(
            "span",
            { class: "commit-subject", "data-testid": "commit-subject", title: b.commitMessage },
            subject,
          )
        : null,
    ),
    author || committed
      ? h(
          "div",
          { class: "row-sub" },
          author
            ? h("span", { "data-testid": "commit-author", title: b.commitAuthor }, author)
            : null,
          author && committed ? " · " : null,
          committed ? h("time", { title: fullTime(committed) }, ago(committed)) : null,
        )
      : null,
  ];
}

export function buildsTab(view: DeploymentView, signal: AbortSignal): Node {
  const body = h("div", null, loading("Loading builds…", 3));
  const logs = new Map<string, AbortController>();

  const load = async () => {
    try {
      const { builds } = await api.deployments.listBuilds(
        { deploymentId: view.deployment.id },
        { signal },
      );
      render(
        [...builds].sort(
          (a, b) => (dateOf(b.createdAt)?.getTime() ?? 0) - (dateOf(a.createdAt)?.getTime() ?? 0),
        ),
      );
    } catch (error) {
      if (!signal.aborted)
        mount(
          body,
          errorState(error, () => void load(), "Could not load builds"),
        );
    }
  };

  const rollback = async (b: Build) => {
    const ok = await confirmDialog({
      title: `Roll back to build ${shortId(b.id)}?`,
      body: `Runs the image of build ${shortId(b.id)}${b.commitSha ? ` (commit ${shortId(b.commitSha, 7)})` : ""} from ${ago(dateOf(b.createdAt))} again. Traffic switches once it is healthy.`,
      confirmLabel: "Roll back",
      action: () => api.deployments.rollbackDeployment({ id: view.deployment.id, buildId: b.id }),
    });
    if (ok) {
      toast(`Rolling back to ${shortId(b.id)}`, "success");
      await view.refresh().catch(() => undefined);
      view.openTab("overview");
    }
  };

  const cancel = async (b: Build) => {
    const ok = await confirmDialog({
      title: `Cancel build ${shortId(b.id)}?`,
      body: "The build stops; what the deployment served before keeps serving.",
      confirmLabel: "Cancel build",
      danger: true,
      action: () => api.deployments.cancelBuild({ deploymentId: view.deployment.id }),
    });
    if (ok) {
      toast(`Build ${shortId(b.id)} cancelled`, "success");
      await view.refresh().catch(() => undefined);
    }
  };

  const render = (builds: Build[]) => {
    if (builds.length === 0) {
      mount(
        body,
        empty(
          "No builds yet",
          "The first build starts as soon as a worker picks the deployment up.",
        ),
      );
      return;
    }
    const current = view.deployment.currentBuildId;
    const rows = builds.flatMap((b) => {
      const created = dateOf(b.createdAt);
      const finished = dateOf(b.finishedAt);
      const logRow = h("tr", { class: "log-row", hidden: true }, h("td", { colspan: "6" }));
      const toggle = button(
        logs.has(b.id) ? "Hide log" : "Log",
        () => {
          const open = logs.get(b.id);
          if (open) {
            open.abort();
            logs.delete(b.id);
            logRow.hidden = true;
            toggle.textContent = "Log";
            return;
          }
          const controller = new AbortController();
          signal.addEventListener("abort", () => controller.abort());
          logs.set(b.id, controller);
          logRow.hidden = false;
          logRow.firstElementChild?.replaceChildren(
            buildLog(view.deployment.id, controller.signal, { buildId: b.id }),
          );
          toggle.textContent = "Hide log";
        },
        { small: true },
      );
      const canRollback =
        view.ctx.app.canDeploy &&
        b.status === BuildStatus.SUCCEEDED &&
        b.id !== current &&
        b.imageId !== "";
      return [
        h(
          "tr",
          { dataset: { build: b.id }, class: b.id === current ? "row-current" : "" },
          h("td", null, badge(buildStatus(b.status))),
          h(
            "td",
            null,
            h("span", { class: "mono" }, shortId(b.id)),
            b.trigger
              ? h(
                  "span",
                  {
                    class: "pill",
                    "data-testid": "build-trigger",
                    title: TRIGGER_TITLES[b.trigger],
                  },
                  triggerLabel(b.trigger),
                )
              : null,
            b.id === current
              ? h("span", { class: "pill pill-accent", "data-testid": "current-build" }, "Current")
              : null,
            b.statusMessage &&
              (b.status === BuildStatus.FAILED || b.status === BuildStatus.CANCELLED)
              ? h("div", { class: "row-sub row-error" }, b.statusMessage)
              : null,
          ),
          h("td", { class: "commit-cell" }, commitCell(b)),
          h("td", { class: "muted" }, h("time", { title: fullTime(created) }, ago(created))),
          h(
            "td",
            { class: "num muted hide-sm" },
            created && finished
              ? duration(finished.getTime() - created.getTime())
              : b.status === BuildStatus.RUNNING
                ? "building…"
                : "—",
          ),
          h(
            "td",
            { class: "num actions-cell" },
            toggle,
            canRollback
              ? button("Roll back", () => void rollback(b), { small: true, testid: "rollback" })
              : null,
            view.ctx.app.canDeploy &&
              (b.status === BuildStatus.RUNNING || b.status === BuildStatus.QUEUED)
              ? button("Cancel", () => void cancel(b), {
                  small: true,
                  kind: "danger",
                  testid: "cancel-build",
                })
              : null,
          ),
        ),
        logRow,
      ];
    });
    mount(
      body,
      h(
        "table",
        { class: "table", "data-testid": "builds" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Status"),
            h("th", null, "Build"),
            h("th", null, "Commit"),
            h("th", null, "Started"),
            h("th", { class: "num hide-sm" }, "Took"),
            h("th", { class: "num" }, h("span", { class: "sr-only" }, "Actions")),
          ),
        ),
        h("tbody", null, rows),
      ),
    );
  };

  void load();
  view.onChange((next, previous) => {
    if (next.status !== previous.status || next.currentBuildId !== previous.currentBuildId) {
      for (const c of logs.values()) c.abort();
      logs.clear();
      void load();
    }
  }, signal);

  return h(
    "section",
    { class: "card" },
    h(
      "div",
      { class: "card-header" },
      h("h2", { class: "card-title" }, "Builds"),
      h("span", { class: "muted" }, "Roll back to any successful build."),
    ),
    h("div", { class: "card-body card-body-flush" }, body),
  );
}
