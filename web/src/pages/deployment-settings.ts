/**
 * Settings: env vars (values hidden until revealed), domains, replicas, source, the deploy hook,
 * stop/start and delete. A preview is made and updated by pushes: it has no source, custom
 * domains or deploy hook of its own to set.
 */
import {
  DeploymentStatus,
  type Domain,
  DomainStatus,
  type EnvVar,
} from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, button, card, field, input } from "../components/form.js";
import { empty, errorState, formError, loading } from "../components/states.js";
import { toast } from "../components/toast.js";
import { type Child, h, ICONS, icon, mount } from "../dom.js";
import { ago, dateOf } from "../format.js";
import type { DeploymentView } from "./deployment.js";
import { deployHookCard } from "./deployment-hook.js";

const MASK = "••••••••••••";

export function settingsTab(view: DeploymentView, signal: AbortSignal): Node {
  const preview = view.deployment.parentId !== "";
  return h(
    "div",
    { class: "tab-grid" },
    envCard(
      view,
      signal,
      preview
        ? {
            note: "This preview gets its deployment's variables and preview variables; these are its own, over them.",
          }
        : {},
    ),
    domainsCard(view, signal),
    scaleCard(view),
    preview ? null : sourceCard(view),
    preview ? null : deployHookCard(view, signal),
    dangerCard(view),
  );
}

const applyNote = (view: DeploymentView) =>
  h(
    "p",
    { class: "card-note" },
    "Changes apply on the next deploy. ",
    view.ctx.app.canDeploy
      ? h(
          "button",
          { class: "link-button", type: "button", onclick: () => void view.redeploy() },
          "Redeploy now",
        )
      : null,
  );

/**
 * The env var editor: the deployment's own variables, or (`preview`) those only its previews
 * get, over the deployment's.
 */
export function envCard(
  view: DeploymentView,
  signal: AbortSignal,
  options: { preview?: boolean; title?: string; note?: Child } = {},
): HTMLElement {
  const id = view.deployment.id;
  const preview = options.preview === true;
  const canEdit = view.ctx.app.canDeploy;
  const body = h("div", null, loading("Loading variables…", 2));
  const revealed = new Set<string>();
  let vars: EnvVar[] = [];

  const render = () => {
    if (vars.length === 0) {
      mount(body, empty("No environment variables", canEdit ? "Add one below." : undefined));
      return;
    }
    const hiddenForViewer = vars.every((v) => v.value === "");
    mount(
      body,
      h(
        "table",
        { class: "table table-compact env-table", "data-testid": "env-vars" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Name"),
            h("th", null, "Value"),
            h("th", { class: "num" }, h("span", { class: "sr-only" }, "Actions")),
          ),
        ),
        h(
          "tbody",
          null,
          vars.map((v) => {
            const shown = revealed.has(v.key);
            return h(
              "tr",
              { dataset: { key: v.key } },
              h("td", { class: "mono" }, v.key),
              h(
                "td",
                { class: "mono env-value" },
                hiddenForViewer
                  ? h("span", { class: "muted" }, "hidden")
                  : shown
                    ? h(
                        "span",
                        { "data-testid": "env-value" },
                        v.value || h("span", { class: "muted" }, "(empty)"),
                      )
                    : h("span", { class: "masked", "aria-label": "hidden value" }, MASK),
              ),
              h(
                "td",
                { class: "num actions-cell" },
                hiddenForViewer
                  ? null
                  : button(
                      [icon(ICONS.eye), shown ? "Hide" : "Reveal"],
                      () => {
                        if (shown) revealed.delete(v.key);
                        else revealed.add(v.key);
                        render();
                      },
                      { small: true, kind: "ghost", testid: "reveal" },
                    ),
                canEdit
                  ? button(
                      "Delete",
                      () => {
                        void confirmDialog({
                          title: `Delete ${v.key}?`,
                          body: "The variable is removed now; the running version keeps it until the next deploy.",
                          confirmLabel: "Delete",
                          danger: true,
                          action: async () => {
                            await api.deployments.deleteEnvVar({
                              deploymentId: id,
                              key: v.key,
                              preview,
                            });
                            vars = vars.filter((x) => x.key !== v.key);
                            render();
                          },
                        });
                      },
                      { small: true, kind: "ghost" },
                    )
                  : null,
              ),
            );
          }),
        ),
      ),
    );
  };

  const load = async () => {
    try {
      vars = (await api.deployments.listEnvVars({ deploymentId: id, preview }, { signal })).envVars;
      render();
    } catch (error) {
      if (!signal.aborted)
        mount(
          body,
          errorState(error, () => void load(), "Could not load variables"),
        );
    }
  };
  void load();

  const error = formError();
  const keyInput = input({
    name: "key",
    placeholder: "NAME",
    required: true,
    class: "input mono",
    "aria-label": "Variable name",
    spellcheck: "false",
    autocomplete: "off",
  });
  const valueInput = input({
    name: "value",
    placeholder: "value",
    class: "input mono",
    "aria-label": "Variable value",
    spellcheck: "false",
    autocomplete: "off",
  });
  const save = h("button", { class: "btn", type: "submit" }, "Save");
  const form = h("form", { class: "inline-form" }, keyInput, valueInput, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.clear();
    void busy(save, async () => {
      try {
        const answer = await api.deployments.setEnvVars({
          deploymentId: id,
          envVars: { [keyInput.value.trim()]: valueInput.value },
          preview,
        });
        vars = answer.envVars;
        revealed.delete(keyInput.value.trim());
        keyInput.value = "";
        valueInput.value = "";
        render();
        toast("Variable saved", "success");
      } catch (e) {
        error.show(e);
      }
    });
  });
  const actions = button(
    "Reveal all",
    () => {
      const all = vars.every((v) => revealed.has(v.key));
      revealed.clear();
      if (!all) for (const v of vars) revealed.add(v.key);
      actions.textContent = all ? "Reveal all" : "Hide all";
      render();
    },
    { small: true, kind: "ghost" },
  );
  const el = card(
    options.title ?? "Environment variables",
    [
      options.note ? h("p", { class: "card-note" }, options.note) : null,
      body,
      canEdit ? [form, error.el] : null,
      preview
        ? h("p", { class: "card-note" }, "Changes apply to each preview on its next push.")
        : applyNote(view),
    ],
    actions,
  );
  el.dataset.testid = preview ? "preview-env" : "env";
  return el;
}

