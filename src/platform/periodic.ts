/**
 * A task run now and then every interval, for as long as it is started: the leader-only loops of
 * the controller (preview expiry). A pass that fails is logged and the next one comes as usual;
 * stop() waits for the pass in progress, and start() may follow (a re-elected leader).
 */
import type { Logger } from "pino";

export interface PeriodicOptions {
  /** For the log, should a pass fail. */
  name: string;
  intervalMs: number;
  run(): Promise<unknown>;
  logger: Logger;
}

export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly options: PeriodicOptions) {}

  start(): void {
    if (this.closed || this.started) return;
    this.started = true;
    const tick = () => {
      this.running = this.options
        .run()
        .catch((error: unknown) =>
          this.options.logger.warn({ err: error }, `${this.options.name} failed`),
        )
        .finally(() => {
          if (this.started) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }
}
