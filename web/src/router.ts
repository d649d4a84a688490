/**
 * A tiny history router: patterns like "/deployments/:id/:tab?", links intercepted so that
 * navigation stays in the page, and a change listener. The server answers every app path with
 * index.html (src/api/dashboard.ts).
 */

export interface Match<T> {
  route: T;
  params: Record<string, string>;
  query: URLSearchParams;
  path: string;
}

interface Compiled<T> {
  route: T;
  parts: string[];
}

export class Router<T extends { path: string }> {
  private readonly compiled: Compiled<T>[];
  private readonly listeners = new Set<() => void>();

  constructor(
    routes: T[],
    private readonly fallback: T,
  ) {
    this.compiled = routes.map((route) => ({ route, parts: split(route.path) }));
    addEventListener("popstate", () => this.emit());
    document.addEventListener("click", (event) => this.onClick(event));
  }

  match(pathname = location.pathname, search = location.search): Match<T> {
    const segments = split(pathname).map(decodeURIComponent);
    const query = new URLSearchParams(search);
    for (const { route, parts } of this.compiled) {
      const params = matchParts(parts, segments);
      if (params) return { route, params, query, path: pathname };
    }
    return { route: this.fallback, params: {}, query, path: pathname };
  }

  navigate(to: string, options: { replace?: boolean } = {}): void {
    const url = new URL(to, location.origin);
    const next = `${url.pathname}${url.search}${url.hash}`;
    if (next === `${location.pathname}${location.search}${location.hash}` && !options.replace) {
      this.emit();
      return;
    }
    if (options.replace) history.replaceState(null, "", next);
    else history.pushState(null, "", next);
    this.emit();
  }

  /** Changes the query without a new page (filters): no listener is called. */
  setQuery(query: URLSearchParams): void {
    const search = query.toString();
    history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}`);
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private emit() {
    for (const listener of this.listeners) listener();
  }

  private onClick(event: MouseEvent) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest("a");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const href = anchor.getAttribute("href");
    if (!href?.startsWith("/") || href.startsWith("//")) return;
    if (anchor.dataset.external !== undefined) return;
    event.preventDefault();
    this.navigate(href);
  }
}

const split = (path: string) => path.split("/").filter((s) => s.length > 0);

function matchParts(parts: string[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < Math.max(parts.length, segments.length); i++) {
    const part = parts[i];
    const segment = segments[i];
    if (part === undefined) return undefined;
    if (part.startsWith(":")) {
      const optional = part.endsWith("?");
      const name = part.slice(1, optional ? -1 : undefined);
      if (segment === undefined) {
        if (!optional) return undefined;
        continue;
      }
      params[name] = segment;
    } else if (part !== segment) return undefined;
  }
  return params;
}
