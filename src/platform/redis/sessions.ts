import { createHash } from "node:crypto";
import { fromJson, toJson } from "../json.js";
import { newSessionId, type SessionStore } from "../sessions.js";
import { checkTtl } from "../ttl.js";
import type { RedisClient } from "./connection.js";

/**
 * Sessions in Redis, shared by every API replica. The key holds a SHA-256 of the id, not the id:
 * whoever can read Redis (a backup, MONITOR, a key listing) cannot replay a session.
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async create(data: unknown, ttlMs: number): Promise<string> {
    checkTtl(ttlMs);
    const text = toJson(data);
    for (;;) {
      const id = newSessionId();
      // NX: 256 random bits never collide in practice, but a session is never overwritten.
      if ((await this.client.set(this.key(id), text, "PX", ttlMs, "NX")) === "OK") return id;
    }
  }

  async get<T = unknown>(id: string): Promise<T | undefined> {
    const text = await this.client.get(this.key(id));
    return text === null ? undefined : fromJson<T>(text);
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.client.pexpire(this.key(id), ttlMs)) === 1;
  }

  async destroy(id: string): Promise<void> {
    await this.client.unlink(this.key(id));
  }

  private key(id: string): string {
    return `${this.keyPrefix}session:${createHash("sha256").update(id).digest("base64url")}`;
  }
}
