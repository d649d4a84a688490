import {
  assertNamespace,
  type Cache,
  type CacheStats,
  DEFAULT_CACHE_TTL_MS,
  storageTtl,
} from "../cache.js";
import { fromJson, toJson } from "../json.js";
import { ExpiringMap } from "./expiring-map.js";

export interface MemoryCacheOptions {
  defaultTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class MemoryCache implements Cache {
  private readonly entries: ExpiringMap<string>;
  private readonly defaultTtlMs: number;
  private readonly counters: CacheStats = { hits: 0, misses: 0 };

  constructor(options: MemoryCacheOptions = {}) {
    this.entries = new ExpiringMap(options.now ?? Date.now, options.maxEntries);
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_CACHE_TTL_MS;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const text = this.entries.get(key);
    if (text === undefined) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    return fromJson<T>(text);
  }

  async set<T>(key: string, value: T, ttlMs = this.defaultTtlMs): Promise<void> {
    const text = toJson(value);
    const ttl = storageTtl(ttlMs);
    if (ttl === 0) this.entries.delete(key);
    else this.entries.set(key, text, ttl);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertNamespace(prefix);
    this.entries.deleteWhere((key) => key.startsWith(prefix));
  }

  stats(): CacheStats {
    return { ...this.counters };
  }
}