/** A domain's status, as a pill: default, pending, verified or unverified. */
function domainPill(d: Domain): HTMLElement {
  if (d.isDefault) return h("span", { class: "pill" }, "default");
  const name = DomainStatus[d.status]?.toLowerCase() ?? "unknown";
  return h(
    "span",
    { class: `pill domain-${name}`, "data-testid": "domain-status", "data-status": name },
    name,
  );
}

/**
 * What proves a custom domain is the organization's: the TXT record to add, and a button that
 * looks it up now. Until then the domain is not routed.
 */
function verification(
  d: Domain,
  canEdit: boolean,
  verify: (error: ReturnType<typeof formError>) => Promise<void>,
): HTMLElement | null {
  const v = d.verification;
  if (d.isDefault || d.status === DomainStatus.VERIFIED || !v) return null;
  const error = formError();
  return h(
    "div",
    { class: "domain-verification", "data-testid": "domain-instructions" },
    h(
      "p",
      { class: "small" },
      d.status === DomainStatus.UNVERIFIED
        ? "No longer served: its DNS record was not found. Add it back, then verify again."
        : "Not served yet: prove this domain is yours with a DNS record, then verify it.",
    ),
    h(
      "dl",
      { class: "record" },
      h("dt", null, "Type"),
      h("dd", { class: "mono" }, v.recordType),
      h("dt", null, "Name"),
      h("dd", { class: "mono", "data-testid": "record-name" }, v.recordName),
      h("dt", null, "Value"),
      h("dd", { class: "mono", "data-testid": "record-value" }, v.recordValue),
    ),
    canEdit
      ? button(
          "Verify",
          (event) => void busy(event.currentTarget as HTMLButtonElement, () => verify(error)),
          { small: true, testid: "verify-domain" },
        )
      : null,
    error.el,
  );
}

function domainsCard(view: DeploymentView, signal: AbortSignal): HTMLElement {
  const id = view.deployment.id;
  const canEdit = view.ctx.app.canDeploy;
  const body = h("div", null, loading("Loading domains…", 2));
  const load = async () => {
    try {
      const { domains } = await api.deployments.listDomains({ deploymentId: id }, { signal });
      mount(
        body,
        h(
          "ul",
          { class: "domain-list", "data-testid": "domains" },
          domains.map((d) =>
            h(
              "li",
              { "data-domain": d.domain },
              h(
                "div",
                { class: "domain-row" },
                h("span", { class: "mono" }, d.domain),
                domainPill(d),
                h("span", { class: "muted small" }, `added ${ago(dateOf(d.createdAt))}`),
                canEdit && !d.isDefault
                  ? button(
                      "Remove",
                      () => {
                        void confirmDialog({
                          title: `Remove ${d.domain}?`,
                          body: "Requests for this domain stop reaching the deployment.",
                          confirmLabel: "Remove",
                          danger: true,
                          action: async () => {
                            await api.deployments.removeDomain({
                              deploymentId: id,
                              domain: d.domain,
                            });
                            await load();
                            await view.refresh();
                          },
                        });
                      },
                      { small: true, kind: "ghost" },
                    )
                  : null,
              ),
              !d.isDefault && d.statusMessage
                ? h("p", { class: "muted small domain-message" }, d.statusMessage)
                : null,
              verification(d, canEdit, async (error) => {
                error.clear();
                try {
                  await api.deployments.verifyDomain({ deploymentId: id, domain: d.domain });
                  toast(`${d.domain} is verified`, "success");
                  await load();
                } catch (e) {
                  error.show(e);
                }
              }),
            ),
          ),
        ),
      );
    } catch (error) {
      if (!signal.aborted)
        mount(
          body,
          errorState(error, () => void load(), "Could not load domains"),
        );
    }
  };
  void load();
  const error = formError();
  const domainInput = input({
    name: "domain",
    placeholder: "app.example.com",
    required: true,
    class: "input mono",
    "aria-label": "Domain",
    spellcheck: "false",
  });
  const add = h("button", { class: "btn", type: "submit" }, "Add domain");
  const form = h("form", { class: "inline-form" }, domainInput, add);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.clear();
    void busy(add, async () => {
      try {
        await api.deployments.addDomain({ deploymentId: id, domain: domainInput.value.trim() });
        domainInput.value = "";
        await load();
        await view.refresh();
        toast("Domain added: verify it to have it served", "success");
      } catch (e) {
        error.show(e);
      }
    });
  });
  // A preview answers on its preview URL only.
  const canAdd = canEdit && view.deployment.parentId === "";
  return card("Domains", [body, canAdd ? [form, error.el] : null]);
}

