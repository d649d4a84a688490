export { backoffDelay } from "./backoff.js";
export type { Bus, MessageHandler } from "./bus.js";
export { type Cache, type CacheStats, DEFAULT_CACHE_TTL_MS } from "./cache.js";
export { withDeadline } from "./deadline.js";
export { KeyLock } from "./key-lock.js";
export { LeaderElector, type LeaderElectorOptions } from "./leader-elector.js";
export type { LeaderLock } from "./lock.js";
export { mapLimit } from "./map-limit.js";
export { Periodic, type PeriodicOptions } from "./periodic.js";
export type {
  EnqueueOptions,
  Job,
  JobData,
  JobHandler,
  JobQueue,
  ProcessOptions,
  QueueSettings,
} from "./queue.js";
export {
  type RateLimitDecision,
  type RateLimiter,
  rateLimitStoreOptions,
} from "./rate-limit.js";
export type { RedisClient } from "./redis/connection.js";
export { parseRedisUrl } from "./redis/url.js";
export {
  createPlatformServices,
  type PlatformServices,
  type PlatformServicesOptions,
} from "./services.js";
export type { SessionStore } from "./sessions.js";
export {
  type MessageStream,
  type SubscribeIterableOptions,
  subscribeIterable,
} from "./subscribe-iterable.js";
