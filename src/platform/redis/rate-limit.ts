import {
  checkRateLimitArguments,
  type RateLimitDecision,
  type RateLimiter,
} from "../rate-limit.js";
import type { RedisClient } from "./connection.js";
import { runScript, script } from "./script.js";

// One atomic step: count the hit, and start the window on the first hit. The PTTL < 0 branch
// repairs a counter left without an expiry (say, by a hand-made SET), which would block forever.
const CONSUME = script(`
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`);

/** Fixed windows shared by every replica: one counter per key and window, in Redis. */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async consume(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    checkRateLimitArguments(limit, windowMs);
    const [count, ttl] = (await runScript(
      this.client,
      CONSUME,
      [`${this.keyPrefix}rate-limit:${key}`],
      [windowMs],
    )) as [number, number];
    return { allowed: count <= limit, remaining: Math.max(0, limit - count), resetMs: ttl };
  }
}
