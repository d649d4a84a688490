import type { Logger } from "pino";
import { type Bus, deliver, type MessageHandler } from "../bus.js";
import { toJson } from "../json.js";

/**
 * The in-process bus, for the embedded mode (one process). Delivery is asynchronous, as through
 * Redis, so that code tested on one adapter does not come to rely on a synchronous publish.
 */
export class MemoryBus implements Bus {
  private readonly channels = new Map<string, Set<{ handler: MessageHandler }>>();

  constructor(private readonly logger?: Logger) {}

  async publish(channel: string, message: unknown): Promise<void> {
    const text = toJson(message);
    const subscriptions = this.channels.get(channel);
    if (subscriptions === undefined) return;
    // A snapshot: a handler that unsubscribes another must not change this delivery.
    for (const subscription of [...subscriptions]) {
      setImmediate(() => deliver(subscription.handler, text, channel, this.logger));
    }
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    // One object per subscription: the same function subscribed twice is two subscriptions.
    const subscription = { handler };
    let subscriptions = this.channels.get(channel);
    if (subscriptions === undefined) {
      subscriptions = new Set();
      this.channels.set(channel, subscriptions);
    }
    subscriptions.add(subscription);
    return async () => {
      const current = this.channels.get(channel);
      current?.delete(subscription);
      if (current?.size === 0) this.channels.delete(channel);
    };
  }
}
