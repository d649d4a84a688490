/**
 * The file reading under detection: lists a folder's files (a few levels down, dependencies and
 * version control left out, symlinks never followed) and reads the few that decide the plan
 * (source-tree.ts says which). Nothing else happens here.
 */
import { type FileHandle, lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { failedPrecondition } from "../domain/index.js";
import {
  LOCKFILE_HEAD_BYTES,
  MAX_DEPTH,
  MAX_LISTED_FILES,
  MAX_READ_BYTES,
  type SourceTree,
  UNLISTED_FOLDERS,
  wantsContents,
} from "./source-tree.js";
import { formatBytes } from "./units.js";

export async function readSourceTree(dir: string): Promise<SourceTree> {
  const files: string[] = [];
  // Breadth first: when the listing is cut at MAX_LISTED_FILES, what was left out is deepest.
  let level: string[] = [""];
  for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const folder of level) {
      const entries = await readdir(join(dir, folder), { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const path = folder === "" ? entry.name : `${folder}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!UNLISTED_FOLDERS.has(entry.name)) next.push(path);
        } else if (files.length < MAX_LISTED_FILES) {
          files.push(path);
        }
      }
    }
    level = next;
  }

  const contents = new Map<string, string>();
  for (const path of files) {
    const want = wantsContents(path);
    if (want === false) continue;
    contents.set(path, await readWanted(dir, path, want));
  }
  return { files: files.sort(), contents };
}

async function readWanted(dir: string, path: string, want: "whole" | "head"): Promise<string> {
  const full = join(dir, path);
  const stats = await lstat(full);
  if (!stats.isFile()) {
    throw failedPrecondition(
      `${path} must be a regular file (the builder does not follow symlinks)`,
    );
  }
  if (want === "whole" && stats.size > MAX_READ_BYTES) {
    throw failedPrecondition(`${path} is over ${formatBytes(MAX_READ_BYTES)}`);
  }
  const limit = want === "head" ? LOCKFILE_HEAD_BYTES : MAX_READ_BYTES;
  let handle: FileHandle | undefined;
  try {
    handle = await open(full, "r");
    const buffer = Buffer.alloc(Math.min(limit, stats.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle?.close();
  }
}
