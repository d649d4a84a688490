import { randomBytes } from "node:crypto";

/**
 * Server-side sessions (the dashboard's login). The id is the bearer secret: 32 random bytes in
 * base64url. Data is JSON-serialised.
 */
export interface SessionStore {
  /** Stores `data` for ttlMs and returns the new session's id. */
  create(data: unknown, ttlMs: number): Promise<string>;
  get<T = unknown>(id: string): Promise<T | undefined>;
  /** Extends a live session to ttlMs from now; false when it has expired or never existed. */
  touch(id: string, ttlMs: number): Promise<boolean>;
  destroy(id: string): Promise<void>;
}

export function newSessionId(): string {
  return randomBytes(32).toString("base64url");
}
