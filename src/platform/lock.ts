/**
 * A lease: held by one owner at a time, for ttlMs unless renewed. A holder that cannot renew in
 * time must assume it lost the lock (see LeaderElector).
 */
export interface LeaderLock {
  /** True when `ownerId` now holds the lock (also when it already held it: the lease is extended). */
  tryAcquire(name: string, ownerId: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease if `ownerId` still holds it; false when it does not. */
  renew(name: string, ownerId: string, ttlMs: number): Promise<boolean>;
  /** Gives the lock up if `ownerId` holds it; does nothing otherwise. */
  release(name: string, ownerId: string): Promise<void>;
}
