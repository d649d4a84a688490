/**
 * The build context: the checkout as a tar stream for Docker's build API. The tree is walked and
 * checked before anything is sent (so a bad tree fails with a clear message, not mid-upload); file
 * contents are then streamed one at a time. Symlinks are never followed, and one that points
 * outside the tree is refused.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { failedPrecondition } from "../domain/index.js";
import { hasExceptions, type IgnoreRule, isIgnored, parseDockerignore } from "./dockerignore.js";

export interface ExtraFile {
  /** Its name at the root of the context. */
  name: string;
  contents: string;
}

export interface PackContextOptions {
  /** The checkout. */
  dir: string;
  /** Files the builder adds at the root (the generated Dockerfile); each replaces a repo file of that name. */
  extraFiles?: readonly ExtraFile[];
  /** Root files sent even when .dockerignore leaves them out (the Dockerfile): Docker needs them. */
  alwaysInclude?: readonly string[];
}

export interface BuildContext {
  /** An uncompressed tar stream. Destroy it if it is not read to the end. */
  stream: Readable;
  /** Entries in the archive. */
  entries: number;
  /** Bytes of file contents in the archive. */
  bytes: number;
}

type Entry =
  | { kind: "directory"; name: string; mode: number; mtime: Date }
  | { kind: "file"; name: string; path: string; mode: number; size: number; mtime: Date }
  | { kind: "symlink"; name: string; target: string; mtime: Date }
  | { kind: "extra"; name: string; contents: Buffer };

/** Never sent: git's metadata is no part of an image. */
const SKIPPED = new Set([".git"]);

export async function packContext(options: PackContextOptions): Promise<BuildContext> {
  const root = resolve(options.dir);
  const extras = options.extraFiles ?? [];
  const rules = await readIgnoreRules(root);
  const keep = new Set([".dockerignore", ...(options.alwaysInclude ?? [])]);
  const replaced = new Set(extras.map((file) => file.name));

  const entries: Entry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const base of names) {
      if (SKIPPED.has(base)) continue;
      const path = join(dir, base);
      const name = relative(root, path).split(sep).join("/");
      if (replaced.has(name)) continue;
      const ignored = !keep.has(name) && isIgnored(rules, name);
      const stats = await lstat(path);
      if (stats.isDirectory()) {
        if (!ignored)
          entries.push({ kind: "directory", name, mode: stats.mode & 0o7777, mtime: stats.mtime });
        // Something inside an excluded folder may come back through a `!` exception.
        if (!ignored || hasExceptions(rules)) await walk(path);
      } else if (!ignored && stats.isFile()) {
        entries.push({
          kind: "file",
          name,
          path,
          mode: stats.mode & 0o7777,
          size: stats.size,
          mtime: stats.mtime,
        });
      } else if (!ignored && stats.isSymbolicLink()) {
        entries.push({
          kind: "symlink",
          name,
          target: await insideTarget(root, path, name),
          mtime: stats.mtime,
        });
      }
      // Sockets, fifos and devices cannot come from a git checkout: nothing to send.
    }
  };
  await walk(root);
  for (const file of extras)
    entries.push({ kind: "extra", name: file.name, contents: Buffer.from(file.contents) });

  const bytes = entries.reduce(
    (sum, entry) =>
      sum +
      (entry.kind === "file" ? entry.size : entry.kind === "extra" ? entry.contents.length : 0),
    0,
  );
  return { stream: writeArchive(entries), entries: entries.length, bytes };
}

async function readIgnoreRules(root: string): Promise<IgnoreRule[]> {
  const path = join(root, ".dockerignore");
  try {
    const stats = await lstat(path);
    if (!stats.isFile()) return [];
    return parseDockerignore(await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** The symlink's target, when it stays inside the tree; a failed_precondition error otherwise. */
async function insideTarget(root: string, path: string, name: string): Promise<string> {
  const target = await readlink(path);
  const within = relative(root, resolve(dirname(path), target));
  if (
    isAbsolute(target) ||
    within === ".." ||
    within.startsWith(`..${sep}`) ||
    isAbsolute(within)
  ) {
    throw failedPrecondition(
      `the repository has a symlink that points outside it: ${name} -> ${target}; only links within the repository can be built`,
    );
  }
  return target;
}

/** Streams the entries, one file open at a time, at the pace the reader takes them. */
function writeArchive(entries: readonly Entry[]): Readable {
  const pack = tar.pack();
  let current: ReadStream | undefined;
  let closed = false;
  let onClose: (() => void) | undefined;
  pack.once("close", () => {
    closed = true;
    current?.destroy();
    onClose?.();
  });

  const base = { uid: 0, gid: 0 };
  const write = async () => {
    for (const entry of entries) {
      if (closed) return;
      switch (entry.kind) {
        case "directory":
          pack.entry({
            ...base,
            name: entry.name,
            type: "directory",
            mode: entry.mode,
            mtime: entry.mtime,
          });
          break;
        case "symlink":
          pack.entry({
            ...base,
            name: entry.name,
            type: "symlink",
            linkname: entry.target,
            mode: 0o777,
            mtime: entry.mtime,
          });
          break;
        case "extra":
          pack.entry(
            { ...base, name: entry.name, mode: 0o644, mtime: new Date(0) },
            entry.contents,
          );
          break;
        case "file":
          await new Promise<void>((done, fail) => {
            onClose = () => fail(new Error("the build context was closed"));
            const source = createReadStream(entry.path);
            current = source;
            const sink = pack.entry(
              {
                ...base,
                name: entry.name,
                type: "file",
                mode: entry.mode,
                size: entry.size,
                mtime: entry.mtime,
              },
              (error) => (error ? fail(error) : done()),
            );
            source.once("error", (error) => {
              sink.destroy(error);
              fail(error);
            });
            source.pipe(sink);
          });
          current = undefined;
          onClose = undefined;
          break;
      }
    }
    pack.finalize();
  };
  write().catch((error: unknown) => {
    if (!closed) pack.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  // tar-stream's streams are streamx ones; Docker's client and our callers want a node Readable.
  // Destroying it ends the iteration, which destroys the pack, which closes the open file.
  return Readable.from(pack, { objectMode: false });
}
