/** What every page gets, and what it gives back. */
import type { AppState } from "./state.js";

export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the page goes away: every fetch and stream of the page listens to it. */
  signal: AbortSignal;
  app: AppState;
  navigate(to: string, options?: { replace?: boolean }): void;
  setQuery(query: URLSearchParams): void;
  /** The document title and the top bar's breadcrumb. */
  setTitle(title: string, crumbs?: Array<{ label: string; href?: string }>): void;
}

export type Page = (ctx: PageContext) => Node;
