import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { branchMatches } from "./branch-glob.js";

/** [patterns, branch, matches] */
const TABLE: [string, string, boolean][] = [
  // An empty list follows every branch.
  ["", "main", true],
  ["", "feature/a/b", true],
  [" , ,", "main", true],
  // Exact names, whole names only.
  ["main", "main", true],
  ["main", "main2", false],
  ["main", "xmain", false],
  ["main", "Main", false],
  ["main", "feature/main", false],
  // `*`: within one segment.
  ["release/*", "release/1.2", true],
  ["release/*", "release/", true],
  ["release/*", "release/1.2/hotfix", false],
  ["release/*", "release", false],
  ["*", "main", true],
  ["*", "feature/x", false],
  ["feat*", "feature", true],
  ["*-fix", "login-fix", true],
  ["*-fix", "a/login-fix", false],
  // `**`: across segments.
  ["**", "feature/a/b", true],
  ["feature/**", "feature/a", true],
  ["feature/**", "feature/a/b/c", true],
  ["feature/**", "feature", false],
  ["feature/**", "features/a", false],
  ["**/fix", "fix", true],
  ["**/fix", "a/b/fix", true],
  ["**/fix", "a/b/prefix", false],
  ["a/**/b", "a/b", true],
  ["a/**/b", "a/x/y/b", true],
  ["a/**/b", "a/xb", false],
  // `?`: one character, not `/`.
  ["v?", "v1", true],
  ["v?", "v10", false],
  ["v?", "v", false],
  ["a?b", "a/b", false],
  ["v?", "vé", true],
  // Other characters match themselves, regular-expression ones included.
  ["release-1.2", "release-1.2", true],
  ["release-1.2", "release-1x2", false],
  ["fix(login)", "fix(login)", true],
  ["a+b", "aab", false],
  ["[ab]", "a", false],
  ["[ab]", "[ab]", true],
  ["^main$", "main", false],
  ["dep/{x}", "dep/{x}", true],
  ["back\\slash", "back\\slash", true],
  // Lists: any one that matches; blanks around each are ignored.
  ["main, release/*", "release/2", true],
  ["main,release/*", "main", true],
  ["main, release/*", "develop", false],
  ["main,,develop", "develop", true],
];

describe("branchMatches", () => {
  for (const [patterns, branch, expected] of TABLE) {
    it(`${JSON.stringify(patterns)} ${expected ? "matches" : "does not match"} ${JSON.stringify(branch)}`, () => {
      assert.equal(branchMatches(patterns, branch), expected);
    });
  }

  it("a name without glob characters matches itself and nothing else", () => {
    const name = fc.stringMatching(/^[\w./()+$^[\]{}|\\-]{1,20}$/).filter((s) => !/[*?,]/.test(s));
    fc.assert(
      fc.property(name, fc.string(), (pattern, other) => {
        assert.ok(branchMatches(pattern, pattern));
        if (other !== pattern) assert.equal(branchMatches(pattern, other), false);
      }),
    );
  });

  it("`**` matches every branch", () => {
    const branch = fc.string({ unit: "binary" });
    fc.assert(fc.property(branch, (b) => assert.ok(branchMatches("**", b))));
  });
});
