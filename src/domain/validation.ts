/**
 * Checks of user input. Each returns the normalised value or throws invalidArgument with a
 * message that names the field and says what is expected. Pure; no I/O.
 */
import { invalidArgument } from "./errors.js";

const CONTROL = /[\u0000-\u001f\u007f]/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A display name: trimmed, 1–100 characters, no control characters. */
export function displayName(field: string, value: string, max = 100): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw invalidArgument(`${field} must not be empty`);
  if ([...trimmed].length > max)
    throw invalidArgument(`${field} must be at most ${max} characters`);
  if (CONTROL.test(trimmed)) throw invalidArgument(`${field} must not contain control characters`);
  return trimmed;
}

export function description(value: string): string {
  if ([...value].length > 1000)
    throw invalidArgument("description must be at most 1000 characters");
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) {
    throw invalidArgument("description must not contain control characters");
  }
  return value.trim();
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** A URL- and DNS-safe identifier: lowercase letters, digits and inner hyphens, 1–40 long. */
export function slug(field: string, value: string): string {
  if (!SLUG.test(value)) {
    throw invalidArgument(
      `${field} must be 1 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit`,
    );
  }
  return value;
}

/** Turns a name into a slug ("My Shop!" → "my-shop"); empty when nothing usable is left. */
export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
}

