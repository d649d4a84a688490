/**
 * The dashboard's entry: routes, the signed-in frame, page lifecycles (each page's fetches and
 * streams end with it), keyboard shortcuts.
 */
import "./styles.css";
import { api, Code, codeOf, onSessionEnded } from "./api.js";
import { session } from "./auth.js";
import { confirmDialog, formDialog } from "./components/dialog.js";
import { field, input } from "./components/form.js";
import { createShell, SHORTCUTS, type Shell } from "./components/shell.js";
import { errorState, loading } from "./components/states.js";
import { toast } from "./components/toast.js";
import { h } from "./dom.js";
import type { Page, PageContext } from "./page.js";
import { callbackPage } from "./pages/callback.js";
import { deploymentsPage, prefetchDeployments } from "./pages/deployments.js";
import { loginPage } from "./pages/login.js";
import { notFoundPage } from "./pages/not-found.js";
import { Router } from "./router.js";
import { AppState } from "./state.js";

/**
 * A page in a chunk of its own: the sign-in and the deployments list are in the first load, the
 * rest come when first opened, or earlier, when the browser is idle (see prefetch below).
 */
const loaders: Array<() => Promise<unknown>> = [];
function lazy<M>(load: () => Promise<M>, pick: (m: M) => Page): Page {
  loaders.push(load);
  return (ctx) => {
    const holder = h("div", { class: "page" }, loading("Loading…", 3));
    load().then(
      (m) => {
        if (ctx.signal.aborted) return;
        const node = pick(m)(ctx);
        holder.replaceWith(node);
        if (document.activeElement === document.body && node instanceof Element) {
          node.querySelector<HTMLElement>(".page-title")?.focus({ preventScroll: true });
        }
      },
      (error) => {
        if (!ctx.signal.aborted)
          holder.replaceChildren(
            errorState(error, () => location.reload(), "This page failed to load"),
          );
      },
    );
    return holder;
  };
}

const projectsPage = lazy(
  () => import("./pages/projects.js"),
  (m) => m.projectsPage,
);
const projectPage = lazy(
  () => import("./pages/project.js"),
  (m) => m.projectPage,
);
const newDeploymentPage = lazy(
  () => import("./pages/deployment-new.js"),
  (m) => m.newDeploymentPage,
);
const deploymentPage = lazy(
  () => import("./pages/deployment.js"),
  (m) => m.deploymentPage,
);
const membersPage = lazy(
  () => import("./pages/members.js"),
  (m) => m.membersPage,
);
const nodesPage = lazy(
  () => import("./pages/nodes.js"),
  (m) => m.nodesPage,
);
const healthPage = lazy(
  () => import("./pages/health.js"),
  (m) => m.healthPage,
);
const accountPage = lazy(
  () => import("./pages/account.js"),
  (m) => m.accountPage,
);

/**
 * Fetches the other pages' chunks once the first page has settled (its data shown: a couple of
 * seconds) and the browser has nothing to do, so that they never compete with the first paint.
 */
function prefetch() {
  setTimeout(() => {
    const run = () => {
      for (const load of loaders) void load().catch(() => undefined);
    };
    if ("requestIdleCallback" in window) requestIdleCallback(run, { timeout: 5_000 });
    else run();
  }, 2_500);
}

interface Route {
  path: string;
  page: Page;
  /** Shown without signing in, without the frame. */
  public?: boolean;
  redirect?: string;
}

const routes: Route[] = [
  { path: "/", page: notFoundPage, redirect: "/deployments" },
  { path: "/login", page: loginPage, public: true },
  { path: "/auth/callback", page: callbackPage, public: true },
  { path: "/projects", page: projectsPage },
  { path: "/projects/:id", page: projectPage },
  { path: "/deployments", page: deploymentsPage },
  { path: "/deployments/new", page: newDeploymentPage },
  { path: "/deployments/:id/:tab?", page: deploymentPage },
  { path: "/members", page: membersPage },
  { path: "/nodes", page: nodesPage },
  { path: "/platform", page: healthPage },
  { path: "/account", page: accountPage },
];

const root = document.getElementById("app") as HTMLElement;
const router = new Router<Route>(routes, { path: "*", page: notFoundPage });
const app = new AppState();
let shell: Shell | undefined;
let pageAbort: AbortController | undefined;
let renderCount = 0;

const navigate = (to: string, options?: { replace?: boolean }) => router.navigate(to, options);

function signOut(reason?: "expired") {
  session.clear();
  app.reset();
  shell = undefined;
  const next = `${location.pathname}${location.search}`;
  const query = new URLSearchParams();
  if (reason) query.set("expired", "1");
  if (reason && next !== "/" && !next.startsWith("/login")) query.set("next", next);
  navigate(`/login${query.size ? `?${query}` : ""}`, { replace: true });
}

onSessionEnded(() => {
  if (location.pathname !== "/login") signOut("expired");
});

app.onChange(() => {
  shell?.refresh();
  // A deployment belongs to one organization: after switching, go to the list.
  if (/^\/deployments\/[^/]+/.test(location.pathname) && location.pathname !== "/deployments/new") {
    navigate("/deployments");
  } else void render();
});

