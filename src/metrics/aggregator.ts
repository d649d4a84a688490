/**
 * The agent's aggregation loop (docs/architecture.md, "Metrics"): samples are summed into bucket rows as they
 * arrive; every cycle (60 s by default) the buckets that are over go to the write buffer, and the
 * buffer is written to the metrics database, oldest rows first, in batches of at most
 * maxRowsPerWrite rows (one transaction each, the first usually holding everything). A write
 * that fails leaves its rows in the buffer for the next cycle; the buffer keeps the newest
 * bufferMaxRows rows, so an outage of the database costs its oldest rows and never unbounded
 * memory. Rows the database refuses for what they are (a data or constraint error) would be
 * refused forever: they are dropped and counted rather than block the rows behind them.
 *
 * Upkeep (daily partitions ahead, retention) runs at start and then hourly.
 *
 * The database work of a cycle is bounded in time (writeTimeoutMs) and never overlaps the work
 * of an earlier cycle: a database that accepts connections and never answers (postgres.js keeps
 * such queries waiting until the server is back) shows as failed writes, while the buffer, not a
 * queue of pending writes, holds the rows.
 */
import type { Logger } from "pino";
import { BucketAccumulator } from "./bucket-accumulator.js";
import { messageOf } from "./collector.js";
import { within } from "./deadline.js";
import { type MetricsStore, type StorageMode, sqlStateOf } from "./metrics-store.js";
import { RateWindow } from "./rate-window.js";
import type { MinuteRow } from "./rows.js";
import { floorTo, type SampleBatch } from "./samples.js";
import { WriteBuffer } from "./write-buffer.js";

const MAINTENANCE_EVERY_MS = 3_600_000;

export interface AggregatorOptions {
  store: MetricsStore;
  intervalMs: number;
  bucketMs: number;
  aggregateIntervalMs: number;
  bufferMaxRows: number;
  maxRowsPerWrite: number;
  /** The database work of one cycle counts as failed after this. */
  writeTimeoutMs: number;
  logger?: Logger;
  now?: () => number;
}

export interface AggregatorStats {
  /** Buckets still open (rows being summed). */
  openRows: number;
  buffer: { rows: number; maxRows: number; droppedRows: number };
  writes: {
    succeeded: number;
    failed: number;
    consecutiveFailures: number;
    rowsWritten: number;
    rowsPerMinute: number;
    /** Rows the database refused for good, and rows past the retention. */
    rejectedRows: number;
    expiredRows: number;
    lastSuccessAt: Date | undefined;
    lastFailureAt: Date | undefined;
    lastError: string | undefined;
  };
  maintenance: {
    mode: StorageMode | undefined;
    lastAt: Date | undefined;
    failures: number;
    lastError: string | undefined;
  };
}

export class Aggregator {
  private readonly accumulator: BucketAccumulator;
  private readonly buffer: WriteBuffer<MinuteRow>;
  private readonly now: () => number;
  private readonly rate = new RateWindow(60_000);
  /** The latest slot whose samples have all arrived. */
  private watermark: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private cycling: Promise<void> | undefined;
  /** The database work in flight, which may outlive its cycle's timeout. */
  private dbWork: Promise<void> | undefined;
  private started = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private lastMaintenance: number | undefined;
  /** Told the duration of every write (Prometheus' histogram). */
  onWrite: ((seconds: number, ok: boolean) => void) | undefined;
  private readonly writes = {
    succeeded: 0,
    failed: 0,
    consecutiveFailures: 0,
    rowsWritten: 0,
    rejectedRows: 0,
    expiredRows: 0,
    lastSuccessAt: undefined as Date | undefined,
    lastFailureAt: undefined as Date | undefined,
    lastError: undefined as string | undefined,
  };
  private readonly maintenance = {
    mode: undefined as StorageMode | undefined,
    lastAt: undefined as Date | undefined,
    failures: 0,
    lastError: undefined as string | undefined,
  };

  constructor(private readonly options: AggregatorOptions) {
    this.accumulator = new BucketAccumulator(options.bucketMs);
    this.buffer = new WriteBuffer(options.bufferMaxRows);
    this.now = options.now ?? Date.now;
  }

  /** A collector's batch: summed into its buckets. */
  add(batch: SampleBatch): void {
    if (this.closed) return;
    this.accumulator.add(batch);
    this.advance(batch.at);
  }

  /** Every sample of slots up to `slot` has arrived (a tick is over, even a failed one). */
  advance(slot: number): void {
    if (this.watermark === undefined || slot > this.watermark) this.watermark = slot;
  }

