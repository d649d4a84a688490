/** Sign in: with an API token, or through the configured OIDC issuer (authorization code + PKCE). */
import { api, errorMessage } from "../api.js";
import { type AuthConfig, fetchAuthConfig, session, startOidcSignIn } from "../auth.js";
import { h } from "../dom.js";
import type { Page } from "../page.js";

export const loginPage: Page = (ctx) => {
  document.title = "Sign in · Obiente Cloud";
  const next = ctx.query.get("next");
  const returnTo = next?.startsWith("/") && !next.startsWith("//") ? next : "/deployments";
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const showError = (message: string) => {
    error.textContent = message;
    error.hidden = false;
  };
  const notice = ctx.query.get("expired")
    ? h("p", { class: "notice" }, "Your session has ended. Sign in again to continue.")
    : null;

  const tokenInput = h("input", {
    class: "input",
    type: "password",
    name: "token",
    id: "token",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "obt_…",
    required: true,
    "aria-describedby": "token-hint",
  });
  const submit = h(
    "button",
    { class: "btn btn-primary btn-block", type: "submit" },
    "Sign in with token",
  );
  const form = h(
    "form",
    { class: "login-form", "data-testid": "token-form" },
    h("label", { class: "field" }, h("span", { class: "field-label" }, "API token"), tokenInput),
    h(
      "p",
      { class: "field-hint", id: "token-hint" },
      "The token printed at the first start, or one made with ",
      h("code", null, "obiente"),
      " or under Account.",
    ),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const token = tokenInput.value.trim();
    if (!token) return;
    submit.disabled = true;
    submit.classList.add("is-busy");
    session.set({ token, method: "api_token" });
    try {
      await api.auth.whoAmI({});
      ctx.navigate(returnTo, { replace: true });
    } catch (e) {
      session.clear();
      showError(
        /unauthenticated|token/i.test(errorMessage(e))
          ? `This token was not accepted: ${errorMessage(e)}`
          : errorMessage(e),
      );
      submit.disabled = false;
      submit.classList.remove("is-busy");
      tokenInput.select();
    }
  });

  const sso = h("div", { class: "login-sso" });
  const renderSso = (config: AuthConfig) => {
    if (!config.issuer || !config.clientId) return;
    const host = (() => {
      try {
        return new URL(config.issuer).host;
      } catch {
        return config.issuer;
      }
    })();
    const button = h(
      "button",
      { class: "btn btn-block btn-sso", type: "button", "data-testid": "sso" },
      "Continue with single sign-on",
    );
    button.addEventListener("click", async () => {
      error.hidden = true;
      button.disabled = true;
      button.classList.add("is-busy");
      try {
        await startOidcSignIn(config, returnTo);
      } catch (e) {
        showError(errorMessage(e));
        button.disabled = false;
        button.classList.remove("is-busy");
      }
    });
    sso.replaceChildren(
      button,
      h("p", { class: "field-hint center" }, "Through ", h("strong", null, host)),
      h("div", { class: "divider" }, h("span", null, "or")),
    );
  };
  fetchAuthConfig().then(renderSso, () => {
    // Without the settings, the token form still works.
  });

  return h(
    "div",
    { class: "fullscreen login" },
    h(
      "div",
      { class: "fullscreen-card" },
      h(
        "div",
        { class: "login-brand" },
        h("span", { class: "brand-logo", "aria-hidden": "true" }),
        "Obiente Cloud",
      ),
      h("h1", { class: "login-title" }, "Sign in"),
      notice,
      error,
      sso,
      form,
    ),
  );
};
