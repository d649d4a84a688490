import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface TreeSize {
  /** The apparent size of the files and symlinks (symlinks are not followed). */
  bytes: number;
  /** Every entry below the folder: files, folders, links. Empty files weigh nothing in bytes. */
  files: number;
}

export interface MeasureOptions {
  /** Stop early, with a total above this, once the bytes pass it. */
  stopAboveBytes?: number;
  /** Stop early, with a count above this, once the entries pass it. */
  stopAboveFiles?: number;
}

/**
 * Measures everything under `dir`. Stops early once a total passes its limit, so that checking a
 * huge tree (in bytes, or millions of empty files) against a limit stays cheap. Entries that
 * vanish while it walks (git renames its temporary files) are skipped.
 */
export async function measureTree(dir: string, options: MeasureOptions = {}): Promise<TreeSize> {
  const stopAboveBytes = options.stopAboveBytes ?? Number.POSITIVE_INFINITY;
  const stopAboveFiles = options.stopAboveFiles ?? Number.POSITIVE_INFINITY;
  const size: TreeSize = { bytes: 0, files: 0 };
  const over = () => size.bytes > stopAboveBytes || size.files > stopAboveFiles;
  const pending = [dir];
  while (pending.length > 0 && !over()) {
    const current = pending.pop() as string;
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      if (isGone(error)) continue;
      throw error;
    }
    size.files += names.length;
    if (over()) break;
    for (const name of names) {
      const path = join(current, name);
      try {
        const stats = await lstat(path);
        if (stats.isDirectory()) pending.push(path);
        else size.bytes += stats.size;
      } catch (error) {
        if (!isGone(error)) throw error;
      }
      if (over()) break;
    }
  }
  return size;
}

/** The apparent size in bytes of everything under `dir` (see measureTree). */
export async function directorySize(
  dir: string,
  stopAbove = Number.POSITIVE_INFINITY,
): Promise<number> {
  return (await measureTree(dir, { stopAboveBytes: stopAbove })).bytes;
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
