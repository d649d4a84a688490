/**
 * One project: its deployments, and its deploy key (the public key to add to a forge, so that the
 * platform can clone the project's ssh repositories; owners and admins rotate it).
 */
import type { DeployKey, Project } from "../../../src/gen/obiente/cloud/project/v1/project_pb.js";
import { api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { button, card, pageHeader } from "../components/form.js";
import { empty, errorState, loading } from "../components/states.js";
import { deploymentStatus, dot } from "../components/status.js";
import { toast } from "../components/toast.js";
import { h, ICONS, icon, mount } from "../dom.js";
import { ago, dateOf } from "../format.js";
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
    const copy = button("Copy", () =>
      navigator.clipboard.writeText(key.publicKey).then(
        () => toast("Deploy key copied", "success"),
        () => {
          text.select();
          toast("Select the key and copy it with your keyboard");
        },
      ),
    );
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
