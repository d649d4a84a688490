/**
 * Which branches a deployment follows, as a list of globs: `main`, `release/*`, `feature/**`.
 */

/**
 * True when `branch` matches one of the comma-separated globs in `patterns` (blanks around each
 * are ignored); an empty list matches every branch. In a glob, `*` matches any characters within
 * one path segment (not `/`), `**` any characters across segments (`feature/**` matches
 * `feature/a/b`, and `a/**\/b` matches `a/b` too), `?` one character other than `/`; every other
 * character matches itself. A glob matches the whole branch name, not part of it.
 */
export function branchMatches(patterns: string, branch: string): boolean {
  const globs = patterns
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  return globs.length === 0 || globs.some((glob) => globToRegExp(glob).test(branch));
}

/** The anchored regular expression a glob stands for. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; ) {
    if (glob.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 3;
    } else if (glob.startsWith("**", i)) {
      source += ".*";
      i += 2;
    } else if (glob[i] === "*") {
      source += "[^/]*";
      i += 1;
    } else if (glob[i] === "?") {
      source += "[^/]";
      i += 1;
    } else {
      source += (glob[i] as string).replace(/[\\^$.|+()[\]{}]/g, "\\$&");
      i += 1;
    }
  }
  return new RegExp(`^${source}$`, "su");
}
