import type { Job as BullJob, Queue, Worker } from "bullmq";
import type { Logger } from "pino";
import { isTerminal } from "../../domain/index.js";
import { backoffDelay } from "../backoff.js";
import {
  checkConcurrency,
  checkEnqueueOptions,
  DEFAULT_QUEUE_SETTINGS,
  type EnqueueOptions,
  type JobData,
  type JobHandler,
  type JobQueue,
  type ProcessOptions,
  type QueueSettings,
} from "../queue.js";
import type { RedisClient } from "./connection.js";

export interface RedisJobQueueOptions {
  /** A connection with maxRetriesPerRequest: null (BullMQ's requirement); the Worker duplicates it. */
  connection: RedisClient;
  /** The queue's name; no ":". */
  name: string;
  /**
   * BullMQ's key prefix. It must contain a `{hash tag}` on Redis Cluster, so that all the keys of
   * a queue, which its Lua scripts touch together, live in one slot.
   */
  prefix: string;
  settings?: Partial<QueueSettings>;
  logger?: Logger;
  /**
   * Acknowledge an enqueue only once every replica the master counts as online has the job, and
   * at least `replicas` of them (Redis WAIT, within timeoutMs); otherwise enqueue fails. The
   * Sentinels choose the replica they promote by offsets they last read, up to seconds old, so a
   * job that only one of two replicas had could be lost with the master; had by all, it is on
   * whichever is promoted. A replica still taking its first copy gets the job in that copy.
   */
  replicaWait?: { replicas: number; timeoutMs: number };
}

/** Our backoff (exponential, equal jitter) in place of BullMQ's, so both adapters wait alike. */
const BACKOFF_TYPE = "obiente";

/**
 * BullMQ is loaded at a queue's first enqueue or process(), not with the adapter: a process with
 * the api role alone enqueues only when asked to deploy, and at rest it does not hold BullMQ's
 * code, its ~40 Lua scripts and the libraries it brings (luxon, cron-parser, msgpackr), some
 * 4 MB of heap (docs/benchmarks.md, "Footprint"). The first enqueue pays for loading it.
 */
const loadBullMQ = async (): Promise<typeof import("bullmq")> => {
  const loaded = await import("bullmq");
  // BullMQ is CommonJS. Node.js gives its exports both as named exports and as the namespace's
  // default; the compiled bundle's chunk gives only the default, tsx's loader only the named ones.
  return typeof loaded.Queue === "function" ? loaded : loaded.default;
};

