import type { Logger } from "pino";
import { fromJson } from "./json.js";

/**
 * Publish/subscribe between API replicas (deployment status changes, build log lines): at most
 * once, no history. A subscriber that was not listening when a message went out never sees it, so
 * a watcher reads the current state after subscribing (see subscribeIterable).
 */
export interface Bus {
  /** Messages are JSON-serialised; each handler gets its own copy. */
  publish(channel: string, message: unknown): Promise<void>;
  /**
   * Resolves once the subscription is active: a message published after that is delivered.
   * Handler errors (thrown or rejected) are logged and do not affect other handlers.
   * Returns the function that unsubscribes (safe to call twice).
   */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
}

export type MessageHandler = (message: unknown) => void | Promise<void>;

/** Runs one handler on its own copy of the message; its failure is logged, never propagated. */
export function deliver(
  handler: MessageHandler,
  text: string,
  channel: string,
  logger: Logger | undefined,
): void {
  Promise.resolve()
    .then(() => handler(fromJson(text)))
    .catch((error: unknown) => logger?.error({ err: error, channel }, "bus handler failed"));
}
