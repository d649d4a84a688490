/**
 * One project: its deployments, its deploy key (the public key to add to a forge, so that the
 * platform can clone the project's ssh repositories) and its webhook (the URL per forge, and the
 * secret the forge signs deliveries with). Owners and admins rotate the key and the secret.
 */
import type {
  DeployKey,
  Project,
  Webhook,
} from "../../../src/gen/obiente/cloud/project/v1/project_pb.js";
import { absoluteUrl, api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, button, card, pageHeader } from "../components/form.js";
import { copyButton, copyField, shownOnce } from "../components/secret.js";
import { empty, errorState, loading } from "../components/states.js";
import { deploymentStatus, dot } from "../components/status.js";
import { toast } from "../components/toast.js";
import { h, ICONS, icon, mount } from "../dom.js";
import { ago, dateOf, fullTime } from "../format.js";
import type { Page, PageContext } from "../page.js";
import { noOrganization } from "./common.js";

export const projectPage: Page = (ctx) => {
  const org = ctx.app.organization;
  if (!org) return noOrganization(ctx, "Project");
  const id = ctx.params.id ?? "";
  const root = h("div", { class: "page" }, loading("Loading the project…", 3));

  const load = async () => {
    try {
      const [{ project }, { deployments }] = await Promise.all([
        api.projects.getProject({ id }, { signal: ctx.signal }),
        api.deployments.listDeployments({ projectId: id }, { signal: ctx.signal }),
      ]);
      if (!project) throw new Error("the project is missing from the answer");
      ctx.setTitle(project.name, [
        { label: org.name },
        { label: "Projects", href: "/projects" },
        { label: project.name },
      ]);
      mount(
        root,
        pageHeader(
          project.name,
          project.description || h("span", { class: "mono" }, project.slug),
          ctx.app.canDeploy
            ? h(
                "a",
                { class: "btn btn-primary", href: `/deployments/new?project=${project.id}` },
                icon(ICONS.plus),
                "Deploy",
              )
            : null,
        ),
        h(
          "div",
          { class: "tab-grid" },
          deployKeyCard(ctx, project),
          webhookCard(ctx, project),
          card(
            "Deployments",
            deployments.length === 0
              ? empty("No deployments yet")
              : h(
                  "ul",
                  { class: "mini-list" },
                  deployments.map((d) => {
                    const info = deploymentStatus(d.status);
                    return h(
                      "li",
                      null,
                      dot(info.tone, info.label),
                      h("a", { href: `/deployments/${d.id}` }, d.name),
                    );
                  }),
                ),
          ),
        ),
      );
    } catch (error) {
      if (!ctx.signal.aborted) {
        mount(
          root,
          errorState(error, () => void load(), "Could not load the project"),
        );
      }
    }
  };
  void load();
  return root;
};

function deployKeyCard(ctx: PageContext, project: Project): HTMLElement {
  const body = h("div", null, loading("Loading the deploy key…", 2));
  const canRotate = ctx.app.canManageMembers;

  const show = (key: DeployKey) => {
    const text = h("textarea", {
      class: "input mono deploy-key",
      readonly: true,
      rows: 3,
      spellcheck: "false",
      "aria-label": "Public deploy key",
      "data-testid": "deploy-key",
    });
    text.value = key.publicKey;
    const copy = copyButton(key.publicKey, "Deploy key", { fallback: text });
    const rotate = canRotate
      ? button("Rotate…", () => void confirmRotate(), { kind: "danger", testid: "rotate-key" })
      : null;
    const confirmRotate = () =>
      confirmDialog({
        title: "Rotate the deploy key?",
        body: "The current key stops working at once: builds from this project's ssh repositories fail until the new key is added to their forge.",
        confirmLabel: "Rotate key",
        danger: true,
        action: async () => {
          const { deployKey } = await api.projects.rotateDeployKey({ projectId: project.id });
          if (deployKey) show(deployKey);
        },
      }).then((rotated) => {
        if (rotated) toast("A new deploy key: add it to your forge", "success");
      });
    mount(
      body,
      h(
        "p",
        { class: "card-note" },
        "Add this public key to your repository's deploy keys (read-only) on GitHub, GitLab, Gitea or Bitbucket. Repositories of this project given as ",
        h("code", null, "git@host:owner/repo.git"),
        " or ",
        h("code", null, "ssh://…"),
        " are cloned with it, and with no other key.",
      ),
      text,
      h(
        "p",
        { class: "card-note" },
        h("span", { class: "mono", "data-testid": "deploy-key-fingerprint" }, key.fingerprint),
        " · created ",
        ago(dateOf(key.createdAt)),
      ),
      h("div", { class: "card-actions deploy-key-actions" }, copy, rotate),
    );
  };

  const load = async () => {
    try {
      const { deployKey } = await api.projects.getDeployKey(
        { projectId: project.id },
        { signal: ctx.signal },
      );
      if (!deployKey) throw new Error("the deploy key is missing from the answer");
      show(deployKey);
    } catch (error) {
      if (!ctx.signal.aborted) {
        mount(
          body,
          errorState(error, () => void load(), "Could not load the deploy key"),
        );
      }
    }
  };
  void load();
  return card([icon(ICONS.key), " Deploy key"], body);
}

