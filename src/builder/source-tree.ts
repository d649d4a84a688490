/**
 * What detection sees of a build context: the paths of its files and the text of the few files
 * that decide how it is built. The reading layer (read-source.ts) fills it from a folder; tests
 * write it by hand. Paths are relative, `/`-separated, without a leading `./`.
 */
export interface SourceTree {
  /** Every file (not folder) up to MAX_DEPTH folders down, node_modules and .git left out. */
  readonly files: readonly string[];
  /** The text of the files `wantsContents` names, by path (lockfiles: their first few KB). */
  readonly contents: ReadonlyMap<string, string>;
}

/** How deep the reader lists: enough for `cmd/<name>/main.go` and `<project>/wsgi.py`. */
export const MAX_DEPTH = 3;
/** How many paths the reader lists at most; a larger tree is listed in part, root first. */
export const MAX_LISTED_FILES = 20_000;
/** The most a file read whole may weigh; larger ones are read as missing. */
export const MAX_READ_BYTES = 1024 * 1024;
/** What is read of a lockfile: its header says which version of its tool wrote it. */
export const LOCKFILE_HEAD_BYTES = 4096;

/** Folders never listed: dependencies and version control, never part of the decision. */
export const UNLISTED_FOLDERS = new Set([".git", "node_modules", ".venv", "__pycache__"]);

const ROOT_FILES = new Set([
  "package.json",
  ".nvmrc",
  ".node-version",
  ".yarnrc.yml",
  "Procfile",
  "requirements.txt",
  "pyproject.toml",
  "Pipfile",
  ".python-version",
  "runtime.txt",
  "manage.py",
  "go.mod",
  "Dockerfile",
  "dockerfile",
  "angular.json",
]);

const LOCKFILES = new Set(["yarn.lock", "pnpm-lock.yaml"]);

const CONFIG =
  /^(next|nuxt|svelte|astro|vite|gatsby|docusaurus|react-router|vue)\.config\.(js|cjs|mjs|ts|mts|cts)$/;

/** Python files that may hold the app object, at the root or in one folder. */
const PYTHON_ENTRY =
  /^(?:[A-Za-z_][A-Za-z0-9_]*\/)?(?:app|main|wsgi|asgi|server|application|api|__init__|settings)\.py$/;

/** Whether detection reads this file's text (whole, or its head for lockfiles). */
export function wantsContents(path: string): "whole" | "head" | false {
  if (LOCKFILES.has(path)) return "head";
  if (ROOT_FILES.has(path) || CONFIG.test(path) || PYTHON_ENTRY.test(path)) return "whole";
  // Go: the package clause of the root's files and of cmd/<name>/main.go.
  if (/^(?:cmd\/[^/]+\/)?[^/]+\.go$/.test(path) && !path.endsWith("_test.go")) return "head";
  return false;
}

/** A tree from a plain object, for tests and the CLI: `{ "package.json": "{…}", "src/x.js": "" }`. */
export function treeOf(files: Record<string, string>): SourceTree {
  const contents = new Map<string, string>();
  for (const [path, text] of Object.entries(files)) {
    if (wantsContents(path) !== false) contents.set(path, text);
  }
  return { files: Object.keys(files).sort(), contents };
}
