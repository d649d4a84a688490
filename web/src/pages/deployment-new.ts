/** A new deployment: a git repository and branch, env vars and a domain, in a project. */
import { PlacementStrategy } from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { api } from "../api.js";
import { card, field, input, pageHeader, select } from "../components/form.js";
import { formError, loadInto } from "../components/states.js";
import { toast } from "../components/toast.js";
import { h, ICONS, icon } from "../dom.js";
import type { Page } from "../page.js";
import { noOrganization } from "./common.js";

const NEW_PROJECT = "__new";

/** Rows of key and value inputs; pasting KEY=VALUE lines into a key fills several rows. */
export function envEditor(initial: Array<[string, string]> = []) {
  const list = h("div", { class: "env-rows" });
  const addRow = (key = "", value = "") => {
    const keyInput = input({
      placeholder: "KEY",
      "aria-label": "Variable name",
      value: key,
      class: "input mono",
      spellcheck: "false",
      autocomplete: "off",
    });
    const valueInput = input({
      placeholder: "value",
      "aria-label": "Variable value",
      value,
      class: "input mono",
      spellcheck: "false",
      autocomplete: "off",
    });
    const row = h(
      "div",
      { class: "env-row" },
      keyInput,
      valueInput,
      h(
        "button",
        {
          class: "btn btn-ghost btn-icon",
          type: "button",
          "aria-label": "Remove variable",
          onclick: () => row.remove(),
        },
        "×",
      ),
    );
    keyInput.addEventListener("paste", (event) => {
      const text = event.clipboardData?.getData("text") ?? "";
      if (!text.includes("=")) return;
      const pairs = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#") && l.includes("="))
        .map((l) => {
          const i = l.indexOf("=");
          return [
            l
              .slice(0, i)
              .replace(/^export\s+/, "")
              .trim(),
            l
              .slice(i + 1)
              .trim()
              .replace(/^(["'])(.*)\1$/, "$2"),
          ] as const;
        });
      if (pairs.length === 0) return;
      event.preventDefault();
      const [first, ...rest] = pairs;
      if (first) {
        keyInput.value = first[0];
        valueInput.value = first[1];
      }
      for (const [k, v] of rest) addRow(k, v);
    });
    list.append(row);
    return keyInput;
  };
  for (const [k, v] of initial) addRow(k, v);
  if (initial.length === 0) addRow();
  const el = h(
    "div",
    { class: "env-editor" },
    list,
    h(
      "button",
      { class: "btn btn-sm", type: "button", onclick: () => addRow().focus() },
      icon(ICONS.plus),
      "Add variable",
    ),
    h("p", { class: "field-hint" }, "Tip: paste a .env file into a name field."),
  );
  return {
    el,
    values(): Record<string, string> {
      const out: Record<string, string> = {};
      for (const row of list.querySelectorAll(".env-row")) {
        const [k, v] = row.querySelectorAll("input");
        const key = k?.value.trim() ?? "";
        if (key) out[key] = v?.value ?? "";
      }
      return out;
    },
  };
}

export const newDeploymentPage: Page = (ctx) => {
  const org = ctx.app.organization;
  if (!org) return noOrganization(ctx, "New deployment");
  ctx.setTitle("New deployment", [
    { label: org.name },
    { label: "Deployments", href: "/deployments" },
    { label: "New" },
  ]);
  const container = h("div");
  loadInto(
    container,
    () => api.projects.listProjects({ organizationId: org.id }, { signal: ctx.signal }),
    ({ projects }) => {
      const wanted = ctx.query.get("project");
      const projectSelect = select({ name: "project", "data-testid": "project-select" }, [
        ...projects.map((p) => ({ value: p.id, label: p.name, selected: p.id === wanted })),
        { value: NEW_PROJECT, label: "+ New project…", selected: projects.length === 0 },
      ]);
      const projectName = input({ name: "projectName", placeholder: "shop", maxlength: "100" });
      const projectNameField = field("New project's name", projectName);
      const syncProject = () => {
        const creating = projectSelect.value === NEW_PROJECT;
        projectNameField.hidden = !creating;
        projectName.required = creating;
      };
      projectSelect.addEventListener("change", syncProject);
      syncProject();

      const env = envEditor();
      const error = formError();
      const submit = h(
        "button",
        { class: "btn btn-primary", type: "submit", "data-testid": "deploy" },
        "Deploy",
      );
      const form = h(
        "form",
        { class: "form", "data-testid": "new-deployment-form" },
        card(
          "Source",
          h(
            "div",
            { class: "form-grid" },
            field("Project", projectSelect),
            projectNameField,
            field(
              "Git repository",
              input({
                name: "gitRepo",
                required: true,
                placeholder: "https://github.com/you/app.git",
                spellcheck: "false",
                autocomplete: "off",
                class: "input mono",
              }),
              "https, ssh or git URL. A Dockerfile is used when there is one; Node.js and static sites are detected.",
            ),
            field(
              "Branch",
              input({
                name: "branch",
                required: true,
                value: "main",
                spellcheck: "false",
                class: "input mono",
              }),
            ),
            field(
              "Name",
              input({
                name: "name",
                placeholder: "derived from the repository",
                maxlength: "63",
                spellcheck: "false",
              }),
              "Lowercase letters, digits and dashes; part of the default URL.",
            ),
          ),
        ),
        card("Environment variables", env.el),
        card(
          "Domain",
          field(
            "Custom domain",
            input({
              name: "domain",
              placeholder: "app.example.com",
              spellcheck: "false",
              class: "input mono",
            }),
            "Optional. The deployment always gets its default domain too; a custom one is served once you prove it is yours (Settings → Domains).",
          ),
        ),
        h(
          "details",
          { class: "card details" },
          h(
            "summary",
            { class: "card-header" },
            h("span", { class: "card-title" }, "Resources and placement"),
          ),
          h(
            "div",
            { class: "card-body form-grid" },
            field(
              "Replicas",
              input({ name: "replicas", type: "number", min: "1", max: "20", value: "1" }),
            ),
            field(
              "CPU (millicores)",
              input({
                name: "cpu",
                type: "number",
                min: "0",
                step: "50",
                placeholder: "platform default",
              }),
            ),
            field(
              "Memory (MB)",
              input({
                name: "memory",
                type: "number",
                min: "0",
                step: "16",
                placeholder: "platform default",
              }),
            ),
            field(
              "Placement",
              select({ name: "strategy" }, [
                { value: String(PlacementStrategy.UNSPECIFIED), label: "Platform default" },
                { value: String(PlacementStrategy.LEAST_LOADED), label: "Least loaded" },
                { value: String(PlacementStrategy.ROUND_ROBIN), label: "Round robin" },
                {
                  value: String(PlacementStrategy.RESOURCE_BASED),
                  label: "Resource based (best fit)",
                },
              ]),
            ),
          ),
        ),
        error.el,
        h(
          "div",
          { class: "form-actions" },
          h("a", { class: "btn", href: "/deployments" }, "Cancel"),
          submit,
        ),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.clear();
        const data = new FormData(form);
        const text = (name: string) => String(data.get(name) ?? "").trim();
        const num = (name: string) => Number(text(name) || 0);
        submit.disabled = true;
        submit.classList.add("is-busy");
        try {
          let projectId = projectSelect.value;
          if (projectId === NEW_PROJECT) {
            const { project } = await api.projects.createProject({
              organizationId: org.id,
              name: text("projectName"),
            });
            if (!project) throw new Error("the project was not created");
            projectId = project.id;
            projectSelect.prepend(h("option", { value: project.id }, project.name));
            projectSelect.value = project.id;
            syncProject();
          }
          const domain = text("domain");
          const { deployment } = await api.deployments.createDeployment({
            projectId,
            gitRepo: text("gitRepo"),
            branch: text("branch"),
            name: text("name"),
            envVars: env.values(),
            ...(domain ? { domain } : {}),
            replicas: num("replicas") || 1,
            resources: { cpuMillicores: num("cpu"), memoryMb: num("memory") },
            strategy: Number(text("strategy")) as PlacementStrategy,
          });
          if (!deployment) throw new Error("the deployment was not created");
          toast(`Deploying ${deployment.name}`, "success");
          ctx.navigate(`/deployments/${deployment.id}`);
        } catch (e) {
          error.show(e);
          submit.disabled = false;
          submit.classList.remove("is-busy");
        }
      });
      return form;
    },
    { signal: ctx.signal },
  );
  return h(
    "div",
    { class: "page page-narrow" },
    pageHeader("New deployment", "Point Obiente Cloud at a git repository and a branch."),
    container,
  );
};
