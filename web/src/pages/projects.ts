/** Projects of the organization: list with their deployments, create, delete. */
import type { Project } from "../../../src/gen/obiente/cloud/project/v1/project_pb.js";
import { api } from "../api.js";
import { confirmDialog, formDialog } from "../components/dialog.js";
import { button, field, formValue, input, pageHeader } from "../components/form.js";
import { empty, errorState, loading } from "../components/states.js";
import { deploymentStatus, dot } from "../components/status.js";
import { toast } from "../components/toast.js";
import { h, ICONS, icon, mount } from "../dom.js";
import { ago, dateOf, plural } from "../format.js";
import type { Page } from "../page.js";
import { noOrganization } from "./common.js";

export const projectsPage: Page = (ctx) => {
  const org = ctx.app.organization;
  if (!org) return noOrganization(ctx, "Projects");
  ctx.setTitle("Projects");
  const body = h("div", null, loading("Loading projects…", 3));

  const create = () =>
    formDialog({
      title: "New project",
      submitLabel: "Create project",
      fields: [
        field(
          "Name",
          input({ name: "name", required: true, maxlength: "100", placeholder: "shop" }),
          "Deployments of a project share a private network.",
        ),
        field(
          "Description",
          input({ name: "description", maxlength: "500", placeholder: "optional" }),
        ),
      ],
      submit: async (form) => {
        const { project } = await api.projects.createProject({
          organizationId: org.id,
          name: formValue(form, "name"),
          description: formValue(form, "description"),
        });
        toast(`Project ${project?.name ?? ""} created`, "success");
        await load();
      },
    });

  const remove = (p: Project) =>
    confirmDialog({
      title: `Delete ${p.name}?`,
      body: "Only a project without deployments can be deleted.",
      confirmLabel: "Delete project",
      danger: true,
      action: () => api.projects.deleteProject({ id: p.id }),
    }).then((ok) => {
      if (ok) {
        toast(`Project ${p.name} deleted`);
        void load();
      }
    });

  const load = async () => {
    try {
      const [{ projects }, { deployments }] = await Promise.all([
        api.projects.listProjects({ organizationId: org.id }, { signal: ctx.signal }),
        api.deployments.listDeployments({ organizationId: org.id }, { signal: ctx.signal }),
      ]);
      if (projects.length === 0) {
        mount(
          body,
          empty(
            "No projects yet",
            "A project groups deployments that belong together, like a shop's web app, API and worker.",
            ctx.app.canDeploy
              ? button([icon(ICONS.plus), "New project"], () => void create(), { kind: "primary" })
              : null,
          ),
        );
        return;
      }
      mount(
        body,
        h(
          "div",
          { class: "project-grid", "data-testid": "projects" },
          projects.map((p) => {
            const mine = deployments.filter((d) => d.projectId === p.id);
            return h(
              "article",
              { class: "project-card", dataset: { project: p.id } },
              h(
                "div",
                { class: "project-card-head" },
                h("a", { class: "row-title", href: `/projects/${p.id}` }, p.name),
                ctx.app.canDeploy
                  ? button("Delete", () => void remove(p), { small: true, kind: "ghost" })
                  : null,
              ),
              h(
                "p",
                { class: "muted small" },
                p.description || h("span", { class: "mono" }, p.slug),
              ),
              h(
                "ul",
                { class: "mini-list" },
                mine.slice(0, 4).map((d) => {
                  const info = deploymentStatus(d.status);
                  return h(
                    "li",
                    null,
                    dot(info.tone, info.label),
                    h("a", { href: `/deployments/${d.id}` }, d.name),
                  );
                }),
              ),
              h(
                "div",
                { class: "project-card-foot muted small" },
                plural(mine.length, "deployment"),
                " · created ",
                ago(dateOf(p.createdAt)),
                h("a", { class: "muted-link", href: `/deployments/new?project=${p.id}` }, "Deploy"),
              ),
            );
          }),
        ),
      );
    } catch (error) {
      if (!ctx.signal.aborted)
        mount(
          body,
          errorState(error, () => void load(), "Could not load projects"),
        );
    }
  };
  void load();

  return h(
    "div",
    { class: "page" },
    pageHeader(
      "Projects",
      `Projects of ${org.name}.`,
      ctx.app.canDeploy
        ? button([icon(ICONS.plus), "New project"], () => void create(), {
            kind: "primary",
            testid: "new-project",
          })
        : null,
    ),
    body,
  );
};
