import {
  checkRateLimitArguments,
  type RateLimitDecision,
  type RateLimiter,
} from "../rate-limit.js";
import { ExpiringMap } from "./expiring-map.js";

/** Fixed windows in process memory, for the embedded mode. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows: ExpiringMap<{ count: number; resetAt: number }>;

  constructor(private readonly now: () => number = Date.now) {
    this.windows = new ExpiringMap(now);
  }

  async consume(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    checkRateLimitArguments(limit, windowMs);
    let window = this.windows.get(key);
    if (window === undefined) {
      window = { count: 0, resetAt: this.now() + windowMs };
      this.windows.set(key, window, windowMs);
    }
    window.count++;
    return {
      allowed: window.count <= limit,
      remaining: Math.max(0, limit - window.count),
      resetMs: Math.max(0, window.resetAt - this.now()),
    };
  }
}
