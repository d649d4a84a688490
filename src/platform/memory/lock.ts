import type { LeaderLock } from "../lock.js";
import { checkTtl } from "../ttl.js";
import { ExpiringMap } from "./expiring-map.js";

/** Leases in process memory: enough to elect one leader among the roles of one process. */
export class MemoryLeaderLock implements LeaderLock {
  private readonly owners: ExpiringMap<string>;

  constructor(now: () => number = Date.now) {
    this.owners = new ExpiringMap(now);
  }

  async tryAcquire(name: string, ownerId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const owner = this.owners.get(name);
    if (owner !== undefined && owner !== ownerId) return false;
    this.owners.set(name, ownerId, ttlMs);
    return true;
  }

  async renew(name: string, ownerId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    if (this.owners.get(name) !== ownerId) return false;
    this.owners.set(name, ownerId, ttlMs);
    return true;
  }

  async release(name: string, ownerId: string): Promise<void> {
    if (this.owners.get(name) === ownerId) this.owners.delete(name);
  }
}
