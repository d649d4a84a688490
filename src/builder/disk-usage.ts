import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * The apparent size of everything under `dir` (files and symlinks themselves; symlinks are not
 * followed). Stops early, returning a value above `stopAbove`, once the total passes it, so that
 * checking a huge tree against a limit stays cheap. Entries that vanish while it walks (git
 * renames its temporary files) are skipped.
 */
export async function directorySize(
  dir: string,
  stopAbove = Number.POSITIVE_INFINITY,
): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0 && total <= stopAbove) {
    const current = pending.pop() as string;
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      if (isGone(error)) continue;
      throw error;
    }
    for (const name of names) {
      const path = join(current, name);
      try {
        const stats = await lstat(path);
        if (stats.isDirectory()) pending.push(path);
        else total += stats.size;
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    }
  }
  return total;
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
