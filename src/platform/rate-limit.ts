import type { RateLimitPluginOptions } from "@fastify/rate-limit";
import type { PlatformServices } from "./services.js";

/**
 * Fixed-window rate limiting for work that is not an HTTP request (login attempts per account,
 * deployments per project per hour…). HTTP requests go through @fastify/rate-limit, configured
 * with rateLimitStoreOptions() below.
 */
export interface RateLimiter {
  /** Counts one hit for `key` in the current window of `windowMs`, and says whether it fits. */
  consume(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Hits left in the current window. */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export function checkRateLimitArguments(limit: number, windowMs: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw new TypeError("limit must be an integer >= 0");
  if (!Number.isInteger(windowMs) || windowMs < 1) {
    throw new TypeError("windowMs must be a positive integer");
  }
}

/**
 * The store part of @fastify/rate-limit's options. With Redis, the plugin's own Redis store (an
 * atomic INCR + PEXPIRE script on one key, so Redis Cluster is fine) shares our client, under our
 * key prefix so that replicas count together. In process, the plugin's default LRU store is
 * exactly the in-memory adapter we would otherwise write.
 */
export function rateLimitStoreOptions(
  services: Pick<PlatformServices, "redis" | "keyPrefix">,
): Pick<RateLimitPluginOptions, "redis" | "nameSpace"> {
  if (services.redis === undefined) return {};
  return { redis: services.redis, nameSpace: `${services.keyPrefix}rate-limit:http:` };
}