/** The job queue on BullMQ: jobs survive restarts and are shared by every controller. */
export class RedisJobQueue implements JobQueue {
  private readonly settings: QueueSettings;
  /** BullMQ's Queue, made at the first enqueue (see loadBullMQ). */
  private queue: Promise<Queue> | undefined;
  private worker: Promise<Worker> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: RedisJobQueueOptions) {
    this.settings = { ...DEFAULT_QUEUE_SETTINGS, ...options.settings };
  }

  private opened(): Promise<Queue> {
    this.queue ??= loadBullMQ().then(({ Queue }) => {
      const { connection, name, prefix, logger } = this.options;
      const queue = new Queue(name, { connection, prefix });
      queue.on("error", (error) => logger?.warn({ err: error }, "job queue error"));
      return queue;
    });
    return this.queue;
  }

  async enqueue(name: string, data: JobData, options: EnqueueOptions = {}): Promise<string> {
    if (this.closing) throw new Error("job queue is closed");
    checkEnqueueOptions(name, options);
    const queue = await this.opened();
    const job = await queue.add(name, data, {
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      delay: options.delayMs ?? 0,
      attempts: options.attempts ?? this.settings.attempts,
      backoff: { type: BACKOFF_TYPE },
      // A finished job leaves nothing behind, so its jobId can be enqueued again (dedupe only
      // while pending) and Redis does not fill up; the outcome is recorded in the database.
      removeOnComplete: true,
      removeOnFail: true,
    });
    if (job.id === undefined) throw new Error("BullMQ returned a job without an id");
    const wait = this.options.replicaWait;
    if (wait) {
      // WAIT covers every write this connection sent before it: BullMQ's Queue adds jobs
      // through the connection it was given, so the job's writes are among them. INFO goes to
      // the same master, after the job.
      const connection = this.options.connection;
      const online = onlineReplicas(await connection.info("replication"));
      const acknowledged = await connection.wait(Math.max(wait.replicas, online), wait.timeoutMs);
      // Fewer than every online replica within the timeout (one lost a moment ago, not yet
      // counted out) still acknowledges the job, with the replicas there are: a replica's loss
      // must not stop enqueues.
      if (acknowledged < wait.replicas) {
        throw new Error(
          `job ${job.id} reached ${acknowledged} of ${wait.replicas} Redis replicas within ${wait.timeoutMs} ms: not acknowledged`,
        );
      }
    }
    return job.id;
  }

  process(handler: JobHandler, options: ProcessOptions = {}): void {
    if (this.worker) throw new Error("process() was already called on this queue");
    if (this.closing) throw new Error("job queue is closed");
    const concurrency = options.concurrency ?? 1;
    checkConcurrency(concurrency);
    const { connection, name, prefix, logger } = this.options;
    const { backoffMs, maxBackoffMs } = this.settings;
    this.worker = loadBullMQ().then(({ Worker, UnrecoverableError }) => {
      const worker = new Worker(
        name,
        (job: BullJob) => this.run(handler, job, UnrecoverableError),
        {
          connection,
          prefix,
          concurrency,
          settings: {
            backoffStrategy: (attemptsMade: number) =>
              backoffDelay(attemptsMade, backoffMs, maxBackoffMs),
          },
        },
      );
      worker.on("error", (error) => logger?.warn({ err: error }, "job worker error"));
      worker.on("failed", (job, error) =>
        logger?.warn(
          { err: error, jobId: job?.id, job: job?.name, attempt: job?.attemptsMade },
          "job failed",
        ),
      );
      return worker;
    });
    // Loading BullMQ fails only with a broken installation: said once here, and again by close().
    this.worker.catch((error: unknown) =>
      logger?.error({ err: error }, "job worker could not start"),
    );
  }

  /** Closes the worker first (it waits for the running jobs), then the queue; safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await (await this.worker)?.close();
      await (await this.queue)?.close();
    })();
    return this.closing;
  }

  private async run(
    handler: JobHandler,
    job: BullJob,
    UnrecoverableError: new (message: string) => Error,
  ): Promise<void> {
    try {
      await handler({
        id: job.id ?? "",
        name: job.name,
        data: job.data as JobData,
        // attemptsMade counts the tries that have finished, so this one is the next.
        attempt: job.attemptsMade + 1,
      });
    } catch (error) {
      if (!isTerminal(error)) throw error;
      // BullMQ's "do not retry"; the original error keeps its kind and message.
      const unrecoverable = new UnrecoverableError(
        error instanceof Error ? error.message : String(error),
      );
      unrecoverable.cause = error;
      throw unrecoverable;
    }
  }
}

/**
 * How many replicas a master's `INFO replication` lists as online (done with their copy) and
 * heard from lately: a replica acknowledges every second, so one silent for longer than
 * `maxLagSeconds` is taken for lost (the master itself counts it out only after `repl-timeout`,
 * 60 s), and waiting for it would only hold every enqueue for the whole timeout.
 */
export function onlineReplicas(info: string, maxLagSeconds = 2): number {
  let count = 0;
  for (const line of info.match(/^slave\d+:.*$/gm) ?? []) {
    const lag = Number(/\blag=(\d+)/.exec(line)?.[1] ?? Number.POSITIVE_INFINITY);
    if (/\bstate=online\b/.test(line) && lag <= maxLagSeconds) count++;
  }
  return count;
}
