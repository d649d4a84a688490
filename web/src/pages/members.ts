/** The organization: its members and their roles, its name; new organizations. */
import {
  type Member,
  Role,
} from "../../../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, button, card, input, pageHeader, select } from "../components/form.js";
import { errorState, formError, loading } from "../components/states.js";
import { toast, toastError } from "../components/toast.js";
import { h, mount } from "../dom.js";
import { ago, dateOf } from "../format.js";
import type { Page } from "../page.js";
import { ROLE_NAMES } from "../state.js";
import { noOrganization } from "./common.js";

const ROLES = [Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.VIEWER];
const ROLE_HELP: Record<number, string> = {
  [Role.OWNER]: "everything, including deleting the organization",
  [Role.ADMIN]: "everything but deleting it and changing owners",
  [Role.DEVELOPER]: "projects and deployments",
  [Role.VIEWER]: "read only; env var values hidden",
};

export const membersPage: Page = (ctx) => {
  const org = ctx.app.organization;
  if (!org) return noOrganization(ctx, "Members");
  ctx.setTitle("Members");
  const canManage = ctx.app.canManageMembers;
  const body = h("div", null, loading("Loading members…", 3));
  const me = ctx.app.user?.id;

  const load = async () => {
    try {
      const { members } = await api.organizations.listMembers(
        { organizationId: org.id },
        { signal: ctx.signal },
      );
      render(members);
    } catch (error) {
      if (!ctx.signal.aborted)
        mount(
          body,
          errorState(error, () => void load(), "Could not load members"),
        );
    }
  };

  const render = (members: Member[]) => {
    mount(
      body,
      h(
        "table",
        { class: "table", "data-testid": "members" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Member"),
            h("th", null, "Role"),
            h("th", { class: "hide-sm" }, "Since"),
            h("th", { class: "num" }, h("span", { class: "sr-only" }, "Actions")),
          ),
        ),
        h(
          "tbody",
          null,
          members.map((m) => {
            const roleSelect = select(
              {
                "aria-label": `Role of ${m.email}`,
                disabled: !canManage,
                class: "input select select-sm",
              },
              ROLES.map((r) => ({
                value: String(r),
                label: ROLE_NAMES[r],
                selected: r === m.role,
              })),
            );
            roleSelect.addEventListener("change", async () => {
              const role = Number(roleSelect.value) as Role;
              roleSelect.disabled = true;
              try {
                await api.organizations.updateMemberRole({
                  organizationId: org.id,
                  userId: m.userId,
                  role,
                });
                toast(`${m.email} is now ${ROLE_NAMES[role].toLowerCase()}`, "success");
                if (m.userId === me) await ctx.app.reloadOrganizations();
              } catch (error) {
                roleSelect.value = String(m.role);
                toastError(error);
              } finally {
                roleSelect.disabled = !canManage;
              }
            });
            return h(
              "tr",
              { dataset: { member: m.email } },
              h(
                "td",
                null,
                h(
                  "div",
                  { class: "cell-main" },
                  h(
                    "span",
                    { class: "avatar", "aria-hidden": "true" },
                    (m.displayName || m.email).charAt(0).toUpperCase(),
                  ),
                  h(
                    "div",
                    null,
                    h(
                      "div",
                      null,
                      m.displayName || m.email,
                      m.userId === me ? h("span", { class: "pill" }, "you") : null,
                    ),
                    h("div", { class: "row-sub" }, m.email),
                  ),
                ),
              ),
              h("td", null, roleSelect),
              h("td", { class: "muted hide-sm" }, ago(dateOf(m.createdAt))),
              h(
                "td",
                { class: "num" },
                canManage || m.userId === me
                  ? button(
                      m.userId === me ? "Leave" : "Remove",
                      () => {
                        void confirmDialog({
                          title: m.userId === me ? `Leave ${org.name}?` : `Remove ${m.email}?`,
                          body:
                            m.userId === me
                              ? "You lose access to its projects and deployments."
                              : "They lose access to this organization's projects and deployments.",
                          confirmLabel: m.userId === me ? "Leave" : "Remove",
                          danger: true,
                          action: () =>
                            api.organizations.removeMember({
                              organizationId: org.id,
                              userId: m.userId,
                            }),
                        }).then(async (ok) => {
                          if (!ok) return;
                          if (m.userId === me) await ctx.app.reloadOrganizations();
                          else void load();
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
  void load();

  const addError = formError();
  const email = input({
    type: "email",
    name: "email",
    required: true,
    placeholder: "someone@example.com",
    "aria-label": "Email",
  });
  const role = select(
    { name: "role", "aria-label": "Role" },
    ROLES.map((r) => ({ value: String(r), label: ROLE_NAMES[r], selected: r === Role.DEVELOPER })),
  );
  const add = h("button", { class: "btn btn-primary", type: "submit" }, "Add member");
  const addForm = h("form", { class: "inline-form" }, email, role, add);
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    addError.clear();
    void busy(add, async () => {
      try {
        await api.organizations.addMember({
          organizationId: org.id,
          email: email.value.trim(),
          role: Number(role.value) as Role,
        });
        toast(`${email.value.trim()} added`, "success");
        email.value = "";
        await load();
      } catch (e) {
        addError.show(e);
      }
    });
  });

  const nameInput = input({
    name: "name",
    value: org.name,
    required: true,
    maxlength: "100",
    "aria-label": "Organization name",
  });
  const rename = h("button", { class: "btn", type: "submit" }, "Save");
  const renameForm = h("form", { class: "inline-form" }, nameInput, rename);
  renameForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(rename, async () => {
      await api.organizations.updateOrganization({ id: org.id, name: nameInput.value.trim() });
      await ctx.app.reloadOrganizations();
      toast("Organization renamed", "success");
    });
  });

  return h(
    "div",
    { class: "page" },
    pageHeader(
      "Members",
      h(
        "span",
        null,
        `Who can work in ${org.name}. You are `,
        h("strong", null, ROLE_NAMES[org.role].toLowerCase()),
        ".",
      ),
    ),
    card("Members", body),
    canManage
      ? card("Add a member", [
          addForm,
          addError.el,
          h(
            "ul",
            { class: "role-help muted small" },
            ROLES.map((r) => h("li", null, h("strong", null, ROLE_NAMES[r]), `: ${ROLE_HELP[r]}`)),
          ),
          h(
            "p",
            { class: "card-note" },
            "Someone who has never signed in gets the membership when they first sign in with that email.",
          ),
        ])
      : null,
    canManage
      ? card("Organization", [
          renameForm,
          h("p", { class: "card-note" }, "Slug: ", h("code", null, org.slug)),
        ])
      : null,
  );
};
