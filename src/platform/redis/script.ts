import { createHash } from "node:crypto";
import type { RedisClient } from "./connection.js";

/** A Lua script run by its SHA-1, loaded on the first NOSCRIPT (per node, on a cluster). */
export interface Script {
  lua: string;
  sha: string;
}

export function script(lua: string): Script {
  return { lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/** Every key of one call must hash to the same slot on a cluster: ours use a single key. */
export async function runScript(
  client: RedisClient,
  { lua, sha }: Script,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
    return client.eval(lua, keys.length, ...keys, ...args);
  }
}
