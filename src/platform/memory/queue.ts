import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { isTerminal } from "../../domain/index.js";
import { backoffDelay } from "../backoff.js";
import { fromJson, toJson } from "../json.js";
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

interface PendingJob {
  id: string;
  name: string;
  /** JSON, so that a handler gets a copy, as from Redis. */
  data: string;
  attempts: number;
  attemptsMade: number;
}

/**
 * The in-process queue, for the embedded mode: the same semantics as the BullMQ adapter (retries
 * with backoff, terminal errors, dedupe by jobId while pending, concurrency), but jobs live in
 * memory and are lost with the process. That is acceptable because a job only wakes the worker up:
 * the reconciler finds the desired state in the database after a restart.
 */
export class MemoryJobQueue implements JobQueue {
  private readonly settings: QueueSettings;
  /** Every job not yet finished: waiting, delayed, running, or waiting for a retry. */
  private readonly pending = new Map<string, PendingJob>();
  private readonly ready: PendingJob[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private handler: JobHandler | undefined;
  private concurrency = 1;
  private closing: Promise<void> | undefined;

  constructor(
    settings: Partial<QueueSettings> = {},
    private readonly logger?: Logger,
  ) {
    this.settings = { ...DEFAULT_QUEUE_SETTINGS, ...settings };
  }

  async enqueue(name: string, data: JobData, options: EnqueueOptions = {}): Promise<string> {
    if (this.closing) throw new Error("job queue is closed");
    checkEnqueueOptions(name, options);
    const id = options.jobId ?? randomUUID();
    if (this.pending.has(id)) return id;
    const job: PendingJob = {
      id,
      name,
      data: toJson(data),
      attempts: options.attempts ?? this.settings.attempts,
      attemptsMade: 0,
    };
    this.pending.set(id, job);
    this.schedule(job, options.delayMs ?? 0);
    return id;
  }

  process(handler: JobHandler, options: ProcessOptions = {}): void {
    if (this.handler) throw new Error("process() was already called on this queue");
    if (this.closing) throw new Error("job queue is closed");
    const concurrency = options.concurrency ?? 1;
    checkConcurrency(concurrency);
    this.handler = handler;
    this.concurrency = concurrency;
    this.pump();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      this.ready.length = 0;
      await Promise.all(this.running);
      this.pending.clear();
    })();
    return this.closing;
  }

  private schedule(job: PendingJob, delayMs: number): void {
    if (delayMs <= 0) {
      this.ready.push(job);
      this.pump();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ready.push(job);
      this.pump();
    }, delayMs);
    this.timers.add(timer);
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler || this.closing) return;
    while (this.running.size < this.concurrency) {
      const job = this.ready.shift();
      if (job === undefined) return;
      const run: Promise<void> = this.run(handler, job).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(handler: JobHandler, job: PendingJob): Promise<void> {
    job.attemptsMade++;
    try {
      await handler({
        id: job.id,
        name: job.name,
        data: fromJson(job.data),
        attempt: job.attemptsMade,
      });
      this.pending.delete(job.id);
    } catch (error) {
      const log = { err: error, jobId: job.id, job: job.name, attempt: job.attemptsMade };
      if (isTerminal(error) || job.attemptsMade >= job.attempts || this.closing) {
        this.pending.delete(job.id);
        this.logger?.error(log, "job failed");
        return;
      }
      const { backoffMs, maxBackoffMs } = this.settings;
      const delayMs = backoffDelay(job.attemptsMade, backoffMs, maxBackoffMs);
      this.logger?.warn({ ...log, retryInMs: delayMs }, "job failed; will retry");
      this.schedule(job, delayMs);
    }
  }
}
