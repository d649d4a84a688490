import {
  assertNamespace,
  type Cache,
  type CacheStats,
  DEFAULT_CACHE_TTL_MS,
  namespacesOf,
  storageTtl,
} from "../cache.js";
import { fromJson, toJson } from "../json.js";
import type { RedisClient } from "./connection.js";

/**
 * The cache in Redis, invalidated by generation numbers rather than by deleting keys.
 *
 * Every namespace that was ever invalidated has a counter (`<prefix>{cache-gen}:<namespace>`). A
 * value is stored under a key that embeds the current counters of all the namespaces it belongs
 * to: `org:42:projects` lives at `<prefix>cache:0.1.3:org:42:projects` while "" is at 0, "org:" at
 * 1 and "org:42:" at 3. deletePrefix("org:42:") is one INCR: from then on every reader computes
 * another key, and the old values, unreachable, expire with their TTL.
 *
 * Why: SCAN + UNLINK walks the whole keyspace of every node of a cluster on every write, and a
 * value computed from data read before the write can land after the scan. Here an invalidation is
 * O(1) wherever the keys live, and a set() that raced with it lands under the old generation,
 * where nobody reads. The counters share one hash tag, so a single MGET reads them on a cluster;
 * the price is a second round trip per get() and one small counter per invalidated namespace
 * (kept: a counter that expired would resurrect values stored under its earlier generations).
 */
export class RedisCache implements Cache {
  private readonly counters: CacheStats = { hits: 0, misses: 0 };

  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
    private readonly defaultTtlMs = DEFAULT_CACHE_TTL_MS,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    const text = await this.client.get(await this.storageKey(key));
    if (text === null) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    return fromJson<T>(text);
  }

  async set<T>(key: string, value: T, ttlMs = this.defaultTtlMs): Promise<void> {
    const text = toJson(value);
    const storageKey = await this.storageKey(key);
    const ttl = storageTtl(ttlMs);
    if (ttl === 0) await this.client.unlink(storageKey);
    else await this.client.set(storageKey, text, "PX", ttl);
  }

  async delete(key: string): Promise<void> {
    await this.client.unlink(await this.storageKey(key));
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertNamespace(prefix);
    await this.client.incr(this.generationKey(prefix));
  }

  stats(): CacheStats {
    return { ...this.counters };
  }

  private async storageKey(key: string): Promise<string> {
    const generations = await this.client.mget(
      namespacesOf(key).map((ns) => this.generationKey(ns)),
    );
    return `${this.keyPrefix}cache:${generations.map((g) => g ?? "0").join(".")}:${key}`;
  }

  private generationKey(namespace: string): string {
    return `${this.keyPrefix}{cache-gen}:${namespace}`;
  }
}
