/** The frame around every signed-in page: the sidebar (organization switcher, sections) and the top bar (where you are, who you are, sign out). */
import { h, ICONS, icon, mount } from "../dom.js";
import { type AppState, ROLE_NAMES } from "../state.js";

export interface Shell {
  el: HTMLElement;
  main: HTMLElement;
  setActive(path: string): void;
  setCrumbs(crumbs: Array<{ label: string; href?: string }>): void;
  refresh(): void;
}

const NAV = [
  { href: "/projects", label: "Projects", icon: ICONS.projects, key: "p" },
  { href: "/deployments", label: "Deployments", icon: ICONS.deployments, key: "d" },
  { href: "/members", label: "Members", icon: ICONS.members, key: "m" },
  { href: "/nodes", label: "Nodes", icon: ICONS.nodes, key: "n" },
  { href: "/platform", label: "Health", icon: ICONS.health, key: "h" },
] as const;

export function createShell(
  app: AppState,
  actions: { signOut(): void; createOrganization(): void; showShortcuts(): void },
): Shell {
  const orgSelect = h("select", {
    class: "input select org-select",
    "aria-label": "Organization",
    "data-testid": "org-switcher",
  });
  orgSelect.addEventListener("change", () => {
    if (orgSelect.value === "__new") {
      orgSelect.value = app.organization?.id ?? "";
      actions.createOrganization();
      return;
    }
    app.selectOrganization(orgSelect.value);
  });
  const links = NAV.map((item) =>
    h(
      "a",
      { class: "nav-link", href: item.href, title: `${item.label} (g then ${item.key})` },
      icon(item.icon),
      h("span", null, item.label),
    ),
  );
  const sidebar = h(
    "aside",
    { class: "sidebar", id: "sidebar" },
    h(
      "a",
      { class: "brand", href: "/deployments" },
      h("span", { class: "brand-logo", "aria-hidden": "true" }),
      "Obiente Cloud",
    ),
    h("div", { class: "org-switch" }, orgSelect),
    h("nav", { class: "nav", "aria-label": "Sections" }, links),
    h(
      "div",
      { class: "sidebar-foot" },
      h(
        "button",
        { class: "link-button", type: "button", onclick: actions.showShortcuts },
        "Keyboard shortcuts ",
        h("kbd", null, "?"),
      ),
    ),
  );
  const crumbs = h("nav", { class: "crumbs", "aria-label": "Breadcrumb" });
  const userEl = h("div", { class: "user" });
  const menuButton = h(
    "button",
    {
      class: "btn btn-ghost menu-button",
      type: "button",
      "aria-label": "Menu",
      "aria-controls": "sidebar",
      "aria-expanded": "false",
    },
    icon(ICONS.menu),
  );
  const main = h("main", { class: "content", id: "main", tabindex: "-1" });
  const el = h(
    "div",
    { class: "shell", dataset: { nav: "closed" } },
    h("a", { class: "skip-link", href: "#main", "data-external": "" }, "Skip to content"),
    sidebar,
    h(
      "div",
      { class: "main-col" },
      h("header", { class: "topbar" }, menuButton, crumbs, userEl),
      main,
    ),
  );
  menuButton.addEventListener("click", () => {
    const open = el.dataset.nav !== "open";
    el.dataset.nav = open ? "open" : "closed";
    menuButton.setAttribute("aria-expanded", String(open));
  });

  const refresh = () => {
    mount(
      orgSelect,
      app.organizations.map((o) =>
        h("option", { value: o.id, selected: o.id === app.organization?.id }, o.name),
      ),
      h("option", { value: "__new" }, "+ New organization…"),
    );
    if (app.organizations.length === 0)
      orgSelect.prepend(h("option", { value: "", selected: true }, "No organization"));
    const user = app.user;
    const role = app.organization ? ROLE_NAMES[app.organization.role] : "";
    mount(
      userEl,
      h(
        "a",
        { class: "user-chip", href: "/account", title: "Account and API tokens" },
        h(
          "span",
          { class: "avatar", "aria-hidden": "true" },
          (user?.displayName || user?.email || "?").charAt(0).toUpperCase(),
        ),
        h(
          "span",
          { class: "user-text" },
          h(
            "span",
            { class: "user-name", "data-testid": "user-email" },
            user?.email || user?.displayName || "Signed in",
          ),
          role ? h("span", { class: "user-role" }, role) : null,
        ),
      ),
      h(
        "button",
        {
          class: "btn btn-sm",
          type: "button",
          onclick: actions.signOut,
          "data-testid": "sign-out",
        },
        "Sign out",
      ),
    );
  };
  refresh();

  return {
    el,
    main,
    setActive(path) {
      for (const link of links) {
        const href = link.getAttribute("href") ?? "";
        const active = path === href || path.startsWith(`${href}/`);
        if (active) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
      el.dataset.nav = "closed";
      menuButton.setAttribute("aria-expanded", "false");
    },
    setCrumbs(list) {
      mount(
        crumbs,
        h(
          "ol",
          null,
          list.map((c, i) =>
            h(
              "li",
              null,
              c.href && i < list.length - 1
                ? h("a", { href: c.href }, c.label)
                : h(
                    "span",
                    { "aria-current": i === list.length - 1 ? "page" : undefined },
                    c.label,
                  ),
            ),
          ),
        ),
      );
    },
    refresh,
  };
}

export const SHORTCUTS: Array<[string, string]> = [
  ...NAV.map((n): [string, string] => [`g ${n.key}`, `Go to ${n.label}`]),
  ["c", "New deployment"],
  ["/", "Search the list"],
  ["?", "This list"],
  ["Esc", "Close a dialog"],
];
