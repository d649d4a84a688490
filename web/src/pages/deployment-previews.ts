/**
 * Previews: whether pushes to other branches and pull requests make previews of the deployment
 * (and for which branches), the previews there are, and the variables only previews get. Each
 * preview is a deployment of its own, with its own page.
 */
import type { Deployment } from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, button, card, field, input } from "../components/form.js";
import { empty, errorState, formError, loading } from "../components/states.js";
import { badge, deploymentStatus, isTransitional } from "../components/status.js";
import { toast } from "../components/toast.js";
import { h, ICONS, icon, mount } from "../dom.js";
import { ago, dateOf, fullTime, plural } from "../format.js";
import { poll } from "../live.js";
import type { DeploymentView } from "./deployment.js";
import { envCard } from "./deployment-settings.js";

export function previewsTab(view: DeploymentView, signal: AbortSignal): Node {
  const list = previewList(view, signal);
  return h(
    "div",
    { class: "tab-grid" },
    settingsCard(view, list.rerender),
    list.el,
    envCard(view, signal, {
      preview: true,
      title: "Preview variables",
      note: "Every preview gets this deployment's variables, and these over them: a staging database, a test API key.",
    }),
  );
}

/** The switch and the branches; `saved` runs once they are saved. */
function settingsCard(view: DeploymentView, saved: () => void): HTMLElement {
  const d = view.deployment;
  const canEdit = view.ctx.app.canDeploy;

  // The switch and the branches.
  const enabled = h("input", {
    type: "checkbox",
    name: "previewsEnabled",
    "data-testid": "previews-enabled",
    disabled: !canEdit,
    props: { checked: d.previewsEnabled },
  });
  const branches = input({
    name: "previewBranches",
    value: d.previewBranches,
    class: "input mono",
    placeholder: "feature/*, fix/**",
    spellcheck: "false",
    autocomplete: "off",
    disabled: !canEdit,
    "data-testid": "preview-branches",
  });
  const save = h(
    "button",
    { class: "btn", type: "submit", disabled: !canEdit, "data-testid": "save-previews" },
    "Save",
  );
  const error = formError();
  const form = h(
    "form",
    { class: "form-grid" },
    h(
      "label",
      { class: "check" },
      enabled,
      "Make previews of pull requests and of pushes to other branches",
    ),
    field(
      "Branches",
      branches,
      h(
        "span",
        null,
        "Comma-separated globs: ",
        h("code", null, "*"),
        " within a path segment, ",
        h("code", null, "**"),
        " across them. Empty for every branch.",
      ),
    ),
    h("div", null, save),
    error.el,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.clear();
    void busy(save, async () => {
      try {
        await api.deployments.updateDeployment({
          id: d.id,
          previewsEnabled: enabled.checked,
          previewBranches: branches.value.trim(),
        });
        await view.refresh();
        branches.value = view.deployment.previewBranches;
        saved();
        toast(enabled.checked ? "Previews on" : "Previews off", "success");
      } catch (e) {
        error.show(e);
      }
    });
  });

  const el = card("Previews", form);
  el.dataset.testid = "previews-settings";
  return el;
}

/** The previews there are, kept fresh (more often while one is on its way). */
function previewList(
  view: DeploymentView,
  signal: AbortSignal,
): { el: HTMLElement; rerender: () => void } {
  const d = view.deployment;
  const canEdit = view.ctx.app.canDeploy;
  const list = h("div", null, loading("Loading previews…", 2));
  const count = h("span", { class: "muted", "data-testid": "preview-count" });
  let previews: Deployment[] | undefined;
  const remove = (p: Deployment) =>
    confirmDialog({
      title: `Remove the preview of ${p.branch}?`,
      body: "Its containers, URL and builds go. The next push to the branch, or update of its pull request, makes it again.",
      confirmLabel: "Remove preview",
      danger: true,
      action: () => api.deployments.deleteDeployment({ id: p.id }),
    }).then((ok) => {
      if (ok) {
        toast(`The preview of ${p.branch} is being removed`);
        refresh();
      }
    });
  const render = (items: Deployment[]) => {
    if (items.length === 0) {
      mount(
        list,
        empty(
          "No previews",
          view.deployment.previewsEnabled
            ? "A pull request, or a push to a matching branch, makes one."
            : "Turn previews on above; pull requests and pushes to other branches then make them.",
        ),
      );
      return;
    }
    mount(
      list,
      h(
        "table",
        { class: "table", "data-testid": "previews" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Branch"),
            h("th", null, "Pull request"),
            h("th", null, "Status"),
            h("th", { class: "hide-sm" }, "URL"),
            h("th", null, "Last push"),
            h("th", { class: "num" }, h("span", { class: "sr-only" }, "Actions")),
          ),
        ),
        h(
          "tbody",
          null,
          items.map((p) => {
            const pushed = dateOf(p.lastPushAt);
            return h(
              "tr",
              { dataset: { preview: p.id } },
              h(
                "td",
                null,
                h(
                  "a",
                  { class: "source mono", href: `/deployments/${p.id}` },
                  icon(ICONS.branch),
                  p.branch,
                ),
              ),
              h(
                "td",
                null,
                p.pullRequest ? `#${p.pullRequest}` : h("span", { class: "muted" }, "—"),
              ),
              h("td", null, badge(deploymentStatus(p.status))),
              h(
                "td",
                { class: "hide-sm" },
                p.url
                  ? h(
                      "a",
                      {
                        href: p.url,
                        target: "_blank",
                        rel: "noopener noreferrer",
                        class: "url-link",
                      },
                      p.url.replace(/^https?:\/\//, ""),
                      icon(ICONS.external),
                    )
                  : h("span", { class: "muted" }, "—"),
              ),
              h("td", { class: "muted" }, h("time", { title: fullTime(pushed) }, ago(pushed))),
              h(
                "td",
                { class: "num actions-cell" },
                canEdit
                  ? button("Remove", () => void remove(p), {
                      small: true,
                      kind: "ghost",
                      testid: "remove-preview",
                    })
                  : null,
              ),
            );
          }),
        ),
      ),
    );
  };
  const refresh = poll(
    signal,
    async (s) => {
      try {
        previews = (await api.deployments.listPreviews({ deploymentId: d.id }, { signal: s }))
          .previews;
        render(previews);
        count.textContent = plural(previews.length, "preview");
      } catch (e) {
        if (s.aborted) return;
        // A failed refresh keeps what the list showed; a failed first load says so.
        if (previews === undefined)
          mount(
            list,
            errorState(e, () => refresh(), "Could not load previews"),
          );
      }
    },
    () => (previews?.some((p) => isTransitional(p.status)) ? 3_000 : 15_000),
  );
  const el = card("Preview deployments", list, count);
  el.dataset.testid = "previews-card";
  return {
    el,
    rerender: () => {
      if (previews) render(previews);
    },
  };
}
