/**
 * The API response cache, kept per organization in the platform's cache service: services read
 * through it and drop an organization's namespace after each write.
 */
import type { Cache } from "../platform/index.js";

/** Cache keys of everything cached for one organization share this prefix. */
export const orgCachePrefix = (organizationId: string) => `org:${organizationId}:`;

/** Drops every cached response of an organization; called after each write. */
export async function invalidateOrganization(cache: Cache, organizationId: string) {
  await cache.deletePrefix(orgCachePrefix(organizationId));
}

/** JSON that keeps Dates: they are written as {"$date": iso} and read back as Date. */
function encode(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.toISOString() } : v;
  });
}

function decode<T>(text: string): T {
  return JSON.parse(text, (_key, v) =>
    v && typeof v === "object" && typeof (v as { $date?: unknown }).$date === "string"
      ? new Date((v as { $date: string }).$date)
      : v,
  ) as T;
}

/**
 * The API response cache: `load()`'s result under `key` in the organization's namespace, for the
 * cache's TTL (5 minutes by default). Every write to the organization drops the namespace
 * (invalidateOrganization), so a cached answer is never older than the last change made through
 * the platform. Authorization is checked by the caller before, never cached.
 */
export async function cachedForOrganization<T>(
  cache: Cache,
  organizationId: string,
  key: string,
  load: () => Promise<T>,
): Promise<T> {
  const fullKey = `${orgCachePrefix(organizationId)}${key}`;
  const hit = await cache.get<string>(fullKey);
  if (hit !== undefined) return decode<T>(hit);
  const value = await load();
  await cache.set(fullKey, encode(value));
  return value;
}
