import { fromJson, toJson } from "../json.js";
import { newSessionId, type SessionStore } from "../sessions.js";
import { checkTtl } from "../ttl.js";
import { ExpiringMap } from "./expiring-map.js";

/** Sessions in process memory, for the embedded mode: a restart logs everybody out. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions: ExpiringMap<string>;

  constructor(now: () => number = Date.now) {
    this.sessions = new ExpiringMap(now);
  }

  async create(data: unknown, ttlMs: number): Promise<string> {
    checkTtl(ttlMs);
    const id = newSessionId();
    this.sessions.set(id, toJson(data), ttlMs);
    return id;
  }

  async get<T = unknown>(id: string): Promise<T | undefined> {
    const text = this.sessions.get(id);
    return text === undefined ? undefined : fromJson<T>(text);
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const text = this.sessions.get(id);
    if (text === undefined) return false;
    this.sessions.set(id, text, ttlMs);
    return true;
  }

  async destroy(id: string): Promise<void> {
    this.sessions.delete(id);
  }
}
