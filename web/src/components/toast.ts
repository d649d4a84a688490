/** Short notices in a corner, read out by screen readers. */

import { errorMessage } from "../api.js";
import { h } from "../dom.js";

let region: HTMLElement | undefined;

export function toast(message: string, kind: "info" | "success" | "error" = "info"): void {
  if (!region) {
    region = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const item = h("div", { class: `toast toast-${kind}` }, message);
  region.append(item);
  setTimeout(
    () => {
      item.classList.add("toast-out");
      setTimeout(() => item.remove(), 200);
    },
    kind === "error" ? 7_000 : 3_500,
  );
}

export const toastError = (error: unknown) => toast(errorMessage(error), "error");
