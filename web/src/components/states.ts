/** Loading, empty and error states: no part of a page stays blank. */

import { errorMessage } from "../api.js";
import { type Child, h } from "../dom.js";

export function loading(label = "Loading…", rows = 3): HTMLElement {
  return h(
    "div",
    { class: "state state-loading", role: "status", "aria-live": "polite", "aria-busy": "true" },
    h("span", { class: "sr-only" }, label),
    ...Array.from({ length: rows }, (_, i) =>
      h("div", { class: "skeleton", style: { width: `${90 - i * 17}%` } }),
    ),
  );
}

export function spinner(label?: string): HTMLElement {
  return h(
    "span",
    { class: "spinner-wrap" },
    h("span", { class: "spinner", "aria-hidden": "true" }),
    label ?? null,
  );
}

export function empty(title: string, body?: Child, action?: Child): HTMLElement {
  return h(
    "div",
    { class: "state state-empty" },
    h("p", { class: "state-title" }, title),
    body ? h("p", { class: "state-body" }, body) : null,
    action ? h("div", { class: "state-action" }, action) : null,
  );
}

export function errorState(
  error: unknown,
  retry?: () => void,
  title = "Could not load this",
): HTMLElement {
  return h(
    "div",
    { class: "state state-error", role: "alert" },
    h("p", { class: "state-title" }, title),
    h("p", { class: "state-body" }, errorMessage(error)),
    retry
      ? h(
          "div",
          { class: "state-action" },
          h("button", { class: "btn", type: "button", onclick: retry }, "Try again"),
        )
      : null,
  );
}

/** An inline error line under a form. */
export function formError(): { el: HTMLElement; show(error: unknown): void; clear(): void } {
  const el = h("p", { class: "form-error", role: "alert", hidden: true });
  return {
    el,
    show(error) {
      el.textContent = errorMessage(error);
      el.hidden = false;
    },
    clear() {
      el.textContent = "";
      el.hidden = true;
    },
  };
}

/**
 * Loads something into `container`: a loading state first, then `render(value)`, or an error
 * state with a retry. Returns the reload function.
 */
export function loadInto<T>(
  container: Element,
  load: () => Promise<T>,
  render: (value: T) => Child,
  options: { signal?: AbortSignal; label?: string; rows?: number } = {},
): () => Promise<void> {
  const run = async (showLoading: boolean) => {
    if (showLoading) container.replaceChildren(loading(options.label, options.rows));
    try {
      const value = await load();
      if (options.signal?.aborted) return;
      container.replaceChildren();
      const out = render(value);
      if (out instanceof Node) container.append(out);
      else if (Array.isArray(out))
        for (const n of out.flat(3)) if (n instanceof Node) container.append(n);
    } catch (error) {
      if (options.signal?.aborted) return;
      container.replaceChildren(errorState(error, () => void run(true)));
    }
  };
  void run(true);
  return () => run(false);
}
