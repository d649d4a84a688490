/**
 * A log viewer: lines appended in batches (one DOM write per frame), kept to a bound, following the
 * end while the reader is at the end; scrolling up stops following until they come back down.
 */
import { h } from "../dom.js";
import type { LiveState } from "../live.js";

export interface LogLine {
  text: string;
  at?: Date;
  stderr?: boolean;
}

const MAX_LINES = 5_000;

const STATE_LABEL: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  retrying: "Reconnecting…",
  paused: "Paused (tab hidden)",
  unavailable: "Not available",
  ended: "Finished",
};

export interface LogView {
  el: HTMLElement;
  append(lines: LogLine[]): void;
  clear(): void;
  setState(state: LiveState, detail?: string): void;
  setEmptyText(text: string): void;
  readonly count: number;
}

export function logView(options: { label: string; emptyText: string; testid?: string }): LogView {
  const body = h("div", {
    class: "log-body",
    role: "log",
    "aria-label": options.label,
    tabindex: "0",
    "data-testid": options.testid,
  });
  const emptyLine = h("div", { class: "log-empty" }, options.emptyText);
  body.append(emptyLine);
  const stateEl = h(
    "span",
    { class: "log-state", dataset: { state: "connecting" } },
    STATE_LABEL.connecting,
  );
  const countEl = h("span", { class: "log-count" }, "0 lines");
  const follow = h("input", { type: "checkbox", props: { checked: true } });
  const el = h(
    "div",
    { class: "log" },
    h(
      "div",
      { class: "log-toolbar" },
      stateEl,
      countEl,
      h("label", { class: "log-follow" }, follow, "Follow"),
    ),
    body,
  );
  let pending: LogLine[] = [];
  let frame = 0;
  let count = 0;
  const flush = () => {
    frame = 0;
    if (pending.length === 0) return;
    if (count === 0) emptyLine.remove();
    const fragment = document.createDocumentFragment();
    for (const line of pending) {
      const row = h(
        "div",
        { class: line.stderr ? "log-line log-stderr" : "log-line" },
        line.at
          ? h(
              "time",
              { class: "log-time", datetime: line.at.toISOString() },
              line.at.toLocaleTimeString(),
            )
          : null,
        h("span", { class: "log-text" }, line.text),
      );
      fragment.append(row);
    }
    count += pending.length;
    pending = [];
    body.append(fragment);
    while (body.childElementCount > MAX_LINES) body.firstElementChild?.remove();
    countEl.textContent = `${count.toLocaleString()} line${count === 1 ? "" : "s"}`;
    if (follow.checked) body.scrollTop = body.scrollHeight;
  };
  body.addEventListener("scroll", () => {
    const atEnd = body.scrollHeight - body.scrollTop - body.clientHeight < 24;
    if (follow.checked !== atEnd) follow.checked = atEnd;
  });
  follow.addEventListener("change", () => {
    if (follow.checked) body.scrollTop = body.scrollHeight;
  });
  return {
    el,
    append(lines) {
      if (lines.length === 0) return;
      pending.push(...lines);
      if (!frame) frame = requestAnimationFrame(flush);
    },
    clear() {
      pending = [];
      count = 0;
      body.replaceChildren(emptyLine);
      countEl.textContent = "0 lines";
    },
    setState(state, detail) {
      stateEl.dataset.state = state;
      stateEl.textContent = detail ? `${STATE_LABEL[state]} — ${detail}` : STATE_LABEL[state];
    },
    setEmptyText(text) {
      emptyLine.textContent = text;
    },
    get count() {
      return count + pending.length;
    },
  };
}
