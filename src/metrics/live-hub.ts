/**
 * The live side of the metrics, in every process that serves the API: the agents' batches
 * arrive over the bus (Redis pub/sub across the cluster, the in-process bus in the embedded
 * mode), go into the live cache, and each deployment they touch gets its new sample fanned out to
 * its subscribers. The bus is at most once: a lost batch is a gap in the live view, never an
 * error; the history comes from the database.
 */
import type { Logger } from "pino";
import type { Bus } from "../platform/index.js";
import { FanOut, type FanOutStats, type Subscription } from "./fan-out.js";
import { LiveCache, type LiveCacheStats } from "./live-cache.js";
import type { ContainerSample, NodeSample, SampleBatch } from "./samples.js";

/** The bus channel of the agents' batches. */
export const SAMPLES_CHANNEL = "metrics.samples";

export interface LiveHubOptions {
  /** Without a bus, batches come only through `ingest` (tests, benchmarks). */
  bus?: Bus;
  windowMs: number;
  maxContainers: number;
  subscriberQueue: number;
  subscriberMaxLag: number;
  maxSubscribers: number;
  logger?: Logger;
  now?: () => number;
}

export interface LiveHubStats {
  batches: number;
  /** Bus messages that were not a batch. */
  invalid: number;
  cache: LiveCacheStats;
  subscribers: FanOutStats;
  /** Whether the bus subscription is active (always true without a bus). */
  listening: boolean;
  lastBatchAt: Date | undefined;
}

export class LiveHub {
  readonly cache: LiveCache;
  private readonly fanOut: FanOut;
  private unsubscribe: (() => Promise<void>) | undefined;
  private batches = 0;
  private invalid = 0;
  private lastBatchAt: number | undefined;
  private closing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LiveHubOptions) {
    this.now = options.now ?? Date.now;
    this.cache = new LiveCache({
      windowMs: options.windowMs,
      maxContainers: options.maxContainers,
      now: this.now,
    });
    this.fanOut = new FanOut({
      queueSize: options.subscriberQueue,
      maxLag: options.subscriberMaxLag,
      maxSubscribers: options.maxSubscribers,
    });
  }

  /** Listens to the agents' batches; resolves once the subscription is active. */
  async start(): Promise<void> {
    if (!this.options.bus || this.unsubscribe || this.closing) return;
    this.unsubscribe = await this.options.bus.subscribe(SAMPLES_CHANNEL, (message) => {
      const batch = parseBatch(message);
      if (batch) this.ingest(batch);
      else this.invalid++;
    });
  }

  /** Publishes a batch for every hub listening (this process's included). */
  static publish(bus: Bus, batch: SampleBatch): Promise<void> {
    return bus.publish(SAMPLES_CHANNEL, batch);
  }

  ingest(batch: SampleBatch): void {
    if (this.closing) return;
    this.batches++;
    this.lastBatchAt = this.now();
    for (const deploymentId of this.cache.ingest(batch)) {
      this.fanOut.publish(deploymentId, this.cache.slot(deploymentId, batch.at));
    }
  }

  /**
   * The deployment's samples from now on, the latest known first. Active at once, before the
   * first read; ends when `signal` aborts; fails with resource_exhausted if the reader falls
   * too far behind (see FanOut).
   */
  watch(deploymentId: string, signal?: AbortSignal): Subscription {
    const subscription = this.fanOut.subscribe(deploymentId, signal);
    const latest = this.cache.latest(deploymentId);
    if (latest) subscription.push(latest);
    return subscription;
  }

  stats(): LiveHubStats {
    return {
      batches: this.batches,
      invalid: this.invalid,
      cache: this.cache.stats(),
      subscribers: this.fanOut.stats(),
      listening: !this.options.bus || this.unsubscribe !== undefined,
      lastBatchAt: this.lastBatchAt === undefined ? undefined : new Date(this.lastBatchAt),
    };
  }

  /** Ends every stream and stops listening. Safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.fanOut.close();
      const unsubscribe = this.unsubscribe;
      this.unsubscribe = undefined;
      await unsubscribe?.();
    })();
    return this.closing;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

const SAMPLE_NUMBERS = [
  "at",
  "cpuPercent",
  "memoryUsedBytes",
  "memoryLimitBytes",
  "networkRxBytes",
  "networkTxBytes",
  "blockReadBytes",
  "blockWriteBytes",
  "pids",
] as const;
const NODE_NUMBERS = [
  "at",
  "cpuPercent",
  "memoryUsedBytes",
  "memoryTotalBytes",
  "diskPercent",
  "networkRxBytes",
  "networkTxBytes",
] as const;

/** A bus message as a batch, or undefined when it is not one. */
export function parseBatch(message: unknown): SampleBatch | undefined {
  if (!isObject(message)) return undefined;
  const { nodeId, at, intervalMs, samples, node } = message;
  if (typeof nodeId !== "string" || !isNumber(at) || !isNumber(intervalMs)) return undefined;
  if (!Array.isArray(samples)) return undefined;
  for (const s of samples) {
    if (!isObject(s)) return undefined;
    if (typeof s.containerId !== "string" || typeof s.deploymentId !== "string") return undefined;
    if (typeof s.projectId !== "string") return undefined;
    if (!SAMPLE_NUMBERS.every((key) => isNumber(s[key]))) return undefined;
  }
  if (node !== undefined) {
    if (!isObject(node) || typeof node.nodeId !== "string") return undefined;
    if (!NODE_NUMBERS.every((key) => isNumber(node[key]))) return undefined;
    if (node.deploymentCount !== undefined && !isNumber(node.deploymentCount)) return undefined;
  }
  return {
    nodeId,
    at,
    intervalMs,
    samples: samples as ContainerSample[],
    ...(node === undefined ? {} : { node: node as unknown as NodeSample }),
  };
}