export function uuid(field: string, value: string): string {
  const lower = value.toLowerCase();
  if (!UUID.test(lower))
    throw invalidArgument(`${field} must be an id (a UUID), got "${clip(value)}"`);
  return lower;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A host name a deployment answers on: lowercase, at least two labels, no wildcard, no IP. */
export function domain(value: string): string {
  const d = value.trim().toLowerCase().replace(/\.$/, "");
  const problem = `"${clip(value)}" is not a valid domain name`;
  if (d.length === 0) throw invalidArgument("domain must not be empty");
  if (d.length > 253) throw invalidArgument(`${problem}: at most 253 characters`);
  if (d.includes("*")) {
    throw invalidArgument(`${problem}: wildcards are not supported; add each host name`);
  }
  if (/[/:@?#]/.test(d)) {
    throw invalidArgument(`${problem}: give the host name only, without a scheme, port or path`);
  }
  const labels = d.split(".");
  if (labels.length < 2)
    throw invalidArgument(`${problem}: it needs at least two labels, like app.example.com`);
  for (const label of labels) {
    if (!LABEL.test(label)) {
      throw invalidArgument(`${problem}: each label is 1 to 63 letters, digits or inner hyphens`);
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) {
    throw invalidArgument(`${problem}: IP addresses are not domains`);
  }
  return d;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_ENV_VARS = 200;

export function envKey(key: string): string {
  if (!ENV_KEY.test(key) || key.length > 256) {
    throw invalidArgument(
      `env var key "${clip(key)}" is invalid: use letters, digits and underscores, not starting with a digit (at most 256)`,
    );
  }
  if (key.startsWith("OBIENTE_")) {
    throw invalidArgument(`env var key "${key}" is reserved: OBIENTE_ is the platform's prefix`);
  }
  return key;
}

export function envValue(key: string, value: string): string {
  if (Buffer.byteLength(value) > 32 * 1024) {
    throw invalidArgument(`env var ${key} is too long: at most 32 KiB`);
  }
  if (value.includes("\u0000")) throw invalidArgument(`env var ${key} must not contain NUL bytes`);
  return value;
}

export function envVars(vars: Record<string, string>): Record<string, string> {
  const entries = Object.entries(vars);
  if (entries.length > MAX_ENV_VARS) throw invalidArgument(`at most ${MAX_ENV_VARS} env vars`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries) out[envKey(key)] = envValue(key, value);
  return out;
}

/**
 * A git remote the builder may clone. Only https, ssh (URL or scp-like `git@host:path`) and git
 * URLs; file URLs and local paths only when the operator allows them. `ext::` and anything that
 * looks like a command-line option are refused: git would run them.
 */
export function gitRepo(value: string, options: { allowFile: boolean }): string {
  const url = value.trim();
  if (url.length === 0) throw invalidArgument("git_repo must not be empty");
  if (url.length > 2048) throw invalidArgument("git_repo must be at most 2048 characters");
  if (CONTROL.test(url) || /\s/.test(url)) {
    throw invalidArgument("git_repo must not contain spaces or control characters");
  }
  if (url.startsWith("-")) throw invalidArgument("git_repo must not start with '-'");
  if (/^[a-z0-9+.-]+::/i.test(url)) {
    throw invalidArgument(
      `git_repo uses a git remote helper ("${url.split("::")[0]}::"), which is not allowed; use an https, ssh or git URL`,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/.test(url)) return url; // scp-like ssh
    throw invalidArgument(
      `git_repo "${clip(withoutUserinfo(url))}" is not a git URL: use https://host/owner/repo.git, ssh://…, git@host:owner/repo.git or git://…`,
    );
  }
  if (scheme === "file") {
    if (!options.allowFile) {
      throw invalidArgument("git_repo file:// URLs are disabled on this platform (GIT_ALLOW_FILE)");
    }
    return url;
  }
  if (scheme !== "https" && scheme !== "ssh" && scheme !== "git" && scheme !== "http") {
    throw invalidArgument(`git_repo scheme "${scheme}" is not allowed; use https, ssh or git`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument(`git_repo "${clip(withoutUserinfo(url))}" is not a valid URL`);
  }
  if (parsed.hostname === "" || parsed.hostname.startsWith("-")) {
    throw invalidArgument(`git_repo "${clip(withoutUserinfo(url))}" has no valid host`);
  }
  return url;
}

/** A branch name as `git check-ref-format --branch` would accept it, and never option-like. */
export function branch(value: string): string {
  const b = value.trim();
  const bad = (why: string) => invalidArgument(`branch "${clip(value)}" is invalid: ${why}`);
  if (b.length === 0) throw invalidArgument("branch must not be empty");
  if (b.length > 255) throw bad("at most 255 characters");
  if (b.startsWith("-")) throw bad("it must not start with '-'");
  if (CONTROL.test(b) || /[\s~^:?*[\\]/.test(b)) {
    throw bad("it must not contain spaces, control characters or any of ~ ^ : ? * [ \\");
  }
  if (b.includes("..") || b.includes("@{") || b.includes("//")) {
    throw bad("it must not contain '..', '@{' or '//'");
  }
  if (b.startsWith("/") || b.endsWith("/") || b.endsWith(".") || b.endsWith(".lock") || b === "@") {
    throw bad("it must not start or end with '/', end with '.' or '.lock', or be '@'");
  }
  if (b.split("/").some((part) => part.startsWith("."))) throw bad("no part may start with '.'");
  return b;
}

/**
 * Which branches get previews: a comma-separated list of globs (`*` within a path segment, `**`
 * across them, `?` one character); "" for every branch. Returned trimmed, one space after commas.
 */
export function branchGlobs(value: string): string {
  const text = value.trim();
  if (text === "") return "";
  if (text.length > 500) throw invalidArgument("preview_branches: at most 500 characters");
  const globs = text.split(",").map((glob) => glob.trim());
  for (const glob of globs) {
    const bad = (why: string) =>
      invalidArgument(`preview_branches: "${clip(glob)}" is not a branch pattern: ${why}`);
    if (glob === "") throw bad("an empty entry (two commas in a row?)");
    if (glob.startsWith("-")) throw bad("it must not start with '-'");
    if (CONTROL.test(glob) || /[\s~^:[\\]/.test(glob)) {
      throw bad("it must not contain spaces, control characters or any of ~ ^ : [ \\");
    }
  }
  return globs.join(", ");
}

export function replicas(value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(`replicas must be between 1 and ${max}, got ${value}`);
  }
  return value;
}

export function resources(value: { cpuMillicores: number; memoryMb: number }): {
  cpuMillicores: number;
  memoryMb: number;
} {
  const { cpuMillicores, memoryMb } = value;
  if (cpuMillicores !== 0 && (cpuMillicores < 10 || cpuMillicores > 64_000)) {
    throw invalidArgument(
      `resources.cpu_millicores must be between 10 and 64000 (0 for the default), got ${cpuMillicores}`,
    );
  }
  if (memoryMb !== 0 && (memoryMb < 16 || memoryMb > 262_144)) {
    throw invalidArgument(
      `resources.memory_mb must be between 16 and 262144 (0 for the default), got ${memoryMb}`,
    );
  }
  return { cpuMillicores, memoryMb };
}

export function email(value: string): string {
  const e = value.trim().toLowerCase();
  if (e.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(e)) {
    throw invalidArgument(`"${clip(value)}" is not an email address`);
  }
  return e;
}

/** Shortens user input quoted back in a message. */
/** A URL as messages may show it: user-info (often a token) left out. */
function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1");
}

function clip(value: string): string {
  const printable = value.replace(/[\u0000-\u001f\u007f]/g, "?");
  return printable.length > 60 ? `${printable.slice(0, 57)}...` : printable;
}

export function noSlug(name: string) {
  return invalidArgument(
    `name "${clip(name)}" needs at least one letter or digit, so that it can be used in URLs`,
  );
}
