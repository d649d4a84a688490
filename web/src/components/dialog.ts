/** Modal dialogs on the native <dialog>: focus kept inside, Escape closes. */
import { type Child, h } from "../dom.js";
import { formError } from "./states.js";

export interface ConfirmOptions {
  title: string;
  body?: Child;
  confirmLabel: string;
  danger?: boolean;
  /** The user must type this to confirm (deleting something by its name). */
  typeToConfirm?: string;
  /** Runs on confirm; the dialog stays open with the error if it throws. */
  action?: () => Promise<unknown>;
}

/** Resolves true once confirmed (and the action, if any, succeeded), false when cancelled. */
export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const error = formError();
    const typed = options.typeToConfirm
      ? h("input", {
          class: "input",
          type: "text",
          autocomplete: "off",
          spellcheck: "false",
          "aria-label": `Type ${options.typeToConfirm} to confirm`,
          oninput: () => {
            confirm.disabled = typed?.value !== options.typeToConfirm;
          },
        })
      : null;
    const confirm = h(
      "button",
      {
        class: `btn ${options.danger ? "btn-danger" : "btn-primary"}`,
        type: "submit",
        disabled: typed !== null,
      },
      options.confirmLabel,
    );
    const cancel = h(
      "button",
      { class: "btn", type: "button", onclick: () => close(false) },
      "Cancel",
    );
    const form = h(
      "form",
      { method: "dialog", class: "dialog-body" },
      h("h2", { class: "dialog-title" }, options.title),
      options.body ? h("div", { class: "dialog-text" }, options.body) : null,
      options.typeToConfirm
        ? h(
            "label",
            { class: "field" },
            h(
              "span",
              { class: "field-label" },
              "Type ",
              h("code", null, options.typeToConfirm),
              " to confirm",
            ),
            typed,
          )
        : null,
      error.el,
      h("div", { class: "dialog-actions" }, cancel, confirm),
    );
    const dialog = h("dialog", { class: "dialog", "aria-label": options.title }, form);
    let done = false;
    const close = (value: boolean) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!options.action) return close(true);
      error.clear();
      confirm.disabled = true;
      confirm.classList.add("is-busy");
      try {
        await options.action();
        close(true);
      } catch (e) {
        error.show(e);
        confirm.disabled = false;
        confirm.classList.remove("is-busy");
      }
    });
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    (typed ?? confirm).focus();
  });
}

/** A dialog around a form: `submit` gets the form; it closes when `submit` succeeds. */
export function formDialog(options: {
  title: string;
  fields: Child;
  submitLabel: string;
  submit: (form: HTMLFormElement) => Promise<unknown>;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const error = formError();
    const submit = h("button", { class: "btn btn-primary", type: "submit" }, options.submitLabel);
    const form = h(
      "form",
      { class: "dialog-body" },
      h("h2", { class: "dialog-title" }, options.title),
      options.fields,
      error.el,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { class: "btn", type: "button", onclick: () => close(false) }, "Cancel"),
        submit,
      ),
    );
    const dialog = h("dialog", { class: "dialog", "aria-label": options.title }, form);
    let done = false;
    const close = (value: boolean) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.clear();
      submit.disabled = true;
      submit.classList.add("is-busy");
      try {
        await options.submit(form);
        close(true);
      } catch (e) {
        error.show(e);
        submit.disabled = false;
        submit.classList.remove("is-busy");
      }
    });
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    form.querySelector<HTMLElement>("input, select, textarea")?.focus();
  });
}
