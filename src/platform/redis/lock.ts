import type { LeaderLock } from "../lock.js";
import { checkTtl } from "../ttl.js";
import type { RedisClient } from "./connection.js";
import { runScript, script } from "./script.js";

// Compare-and-set in Lua: reading the owner and acting on it must be one atomic step, or a lease
// that expired in between would be extended or deleted on behalf of its new owner.
const ACQUIRE = script(`
local owner = redis.call('GET', KEYS[1])
if owner == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`);

const RENEW = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`);

const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/** Leases in Redis (one key per lock, so any cluster node can hold it). */
export class RedisLeaderLock implements LeaderLock {
  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async tryAcquire(name: string, ownerId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await runScript(this.client, ACQUIRE, [this.key(name)], [ownerId, ttlMs])) === 1;
  }

  async renew(name: string, ownerId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await runScript(this.client, RENEW, [this.key(name)], [ownerId, ttlMs])) === 1;
  }

  async release(name: string, ownerId: string): Promise<void> {
    await runScript(this.client, RELEASE, [this.key(name)], [ownerId]);
  }

  private key(name: string): string {
    return `${this.keyPrefix}lock:${name}`;
  }
}