  /** Runs upkeep (for at most writeTimeoutMs), then a cycle every aggregateIntervalMs. */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    // Bounded: a metrics database that does not answer must not hold the start up.
    this.dbWork = this.maintain().finally(() => {
      this.dbWork = undefined;
    });
    await this.bounded(this.dbWork);
    this.schedule();
  }

  /**
   * Stops the loop, then writes what is left, the bucket in progress included (a restart
   * within the same bucket overwrites that row with the rest of the bucket). Safe twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.cycling;
      this.buffer.push(this.accumulator.drain());
      // One bounded attempt, and none while the database is known to be down: do not hang a stop.
      if (this.dbWork) await this.bounded(this.dbWork);
      else if (this.writes.consecutiveFailures === 0) await this.bounded(this.flush());
      if (this.buffer.size > 0) {
        this.options.logger?.warn(
          { rows: this.buffer.size },
          "metrics rows not written before shutdown were lost",
        );
      }
    })();
    return this.closing;
  }

  /** One cycle: upkeep when due, closed buckets to the buffer, the buffer to the database. */
  cycle(): Promise<void> {
    this.cycling ??= this.cycleNow().finally(() => {
      this.cycling = undefined;
    });
    return this.cycling;
  }

  /** A copy of the rows waiting to be written, oldest first. */
  pendingRows(): MinuteRow[] {
    return this.buffer.snapshot();
  }

  stats(): AggregatorStats {
    return {
      openRows: this.accumulator.size,
      buffer: {
        rows: this.buffer.size,
        maxRows: this.buffer.maxRows,
        droppedRows: this.buffer.dropped,
      },
      writes: { ...this.writes, rowsPerMinute: this.rate.perMinute(this.now()) },
      maintenance: { ...this.maintenance },
    };
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.cycle().finally(() => this.schedule());
    }, this.options.aggregateIntervalMs);
  }

  private async cycleNow(): Promise<void> {
    if (this.watermark !== undefined) {
      // A bucket is over once its last slot is: the next slot starts the next bucket.
      const before = floorTo(this.watermark + this.options.intervalMs, this.options.bucketMs);
      const dropped = this.buffer.push(this.accumulator.drain(before));
      if (dropped > 0) {
        this.options.logger?.warn(
          { dropped, buffered: this.buffer.size },
          "metrics write buffer full: the oldest rows were dropped",
        );
      }
    }
    if (this.dbWork) {
      this.failed(`the metrics database has not answered for ${this.options.writeTimeoutMs} ms`);
      return;
    }
    const work = (async () => {
      const due =
        this.lastMaintenance === undefined ||
        this.now() - this.lastMaintenance >= MAINTENANCE_EVERY_MS;
      if (due) await this.maintain();
      await this.flush();
    })();
    this.dbWork = work.finally(() => {
      this.dbWork = undefined;
    });
    if (!(await this.bounded(this.dbWork))) {
      this.failed(`the metrics database did not answer within ${this.options.writeTimeoutMs} ms`);
    }
  }

  /** Whether `work` settled within writeTimeoutMs (it goes on in the background otherwise). */
  private async bounded(work: Promise<void>): Promise<boolean> {
    return (await within(work, this.options.writeTimeoutMs)).done;
  }

  private failed(reason: string): void {
    this.writes.failed++;
    this.writes.consecutiveFailures++;
    this.writes.lastFailureAt = new Date(this.now());
    this.writes.lastError = reason;
    this.options.logger?.warn(
      { reason, buffered: this.buffer.size },
      "metrics write failed: will retry",
    );
  }

  /** Writes the buffer, oldest rows first, until it is empty or a write fails. */
  private async flush(): Promise<void> {
    while (this.buffer.size > 0) {
      const { rows, end } = this.buffer.peek(this.options.maxRowsPerWrite);
      const started = performance.now();
      const timed = (ok: boolean) => this.onWrite?.((performance.now() - started) / 1000, ok);
      try {
        const result = await this.options.store.write(rows);
        timed(true);
        this.buffer.release(end);
        this.writes.succeeded++;
        this.writes.consecutiveFailures = 0;
        this.writes.rowsWritten += result.written;
        this.writes.expiredRows += result.expired;
        this.writes.lastSuccessAt = new Date(this.now());
        this.rate.add(result.written, this.now());
      } catch (error) {
        timed(false);
        if (isRefused(error)) {
          this.writes.failed++;
          this.writes.lastError = messageOf(error);
          this.buffer.release(end);
          this.writes.rejectedRows += rows.length;
          this.options.logger?.error(
            { err: error, rows: rows.length },
            "the metrics database refused rows: dropped",
          );
          continue;
        }
        this.failed(messageOf(error));
        return;
      }
    }
  }

  private async maintain(): Promise<void> {
    try {
      const result = await this.options.store.maintain();
      this.lastMaintenance = this.now();
      this.maintenance.mode = result.mode;
      this.maintenance.lastAt = new Date(this.now());
      this.maintenance.lastError = undefined;
      if (result.created.length > 0 || result.dropped.length > 0) {
        this.options.logger?.info(
          { created: result.created, dropped: result.dropped },
          "metrics partitions maintained",
        );
      }
    } catch (error) {
      this.maintenance.failures++;
      this.maintenance.lastError = messageOf(error);
      this.options.logger?.warn({ reason: this.maintenance.lastError }, "metrics upkeep failed");
    }
  }
}

/** A data exception (22) or constraint violation (23, but not "no partition"): it would fail again. */
function isRefused(error: unknown): boolean {
  const state = sqlStateOf(error);
  return (
    state !== undefined && (state.startsWith("22") || state.startsWith("23")) && state !== "23514"
  );
}
