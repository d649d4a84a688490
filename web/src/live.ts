/**
 * Keeping a page live: polls and server streams that run while the page is shown and the tab is
 * visible, pause when the tab is hidden (a browser keeps six HTTP/1.1 connections per origin,
 * shared by every tab, and each open stream holds one), and reconnect with backoff after errors.
 */
import { checkAuth, isAbort, isUnimplemented } from "./api.js";

export type LiveState = "connecting" | "live" | "retrying" | "paused" | "unavailable" | "ended";

export interface LiveOptions {
  /** Told of every state change. */
  onState?: (state: LiveState, error?: unknown) => void;
  /** Starting backoff after a failure; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Runs `run(signal)` (which consumes a stream) until `signal` aborts. When the stream ends or
 * fails, runs it again after a backoff, unless `run` returned "done" or the server answered
 * Unimplemented (the state goes "unavailable").
 */
export function stream(
  signal: AbortSignal,
  run: (signal: AbortSignal, live: () => void) => Promise<"done" | undefined>,
  options: LiveOptions = {},
): void {
  const { onState, backoffMs = 1_000, maxBackoffMs = 15_000 } = options;
  let backoff = backoffMs;
  let current: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const start = async () => {
    if (stopped || signal.aborted) return;
    if (document.hidden) {
      onState?.("paused");
      return;
    }
    current = new AbortController();
    const mine = current;
    onState?.("connecting");
    let gotData = false;
    try {
      const result = await run(mine.signal, () => {
        if (!gotData) {
          gotData = true;
          backoff = backoffMs;
          onState?.("live");
        }
      });
      if (mine.signal.aborted) return;
      if (result === "done") {
        stopped = true;
        onState?.("ended");
        return;
      }
      // The server ended the stream: open it again, soon if it gave something, later and later
      // if it keeps ending empty (nothing to follow yet).
      onState?.("retrying");
      schedule(gotData ? backoffMs : backoff);
      if (!gotData) backoff = Math.min(backoff * 2, maxBackoffMs);
    } catch (error) {
      if (mine.signal.aborted || isAbort(error)) return;
      checkAuth(error);
      if (isUnimplemented(error)) {
        stopped = true;
        onState?.("unavailable", error);
        return;
      }
      onState?.("retrying", error);
      schedule(backoff);
      backoff = Math.min(backoff * 2, maxBackoffMs);
    }
  };
  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(start, ms);
  };
  const onVisibility = () => {
    if (document.hidden) {
      clearTimeout(timer);
      current?.abort();
      current = undefined;
      if (!stopped) onState?.("paused");
    } else if (!current && !stopped) {
      schedule(0);
    }
  };
  document.addEventListener("visibilitychange", onVisibility);
  signal.addEventListener("abort", () => {
    stopped = true;
    clearTimeout(timer);
    current?.abort();
    document.removeEventListener("visibilitychange", onVisibility);
  });
  void start();
}

/**
 * Calls `tick(signal)` now and then every `interval()` ms while `signal` is not aborted and the
 * tab is visible (at once when it becomes visible again). Errors are the tick's to show; the
 * polling goes on. Returns a function that polls at once.
 */
export function poll(
  signal: AbortSignal,
  tick: (signal: AbortSignal) => Promise<void>,
  interval: () => number,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const run = async () => {
    clearTimeout(timer);
    if (signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    if (document.hidden) return;
    running = true;
    try {
      await tick(signal);
    } catch (error) {
      checkAuth(error);
    } finally {
      running = false;
    }
    if (signal.aborted) return;
    if (again) {
      again = false;
      void run();
      return;
    }
    timer = setTimeout(run, interval());
  };
  const onVisibility = () => {
    if (!document.hidden) void run();
    else clearTimeout(timer);
  };
  document.addEventListener("visibilitychange", onVisibility);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  });
  void run();
  return () => void run();
}
