import { empty } from "../components/states.js";
import { h } from "../dom.js";
import type { Page } from "../page.js";

export const notFoundPage: Page = (ctx) => {
  ctx.setTitle("Not found");
  return h(
    "div",
    { class: "page" },
    h("h1", { class: "page-title sr-only", tabindex: "-1" }, "Not found"),
    empty(
      "This page does not exist",
      `Nothing lives at ${location.pathname}.`,
      h("a", { class: "btn", href: "/deployments" }, "Go to deployments"),
    ),
  );
};