/** The forges a webhook serves, in the API's order, with what their settings call things. */
const FORGES: Record<string, { name: string; how: string }> = {
  github: {
    name: "GitHub",
    how: "Settings → Webhooks: content type application/json, the secret as Secret; events: Pushes and Pull requests.",
  },
  gitlab: {
    name: "GitLab",
    how: "Settings → Webhooks: the secret as Secret token; triggers: Push events and Merge request events.",
  },
  gitea: {
    name: "Gitea / Forgejo",
    how: "Settings → Webhooks → Gitea: content type application/json, the secret as Secret; events: Push and Pull Request.",
  },
  bitbucket: {
    name: "Bitbucket",
    how: "Repository settings → Webhooks: the secret as Secret; triggers: Repository push, Pull request created, updated, merged and declined.",
  },
};

function webhookCard(ctx: PageContext, project: Project): HTMLElement {
  const body = h("div", null, loading("Loading the webhook…", 2));
  const once = h("div", { "data-testid": "webhook-secret-once" });
  const canRotate = ctx.app.canManageMembers;

  const rotate = async (configured: boolean) => {
    const make = async () => {
      const answer = await api.projects.rotateWebhookSecret({ projectId: project.id });
      mount(
        once,
        shownOnce("webhook secret", answer.secret, {
          testid: "webhook-secret",
          note: "Give it to the forge with the URL below.",
        }),
      );
      if (answer.webhook) show(answer.webhook);
    };
    if (!configured) {
      await make();
      toast("Webhook secret created", "success");
      return;
    }
    const ok = await confirmDialog({
      title: "Rotate the webhook secret?",
      body: "Deliveries signed with the current secret are refused from now on: pushes deploy nothing until the new secret is given to the forge.",
      confirmLabel: "Rotate secret",
      danger: true,
      action: make,
    });
    if (ok) toast("A new webhook secret: give it to your forge", "success");
  };

  const show = (hook: Webhook) => {
    const created = dateOf(hook.createdAt);
    const rotateButton = canRotate
      ? hook.configured
        ? button("Rotate secret…", () => void rotate(true), {
            kind: "danger",
            testid: "rotate-webhook-secret",
          })
        : button(
            "Create secret",
            (event) => void busy(event.currentTarget as HTMLButtonElement, () => rotate(false)),
            { kind: "primary", testid: "rotate-webhook-secret" },
          )
      : null;
    mount(
      body,
      h(
        "p",
        {
          class: "card-note",
          "data-testid": "webhook-state",
          "data-configured": String(hook.configured),
        },
        hook.configured
          ? [
              h("span", { class: "pill pill-accent" }, "configured"),
              " The secret was made ",
              h("time", { title: fullTime(created) }, ago(created)),
              ". Pushes and pull requests of the repositories this project's deployments build deploy them.",
            ]
          : [
              h("span", { class: "pill" }, "not configured"),
              " Deliveries are refused until a secret is made.",
            ],
      ),
      h(
        "ul",
        { class: "webhook-list" },
        hook.endpoints.map((e) => {
          const forge = FORGES[e.forge];
          return h(
            "li",
            { dataset: { forge: e.forge } },
            h("div", { class: "webhook-forge" }, forge?.name ?? e.forge),
            copyField(absoluteUrl(e.url, e.path), `${forge?.name ?? e.forge} webhook URL`, {
              testid: "webhook-url",
            }),
            forge ? h("p", { class: "muted small" }, forge.how) : null,
          );
        }),
      ),
      rotateButton ? h("div", { class: "card-actions deploy-key-actions" }, rotateButton) : null,
    );
  };

  const load = async () => {
    try {
      const { webhook } = await api.projects.getWebhook(
        { projectId: project.id },
        { signal: ctx.signal },
      );
      if (!webhook) throw new Error("the webhook is missing from the answer");
      show(webhook);
    } catch (error) {
      if (!ctx.signal.aborted) {
        mount(
          body,
          errorState(error, () => void load(), "Could not load the webhook"),
        );
      }
    }
  };
  void load();
  const el = card("Webhook", [
    h(
      "p",
      { class: "card-note" },
      "Add this URL to your repository's webhooks, with the secret, and each push deploys: pushes to a deployment's branch build it, other branches and pull requests make previews where they are on.",
    ),
    once,
    body,
  ]);
  el.dataset.testid = "webhook";
  return el;
}