function scaleCard(view: DeploymentView): HTMLElement {
  const replicas = input({
    type: "number",
    min: "1",
    max: "100",
    value: String(view.deployment.replicas),
    name: "replicas",
    "aria-label": "Replicas",
  });
  const save = h(
    "button",
    { class: "btn", type: "submit", disabled: !view.ctx.app.canDeploy },
    "Scale",
  );
  const error = formError();
  const form = h("form", { class: "inline-form" }, replicas, save);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.clear();
    void busy(save, async () => {
      try {
        await api.deployments.scaleDeployment({
          id: view.deployment.id,
          replicas: Number(replicas.value),
        });
        await view.refresh();
        toast(`Scaled to ${replicas.value}`, "success");
      } catch (e) {
        error.show(e);
      }
    });
  });
  return card("Replicas", [
    h("p", { class: "card-note" }, "How many copies run, spread over nodes where possible."),
    form,
    error.el,
  ]);
}

function sourceCard(view: DeploymentView): HTMLElement {
  const repo = input({
    name: "gitRepo",
    value: view.deployment.gitRepo,
    required: true,
    class: "input mono",
    spellcheck: "false",
  });
  const branch = input({
    name: "branch",
    value: view.deployment.branch,
    required: true,
    class: "input mono",
    spellcheck: "false",
  });
  const save = h(
    "button",
    { class: "btn", type: "submit", disabled: !view.ctx.app.canDeploy },
    "Save",
  );
  const error = formError();
  const form = h(
    "form",
    { class: "form-grid" },
    field("Git repository", repo),
    field("Branch", branch),
    h("div", null, save),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.clear();
    void busy(save, async () => {
      try {
        await api.deployments.updateDeployment({
          id: view.deployment.id,
          gitRepo: repo.value.trim(),
          branch: branch.value.trim(),
        });
        await view.refresh();
        toast("Source saved", "success");
      } catch (e) {
        error.show(e);
      }
    });
  });
  return card("Source", [form, error.el, applyNote(view)]);
}

function dangerCard(view: DeploymentView): HTMLElement {
  const d = view.deployment;
  const canEdit = view.ctx.app.canDeploy;
  const stopped = d.status === DeploymentStatus.STOPPED;
  const toggle = button(
    stopped ? "Start" : "Stop",
    () => {
      void busy(toggle, async () => {
        if (stopped) await api.deployments.startDeployment({ id: d.id });
        else await api.deployments.stopDeployment({ id: d.id });
        await view.refresh();
        view.openTab("settings");
      });
    },
    { disabled: !canEdit },
  );
  const remove = button(
    "Delete deployment",
    () => {
      void confirmDialog({
        title: `Delete ${d.name}?`,
        body: "Its containers, routes, domains, builds and env vars are removed. This cannot be undone.",
        confirmLabel: "Delete",
        danger: true,
        typeToConfirm: d.name,
        action: () => api.deployments.deleteDeployment({ id: d.id }),
      }).then((ok) => {
        if (ok) {
          toast(`${d.name} is being deleted`);
          view.ctx.navigate(d.parentId ? `/deployments/${d.parentId}/previews` : "/deployments");
        }
      });
    },
    { kind: "danger", disabled: !canEdit, testid: "delete" },
  );
  return h(
    "section",
    { class: "card card-danger" },
    h("div", { class: "card-header" }, h("h2", { class: "card-title" }, "Danger zone")),
    h(
      "div",
      { class: "card-body danger-rows" },
      h(
        "div",
        { class: "danger-row" },
        h(
          "div",
          null,
          h("strong", null, stopped ? "Start the deployment" : "Stop the deployment"),
          h(
            "p",
            { class: "muted" },
            stopped
              ? "Runs its current build again."
              : "Its containers stop; the URL answers 502 until it starts again.",
          ),
        ),
        toggle,
      ),
      h(
        "div",
        { class: "danger-row" },
        h(
          "div",
          null,
          h("strong", null, "Delete the deployment"),
          h("p", { class: "muted" }, "Everything goes: containers, routes, records."),
        ),
        remove,
      ),
    ),
  );
}
