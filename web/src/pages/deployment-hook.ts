/**
 * The deploy hook: a secret URL that redeploys the deployment's branch head on a bare POST, for
 * CI systems and scripts. The API shows the URL once, when it makes it; afterwards only the
 * token's first characters, when it was made and last used.
 */
import type { DeployHook } from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { absoluteUrl, api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, button, card, metaItem } from "../components/form.js";
import { shownOnce } from "../components/secret.js";
import { errorState, loading } from "../components/states.js";
import { toast } from "../components/toast.js";
import { h, mount } from "../dom.js";
import { ago, dateOf, fullTime } from "../format.js";
import type { DeploymentView } from "./deployment.js";

export function deployHookCard(view: DeploymentView, signal: AbortSignal): HTMLElement {
  const id = view.deployment.id;
  const canEdit = view.ctx.app.canDeploy;
  const once = h("div", { "data-testid": "deploy-hook-once" });
  const body = h("div", null, loading("Loading the deploy hook…", 2));

  const rotate = async (exists: boolean) => {
    const make = async () => {
      const answer = await api.deployments.rotateDeployHook({ deploymentId: id });
      mount(
        once,
        shownOnce("deploy hook URL", absoluteUrl(answer.url, answer.path), {
          testid: "deploy-hook-url",
          note: "POST to it to redeploy the branch's head.",
        }),
      );
      if (answer.deployHook) show(answer.deployHook);
    };
    if (!exists) {
      await make();
      toast("Deploy hook created", "success");
      return;
    }
    const ok = await confirmDialog({
      title: "Rotate the deploy hook?",
      body: "A new URL replaces the current one, which stops working at once: update whatever calls it.",
      confirmLabel: "Rotate hook",
      danger: true,
      action: make,
    });
    if (ok) toast("A new deploy hook URL", "success");
  };

  const remove = async () => {
    const ok = await confirmDialog({
      title: "Delete the deploy hook?",
      body: "Its URL stops working at once; pushes and the API still deploy.",
      confirmLabel: "Delete hook",
      danger: true,
      action: () => api.deployments.deleteDeployHook({ deploymentId: id }),
    });
    if (ok) {
      mount(once);
      show(undefined);
      toast("Deploy hook deleted");
    }
  };

  const show = (hook: DeployHook | undefined) => {
    if (!hook?.exists) {
      const create = canEdit
        ? button(
            "Create deploy hook",
            (event) => void busy(event.currentTarget as HTMLButtonElement, () => rotate(false)),
            { testid: "create-deploy-hook" },
          )
        : null;
      mount(
        body,
        h("p", { class: "muted", "data-testid": "deploy-hook-status" }, "No deploy hook."),
        create ? h("div", { class: "card-actions deploy-key-actions" }, create) : null,
      );
      return;
    }
    const created = dateOf(hook.createdAt);
    const used = dateOf(hook.lastUsedAt);
    mount(
      body,
      h(
        "dl",
        { class: "meta-grid", "data-testid": "deploy-hook-status" },
        metaItem("Token", h("span", { class: "mono" }, `${hook.prefix}…`)),
        metaItem("Created", h("time", { title: fullTime(created) }, ago(created))),
        metaItem(
          "Last used",
          used ? h("time", { title: fullTime(used) }, ago(used)) : h("span", null, "never"),
        ),
      ),
      canEdit
        ? h(
            "div",
            { class: "card-actions deploy-key-actions" },
            button("Rotate…", () => void rotate(true), { testid: "rotate-deploy-hook" }),
            button("Delete…", () => void remove(), {
              kind: "danger",
              testid: "delete-deploy-hook",
            }),
          )
        : null,
    );
  };

  const load = async () => {
    try {
      const { deployHook } = await api.deployments.getDeployHook({ deploymentId: id }, { signal });
      show(deployHook);
    } catch (error) {
      if (!signal.aborted)
        mount(
          body,
          errorState(error, () => void load(), "Could not load the deploy hook"),
        );
    }
  };
  void load();

  const el = card("Deploy hook", [
    h(
      "p",
      { class: "card-note" },
      "A secret URL that builds and deploys the head of ",
      h("span", { class: "mono" }, view.deployment.branch),
      " when something POSTs to it: for a CI pipeline or a script. Anyone with the URL can redeploy.",
    ),
    once,
    body,
  ]);
  el.dataset.testid = "deploy-hook";
  return el;
}
