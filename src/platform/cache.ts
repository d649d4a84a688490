/**
 * The API response cache: JSON values with a time to live (5 minutes unless configured), and
 * namespace invalidation on writes ("everything cached for organization 42").
 *
 * Keys are made of ":"-separated segments, e.g. `org:42:projects`. A namespace is a prefix that
 * ends at a segment boundary (`org:42:`), or "" for the whole cache. Only whole namespaces can be
 * invalidated: that is what lets the Redis adapter invalidate in O(1) with generation numbers
 * (see redis/cache.ts) instead of scanning the keyspace of every cluster node on every write.
 */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  /** ttlMs defaults to the cache's TTL; a TTL of 0 or less stores nothing (and drops the key). */
  set<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Invalidates every key that starts with `prefix`, which must be "" or end with ":". */
  deletePrefix(prefix: string): Promise<void>;
  /** Hits and misses of get() in this process, for /metrics. */
  stats(): CacheStats;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export const DEFAULT_CACHE_TTL_MS = 5 * 60_000;

/** Whole milliseconds to store a value for, 0 meaning "do not store"; both adapters use it. */
export function storageTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs)) throw new TypeError("ttlMs must be a finite number");
  return Math.max(0, Math.ceil(ttlMs));
}

export const NAMESPACE_SEPARATOR = ":";

export function assertNamespace(prefix: string): void {
  if (prefix !== "" && !prefix.endsWith(NAMESPACE_SEPARATOR)) {
    throw new TypeError(
      `cache namespace "${prefix}" must be "" or end with "${NAMESPACE_SEPARATOR}" (e.g. "org:42:")`,
    );
  }
}

/** The namespaces a key belongs to, outermost first: `a:b:c` → ["", "a:", "a:b:"]. */
export function namespacesOf(key: string): string[] {
  const namespaces = [""];
  let at = key.indexOf(NAMESPACE_SEPARATOR);
  while (at !== -1) {
    namespaces.push(key.slice(0, at + 1));
    at = key.indexOf(NAMESPACE_SEPARATOR, at + 1);
  }
  return namespaces;
}
