/**
 * The job queue for deployment operations. A job only wakes a worker up: the desired state lives
 * in the database and the reconciler converges whatever a lost job left behind, so at-least-once
 * delivery is enough and handlers must be idempotent.
 */
export interface JobQueue {
  /**
   * Adds a job and returns its id. With `jobId`, a job with that id that is still pending
   * (waiting, delayed, running or waiting for a retry) makes this call a no-op that returns the
   * same id; once the job has finished, the id can be used again.
   */
  enqueue(name: string, data: JobData, options?: EnqueueOptions): Promise<string>;
  /**
   * Starts running jobs with `handler` (once per queue). A thrown error is retried with exponential
   * backoff and jitter, up to the job's attempts; an error that isTerminal() (src/domain/errors.ts)
   * recognises is not retried.
   */
  process(handler: JobHandler, options?: ProcessOptions): void;
  /** Stops taking jobs and waits for the running ones; safe to call twice. */
  close(): Promise<void>;
}

/** JSON-serialisable job payload. */
export type JobData = Readonly<Record<string, unknown>>;

export interface EnqueueOptions {
  /** Deduplication key: see enqueue(). No ":" and not an integer (a BullMQ rule, kept by both). */
  jobId?: string;
  delayMs?: number;
  /** Total tries, the first included. */
  attempts?: number;
}

export interface Job {
  id: string;
  name: string;
  data: JobData;
  /** 1 on the first try. */
  attempt: number;
}

export type JobHandler = (job: Job) => Promise<void>;

export interface ProcessOptions {
  /** Jobs run at once by this process; default 1. */
  concurrency?: number;
}

export interface QueueSettings {
  /** Default attempts per job. */
  attempts: number;
  /** Delay before the first retry; doubles on each further failure. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  attempts: 5,
  backoffMs: 1_000,
  maxBackoffMs: 60_000,
};

/** Checks enqueue options the same way in both adapters, so that a mistake shows up in tests. */
export function checkEnqueueOptions(name: string, options: EnqueueOptions): void {
  if (name === "") throw new TypeError("job name must not be empty");
  const { jobId, delayMs, attempts } = options;
  if (jobId !== undefined && (jobId === "" || jobId.includes(":") || /^-?\d+$/.test(jobId))) {
    throw new TypeError(`jobId "${jobId}" must be non-empty, without ":", and not an integer`);
  }
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new TypeError("delayMs must be a non-negative number");
  }
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1)) {
    throw new TypeError("attempts must be a positive integer");
  }
}

export function checkConcurrency(concurrency: number): void {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError("concurrency must be a positive integer");
  }
}
