/**
 * Events per minute over a sliding window, in one-second buckets: for the observability
 * endpoint's collection and write rates. Memory is fixed (one counter per second of the window).
 */
export class RateWindow {
  private readonly buckets: number[];
  /** The second each bucket holds, so that a stale bucket reads as empty. */
  private readonly seconds: number[];

  constructor(private readonly windowMs = 60_000) {
    const size = Math.max(1, Math.ceil(windowMs / 1000));
    this.buckets = new Array<number>(size).fill(0);
    this.seconds = new Array<number>(size).fill(-1);
  }

  add(count: number, now: number): void {
    const second = Math.floor(now / 1000);
    const index = second % this.buckets.length;
    if (this.seconds[index] !== second) {
      this.seconds[index] = second;
      this.buckets[index] = 0;
    }
    this.buckets[index] = (this.buckets[index] ?? 0) + count;
  }

  /** The events of the last window, scaled to one minute. */
  perMinute(now: number): number {
    const second = Math.floor(now / 1000);
    const oldest = second - this.buckets.length + 1;
    let sum = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      const at = this.seconds[i] ?? -1;
      if (at >= oldest && at <= second) sum += this.buckets[i] ?? 0;
    }
    return (sum * 60_000) / this.windowMs;
  }
}
