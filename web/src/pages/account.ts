/** The signed-in user, and their API tokens (for the CLI and scripts): create, list, revoke. */
import type { ApiToken } from "../../../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { api } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, button, card, input, pageHeader, select } from "../components/form.js";
import { empty, errorState, formError, loading } from "../components/states.js";
import { h, mount } from "../dom.js";
import { ago, dateOf, fullTime } from "../format.js";
import type { Page } from "../page.js";

export const accountPage: Page = (ctx) => {
  ctx.setTitle("Account", [{ label: "Account" }]);
  const user = ctx.app.user;
  const list = h("div", null, loading("Loading tokens…", 2));
  const secret = h("div", { class: "secret", hidden: true, role: "status" });

  const load = async () => {
    try {
      const { apiTokens } = await api.auth.listApiTokens({}, { signal: ctx.signal });
      render(apiTokens);
    } catch (error) {
      if (!ctx.signal.aborted)
        mount(
          list,
          errorState(error, () => void load(), "Could not load tokens"),
        );
    }
  };
  const render = (tokens: ApiToken[]) => {
    const live = tokens.filter((t) => !t.revokedAt);
    if (live.length === 0) {
      mount(list, empty("No API tokens", "Make one for the CLI or a script."));
      return;
    }
    mount(
      list,
      h(
        "table",
        { class: "table table-compact" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Name"),
            h("th", null, "Token"),
            h("th", null, "Last used"),
            h("th", null, "Expires"),
            h("th", { class: "num" }, h("span", { class: "sr-only" }, "Actions")),
          ),
        ),
        h(
          "tbody",
          null,
          live.map((t) =>
            h(
              "tr",
              null,
              h("td", null, t.name || "—"),
              h("td", { class: "mono" }, `${t.prefix}…`),
              h("td", { class: "muted" }, t.lastUsedAt ? ago(dateOf(t.lastUsedAt)) : "never"),
              h("td", { class: "muted" }, t.expiresAt ? fullTime(dateOf(t.expiresAt)) : "never"),
              h(
                "td",
                { class: "num" },
                button(
                  "Revoke",
                  () => {
                    void confirmDialog({
                      title: `Revoke ${t.name || t.prefix}?`,
                      body: "Anything using this token stops working at once.",
                      confirmLabel: "Revoke",
                      danger: true,
                      action: () => api.auth.revokeApiToken({ id: t.id }),
                    }).then((ok) => {
                      if (ok) void load();
                    });
                  },
                  { small: true, kind: "ghost" },
                ),
              ),
            ),
          ),
        ),
      ),
    );
  };
  void load();

  const error = formError();
  const name = input({
    name: "name",
    required: true,
    placeholder: "laptop CLI",
    "aria-label": "Token name",
    maxlength: "100",
  });
  const expiry = select({ name: "expires", "aria-label": "Expires" }, [
    { value: "30", label: "30 days", selected: true },
    { value: "90", label: "90 days" },
    { value: "365", label: "1 year" },
    { value: "0", label: "Never" },
  ]);
  const create = h("button", { class: "btn btn-primary", type: "submit" }, "Create token");
  const form = h("form", { class: "inline-form" }, name, expiry, create);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.clear();
    void busy(create, async () => {
      try {
        const answer = await api.auth.createApiToken({
          name: name.value.trim(),
          expiresInDays: Number(expiry.value),
        });
        name.value = "";
        secret.hidden = false;
        mount(
          secret,
          h("p", null, h("strong", null, "Copy the token now: "), "it is shown once."),
          h("code", { class: "secret-value" }, answer.token),
        );
        await load();
      } catch (e) {
        error.show(e);
      }
    });
  });

  return h(
    "div",
    { class: "page" },
    pageHeader("Account"),
    card(
      "You",
      h(
        "dl",
        { class: "meta-grid" },
        h("div", { class: "meta-item" }, h("dt", null, "Email"), h("dd", null, user?.email || "—")),
        h(
          "div",
          { class: "meta-item" },
          h("dt", null, "Name"),
          h("dd", null, user?.displayName || "—"),
        ),
        h(
          "div",
          { class: "meta-item" },
          h("dt", null, "Signed in with"),
          h("dd", null, ctx.app.authMethod === "oidc" ? "Single sign-on" : "API token"),
        ),
        h(
          "div",
          { class: "meta-item" },
          h("dt", null, "Platform administrator"),
          h("dd", null, user?.platformAdmin ? "yes" : "no"),
        ),
      ),
    ),
    card("API tokens", [form, error.el, secret, list]),
  );
};
