/** Buttons and form fields. */
import { type Child, h, type Props } from "../dom.js";
import { toastError } from "./toast.js";

let fieldIds = 0;

/** A label, its control and a hint; the hint describes the control without being its name. */
export function field(label: string, control: HTMLElement, hint?: Child): HTMLElement {
  const id = control.id || `field-${++fieldIds}`;
  control.id = id;
  const hintEl = hint ? h("span", { class: "field-hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h(
    "div",
    { class: "field" },
    h("label", { class: "field-label", for: id }, label),
    control,
    hintEl,
  );
}

export function input(props: Props): HTMLInputElement {
  return h("input", { class: "input", type: "text", ...props });
}

export function select(
  props: Props,
  options: Array<{ value: string; label: string; selected?: boolean }>,
): HTMLSelectElement {
  return h(
    "select",
    { class: "input select", ...props },
    options.map((o) => h("option", { value: o.value, selected: o.selected === true }, o.label)),
  );
}

export type ButtonKind = "primary" | "danger" | "ghost" | "default";

export function button(
  label: Child,
  onclick: (event: MouseEvent) => unknown,
  options: {
    kind?: ButtonKind;
    title?: string;
    disabled?: boolean;
    small?: boolean;
    testid?: string;
  } = {},
): HTMLButtonElement {
  const kind = options.kind ?? "default";
  return h(
    "button",
    {
      type: "button",
      class: `btn${kind === "default" ? "" : ` btn-${kind}`}${options.small ? " btn-sm" : ""}`,
      title: options.title,
      disabled: options.disabled,
      "data-testid": options.testid,
      onclick,
    },
    label,
  );
}

/** Runs `action` with the button showing it is busy; errors become a toast. */
export async function busy(
  button: HTMLButtonElement,
  action: () => Promise<unknown>,
): Promise<boolean> {
  if (button.disabled) return false;
  button.disabled = true;
  button.classList.add("is-busy");
  button.setAttribute("aria-busy", "true");
  try {
    await action();
    return true;
  } catch (error) {
    toastError(error);
    return false;
  } finally {
    button.disabled = false;
    button.classList.remove("is-busy");
    button.removeAttribute("aria-busy");
  }
}

export const formValue = (form: HTMLFormElement, name: string) => {
  const value = new FormData(form).get(name);
  return typeof value === "string" ? value.trim() : "";
};

/** A page's header: title, description and actions. */
export function pageHeader(title: string, description?: Child, ...actions: Child[]): HTMLElement {
  return h(
    "header",
    { class: "page-header" },
    h(
      "div",
      null,
      h("h1", { class: "page-title", tabindex: "-1" }, title),
      description ? h("p", { class: "page-description" }, description) : null,
    ),
    actions.length ? h("div", { class: "page-actions" }, ...actions) : null,
  );
}

export function card(title: Child, body: Child, actions?: Child): HTMLElement {
  return h(
    "section",
    { class: "card" },
    title || actions
      ? h(
          "div",
          { class: "card-header" },
          h("h2", { class: "card-title" }, title),
          actions ? h("div", { class: "card-actions" }, actions) : null,
        )
      : null,
    h("div", { class: "card-body" }, body),
  );
}

/** One term and its value of a `.meta-grid` list. */
export function metaItem(label: string, value: Child): HTMLElement {
  return h("div", { class: "meta-item" }, h("dt", null, label), h("dd", null, value));
}
