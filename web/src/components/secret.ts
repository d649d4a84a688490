/** Secrets and addresses to copy: a copy button, and a value the API gives once. */
import { h } from "../dom.js";
import { button } from "./form.js";
import { toast } from "./toast.js";

/**
 * Copies `text`; where the clipboard is refused (an insecure origin, a denied permission),
 * selects `fallback` so that the keyboard can copy it.
 */
export function copyButton(
  text: string,
  what: string,
  options: { fallback?: HTMLInputElement | HTMLTextAreaElement; testid?: string } = {},
): HTMLButtonElement {
  return button(
    "Copy",
    () =>
      navigator.clipboard.writeText(text).then(
        () => toast(`${what} copied`, "success"),
        () => {
          options.fallback?.select();
          toast("The browser refused to copy: select the text and copy it with your keyboard");
        },
      ),
    { small: true, ...(options.testid ? { testid: options.testid } : {}) },
  );
}

/** A read-only one-line field showing `value`, with a copy button. */
export function copyField(
  value: string,
  what: string,
  options: { testid?: string; label?: string } = {},
): HTMLElement {
  const field = h("input", {
    class: "input mono copy-value",
    readonly: true,
    spellcheck: "false",
    "aria-label": options.label ?? what,
    "data-testid": options.testid,
    props: { value },
  });
  return h("div", { class: "copy-field" }, field, copyButton(value, what, { fallback: field }));
}

/**
 * A value the API shows this once (a token, a secret, a secret URL), named in a sentence by
 * `what` ("webhook secret"): kept in this page's memory only, so that reloading the page no
 * longer shows it.
 */
export function shownOnce(
  what: string,
  value: string,
  options: { testid?: string; note?: string } = {},
): HTMLElement {
  const title = what.charAt(0).toUpperCase() + what.slice(1);
  return h(
    "div",
    { class: "secret secret-once", role: "status" },
    h(
      "p",
      null,
      h("strong", null, `Copy the ${what} now: `),
      "it will not be shown again.",
      options.note ? ` ${options.note}` : null,
    ),
    copyField(value, title, options.testid ? { testid: options.testid } : {}),
  );
}
