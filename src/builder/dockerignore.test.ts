import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isIgnored, parseDockerignore } from "./dockerignore.js";

describe(".dockerignore", () => {
  const cases: { rules: string; ignored: string[]; kept: string[] }[] = [
    { rules: "", ignored: [], kept: ["a", "b/c"] },
    {
      rules: "# comment\n\n  secret.txt  \n",
      ignored: ["secret.txt"],
      kept: ["b/secret.txt", "# comment"],
    },
    {
      rules: "node_modules",
      ignored: ["node_modules", "node_modules/x/y.js"],
      kept: ["a/node_modules"],
    },
    { rules: "/dist/", ignored: ["dist", "dist/a.js"], kept: ["src/dist"] },
    { rules: "./build/../out", ignored: ["out/x"], kept: ["build/out"] },
    { rules: "*.md", ignored: ["README.md"], kept: ["docs/README.md", "md"] },
    { rules: "*/*.log", ignored: ["a/x.log"], kept: ["x.log", "a/b/x.log"] },
    { rules: "**/*.log", ignored: ["x.log", "a/x.log", "a/b/x.log"], kept: ["a/log"] },
    { rules: "docs/**", ignored: ["docs/a", "docs/b/c"], kept: ["docs2/a"] },
    { rules: "file?.txt", ignored: ["file1.txt"], kept: ["file12.txt", "file/.txt"] },
    { rules: "[ab].txt\n[!c]x", ignored: ["a.txt", "b.txt", "dx"], kept: ["c.txt", "cx"] },
    { rules: "a.b", ignored: ["a.b"], kept: ["axb"] },
    { rules: "*.md\n!README.md", ignored: ["NOTES.md"], kept: ["README.md"] },
    { rules: "docs\n!docs/keep.txt", ignored: ["docs/other.txt", "docs"], kept: ["docs/keep.txt"] },
    { rules: "!README.md\n*.md", ignored: ["README.md"], kept: [] },
  ];
  for (const c of cases) {
    it(JSON.stringify(c.rules), () => {
      const rules = parseDockerignore(c.rules);
      for (const path of c.ignored)
        assert.equal(isIgnored(rules, path), true, `${path} is ignored`);
      for (const path of c.kept) assert.equal(isIgnored(rules, path), false, `${path} is kept`);
    });
  }
});
