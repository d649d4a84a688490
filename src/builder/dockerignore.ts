/**
 * A small reading of `.dockerignore`, after Docker's own (moby/patternmatcher): one pattern a line,
 * `#` comments, `!` exceptions, `*`, `?`, `[…]` and `**`; a path is excluded when it or one of its
 * parent folders matches, and the last matching pattern decides. Pure.
 */

export interface IgnoreRule {
  pattern: string;
  /** A `!` line: matching paths are sent after all. */
  exception: boolean;
  regex: RegExp;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    let pattern = raw.trim();
    if (pattern.length === 0 || pattern.startsWith("#")) continue;
    const exception = pattern.startsWith("!");
    if (exception) pattern = pattern.slice(1).trim();
    pattern = clean(pattern);
    if (pattern.length === 0) continue;
    rules.push({ pattern, exception, regex: compile(pattern) });
  }
  return rules;
}

/** Whether `path` (relative, `/`-separated) is left out of the build context. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split("/");
  const parents = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    // An exception can only change an excluded path, an exclusion only an included one.
    if (rule.exception !== ignored) continue;
    if (rule.regex.test(path) || parents.some((parent) => rule.regex.test(parent))) {
      ignored = !rule.exception;
    }
  }
  return ignored;
}

export function hasExceptions(rules: readonly IgnoreRule[]): boolean {
  return rules.some((rule) => rule.exception);
}

/** Like Go's filepath.Clean, then without a leading slash: patterns are relative to the root. */
function clean(pattern: string): string {
  const out: string[] = [];
  for (const part of pattern.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

function compile(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        // `**/` is `**`: any number of folders, even none.
        if (pattern[i + 1] === "/") i++;
        source += i + 1 >= pattern.length ? ".*" : "(?:.*/)?";
      } else {
        source += "[^/]*";
      }
    } else if (ch === "?") {
      source += "[^/]";
    } else if (ch === "\\" && i + 1 < pattern.length) {
      i++;
      source += escapeChar(pattern[i] as string);
    } else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        source += "\\[";
      } else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        source += `[${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = end;
      }
    } else {
      source += escapeChar(ch);
    }
  }
  return new RegExp(`^${source}$`);
}

function escapeChar(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
