/** Pieces several pages share. */
import { empty } from "../components/states.js";
import { h } from "../dom.js";
import type { PageContext } from "../page.js";

/** What a page shows when the user belongs to no organization. */
export function noOrganization(ctx: PageContext, title: string): HTMLElement {
  ctx.setTitle(title);
  return h(
    "div",
    { class: "page" },
    h("h1", { class: "page-title", tabindex: "-1" }, title),
    empty(
      "You are not in any organization yet",
      "Create one with the organization switcher, or ask an owner of an existing organization to add you.",
    ),
  );
}

/** A banner for a live view that lost its connection but still shows what it had. */
export function staleBanner(): { el: HTMLElement; show(message: string): void; hide(): void } {
  const el = h("div", { class: "banner banner-warn", role: "status", hidden: true });
  return {
    el,
    show(message) {
      el.textContent = message;
      el.hidden = false;
    },
    hide() {
      el.hidden = true;
    },
  };
}
