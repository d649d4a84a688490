import { Cluster, type Redis } from "ioredis";
import type { Logger } from "pino";
import { type Bus, deliver, type MessageHandler } from "../bus.js";
import { toJson } from "../json.js";
import { closeRedis, type RedisClient } from "./connection.js";

interface Channel {
  subscriptions: Set<{ handler: MessageHandler }>;
  /** The SUBSCRIBE in flight: a second subscriber waits for it too. */
  ready: Promise<unknown>;
}

/**
 * Pub/sub across replicas. A connection in subscriber mode can do nothing else, so each Bus has
 * one dedicated subscriber connection, SUBSCRIBEd once per channel however many local handlers
 * listen, and fans messages out to them. ioredis resubscribes by itself after a reconnection
 * (messages published while disconnected are lost: pub/sub is at most once).
 */
export class RedisBus implements Bus {
  private readonly channels = new Map<string, Channel>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly keyPrefix: string,
    private readonly logger?: Logger,
  ) {
    subscriber.on("message", (redisChannel: string, text: string) =>
      this.fanOut(redisChannel, text),
    );
  }

  async publish(channel: string, message: unknown): Promise<void> {
    const name = this.redisChannel(channel);
    const text = toJson(message);
    if (this.publisher instanceof Cluster) {
      // A cluster relays a PUBLISH from the node that got it to every other node; ioredis sends
      // each to a random node, so two messages could overtake each other. Through one node (the
      // same for every process: the first master by address) they keep their order.
      const node = firstMaster(this.publisher);
      if (node) {
        try {
          await node.publish(name, text);
          return;
        } catch (error) {
          this.logger?.warn({ err: error }, "publishing through the first master failed");
        }
      }
    }
    await this.publisher.publish(name, text);
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    if (this.closing) throw new Error("bus is closed");
    const name = this.redisChannel(channel);
    const subscription = { handler };
    let entry = this.channels.get(name);
    if (entry === undefined) {
      // Commands on one connection run in order, so a SUBSCRIBE sent after the UNSUBSCRIBE of an
      // earlier last handler leaves the channel subscribed.
      const subscriber = this.subscriber;
      entry = {
        subscriptions: new Set(),
        ready: handshakeDone(subscriber).then(() => subscriber.subscribe(name)),
      };
      this.channels.set(name, entry);
    }
    entry.subscriptions.add(subscription);
    try {
      await entry.ready;
    } catch (error) {
      await this.remove(name, subscription);
      throw error;
    }
    return () => this.remove(name, subscription);
  }

  /** Closes the subscriber connection; the publisher is the shared client, closed by its owner. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.channels.clear();
      await closeRedis(this.subscriber);
    })();
    return this.closing;
  }

  private async remove(name: string, subscription: { handler: MessageHandler }): Promise<void> {
    const entry = this.channels.get(name);
    if (entry === undefined || !entry.subscriptions.delete(subscription)) return;
    if (entry.subscriptions.size > 0) return;
    this.channels.delete(name);
    if (this.closing) return;
    // After the handshake too, and after a SUBSCRIBE that waits for it (listeners run in order).
    await handshakeDone(this.subscriber);
    await this.subscriber.unsubscribe(name);
  }

  private fanOut(name: string, text: string): void {
    const entry = this.channels.get(name);
    if (entry === undefined) return;
    const channel = name.slice(this.keyPrefix.length + "bus:".length);
    for (const { handler } of entry.subscriptions) deliver(handler, text, channel, this.logger);
  }

  private redisChannel(channel: string): string {
    return `${this.keyPrefix}bus:${channel}`;
  }
}

/**
 * Resolves once a connection is past its handshake. ioredis writes a SUBSCRIBE at once on a
 * connection that is up but not yet ready (status "connect": Redis allows SUBSCRIBE while it
 * loads, and ioredis lets such commands through), ahead of the INFO of its ready check, which
 * Redis then refuses in subscriber mode; the connection is dropped and, never having been ready,
 * comes back without the subscription, while the SUBSCRIBE itself had succeeded: the handler
 * would hear nothing, and nothing would say so. Outside that window a command either goes out on
 * a ready connection or waits in ioredis's offline queue, which it sends after the ready check.
 */
function handshakeDone(client: RedisClient): Promise<void> {
  if (client instanceof Cluster || client.status !== "connect") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      client.off("ready", done);
      client.off("close", done);
      resolve();
    };
    client.once("ready", done);
    client.once("close", done);
  });
}

/** The cluster's master with the lowest "host:port", or undefined before the slots are known. */
function firstMaster(cluster: Cluster): Redis | undefined {
  const address = (node: Redis) => `${node.options.host ?? ""}:${node.options.port ?? 0}`;
  return cluster.nodes("master").sort((a, b) => address(a).localeCompare(address(b)))[0];
}