async function render() {
  const count = ++renderCount;
  const match = router.match();
  pageAbort?.abort();
  pageAbort = new AbortController();
  const signal = pageAbort.signal;
  const route = match.route;
  if (route.redirect) return navigate(route.redirect, { replace: true });

  const ctx: PageContext = {
    params: match.params,
    query: match.query,
    signal,
    app,
    navigate,
    setQuery: (q) => router.setQuery(q),
    setTitle: (title, crumbs) => {
      document.title = `${title} · Obiente Cloud`;
      shell?.setCrumbs(
        crumbs ?? [{ label: app.organization?.name ?? "Obiente" }, { label: title }],
      );
    },
  };

  if (route.public) {
    shell = undefined;
    root.replaceChildren(route.page(ctx));
    root.removeAttribute("aria-busy");
    return;
  }
  if (!session.get() || session.expired()) {
    const expired = session.get() !== undefined;
    session.clear();
    const next = `${location.pathname}${location.search}`;
    const query = new URLSearchParams(next === "/" ? {} : { next });
    if (expired) query.set("expired", "1");
    return navigate(`/login${query.size ? `?${query}` : ""}`, { replace: true });
  }
  if (!app.user) {
    // A returning user's organization is known: its deployments load while signing in.
    const remembered = localStorage.getItem("obiente.organization");
    if (route.page === deploymentsPage && remembered) prefetchDeployments(remembered);
    root.replaceChildren(
      h(
        "div",
        { class: "fullscreen" },
        h("div", { class: "fullscreen-card" }, loading("Signing in…", 2)),
      ),
    );
    try {
      await app.load();
    } catch (error) {
      if (count !== renderCount) return;
      if (codeOf(error) === Code.Unauthenticated) return signOut("expired");
      root.replaceChildren(
        h(
          "div",
          { class: "fullscreen" },
          h(
            "div",
            { class: "fullscreen-card" },
            errorState(error, () => void render(), "Could not reach Obiente Cloud"),
            h(
              "button",
              { class: "link-button", type: "button", onclick: () => signOut() },
              "Sign out",
            ),
          ),
        ),
      );
      root.removeAttribute("aria-busy");
      return;
    }
    if (count !== renderCount) return;
  }
  if (!shell) {
    shell = createShell(app, {
      signOut: () => signOut(),
      createOrganization,
      showShortcuts,
    });
    root.replaceChildren(shell.el);
    root.removeAttribute("aria-busy");
  }
  shell.setActive(match.path);
  const hadFocusInMain = shell.main.contains(document.activeElement);
  let node: Node;
  try {
    node = route.page(ctx);
  } catch (error) {
    node = errorState(error, () => void render(), "This page failed to open");
  }
  shell.main.replaceChildren(node);
  if (hadFocusInMain || document.activeElement === document.body) {
    shell.main.querySelector<HTMLElement>(".page-title")?.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function createOrganization() {
  void formDialog({
    title: "New organization",
    submitLabel: "Create organization",
    fields: field(
      "Name",
      input({ name: "name", required: true, maxlength: "100", placeholder: "Acme Inc." }),
    ),
    submit: async (form) => {
      const name = String(new FormData(form).get("name") ?? "").trim();
      const { organization } = await api.organizations.createOrganization({ name });
      if (organization) {
        await app.reloadOrganizations();
        app.selectOrganization(organization.id);
        toast(`Organization ${organization.name} created`, "success");
      }
    },
  });
}

function showShortcuts() {
  void confirmDialog({
    title: "Keyboard shortcuts",
    confirmLabel: "Close",
    body: h(
      "dl",
      { class: "shortcuts" },
      SHORTCUTS.map(([keys, what]) => [
        h(
          "dt",
          null,
          keys.split(" ").map((k) => h("kbd", null, k)),
        ),
        h("dd", null, what),
      ]),
    ),
  });
}

// Keyboard: "g" then a section's letter, "c" for a new deployment, "/" to search, "?" for help.
let chord: ReturnType<typeof setTimeout> | undefined;
document.addEventListener("keydown", (event) => {
  if (event.metaKey || event.ctrlKey || event.altKey || event.defaultPrevented) return;
  const target = event.target as HTMLElement | null;
  if (target?.closest("input, textarea, select, [contenteditable], dialog")) return;
  if (!shell) return;
  const go: Record<string, string> = {
    p: "/projects",
    d: "/deployments",
    m: "/members",
    n: "/nodes",
    h: "/platform",
  };
  if (chord !== undefined) {
    clearTimeout(chord);
    chord = undefined;
    const to = go[event.key];
    if (to) {
      event.preventDefault();
      navigate(to);
    }
    return;
  }
  if (event.key === "g") {
    chord = setTimeout(() => {
      chord = undefined;
    }, 1_500);
  } else if (event.key === "c" && app.canDeploy) {
    event.preventDefault();
    navigate("/deployments/new");
  } else if (event.key === "/") {
    const search = document.querySelector<HTMLInputElement>("[data-search]");
    if (search) {
      event.preventDefault();
      search.focus();
    }
  } else if (event.key === "?") {
    event.preventDefault();
    showShortcuts();
  }
});

router.onChange(() => void render());
void render().then(prefetch);
