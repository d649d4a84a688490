/** Where the OIDC issuer sends the browser back: the code is swapped for a token here. */
import { errorMessage } from "../api.js";
import { completeOidcSignIn } from "../auth.js";
import { spinner } from "../components/states.js";
import { h } from "../dom.js";
import type { Page } from "../page.js";

export const callbackPage: Page = (ctx) => {
  document.title = "Signing in · Obiente Cloud";
  const body = h("div", { class: "center" }, spinner("Finishing sign-in…"));
  completeOidcSignIn(location.search).then(
    ({ returnTo }) => ctx.navigate(returnTo, { replace: true }),
    (error) => {
      body.replaceChildren(
        h(
          "div",
          { class: "state state-error", role: "alert" },
          h("p", { class: "state-title" }, "Sign-in failed"),
          h("p", { class: "state-body" }, errorMessage(error)),
          h(
            "div",
            { class: "state-action" },
            h("a", { class: "btn", href: "/login" }, "Back to sign in"),
          ),
        ),
      );
    },
  );
  return h("div", { class: "fullscreen" }, h("div", { class: "fullscreen-card" }, body));
};
