/**
 * The layers of src/ point one way (docs/architecture.md, "Layers"): this fails naming each import
 * that climbs or reaches a peer, and each cycle between folders.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { importProblems, readImports, repositoryRoot } from "../scripts/import-graph.js";

test("no folder of src/ imports a folder above it or a peer, and no folders import each other", () => {
  const imports = readImports(repositoryRoot || ".");
  assert.ok(imports.length > 100, "the import graph was read");
  assert.deepEqual(importProblems(imports), []);
});

test("the check names an import that climbs, one to a peer, and a cycle", () => {
  const problems = importProblems([
    { from: "src/nodes/service.ts", to: "src/app/context.js", specifier: "../app/context.js" },
    { from: "src/agent/a.ts", to: "src/controller/b.js", specifier: "../controller/b.js" },
    { from: "src/controller/b.ts", to: "src/agent/a.js", specifier: "../agent/a.js" },
    { from: "src/store/db.ts", to: "src/domain/errors.js", specifier: "../domain/errors.js" },
  ]);
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(
    problems[0] ?? "",
    /^src\/nodes\/service\.ts imports "\.\.\/app\/context\.js".*above it/,
  );
  assert.match(problems[1] ?? "", /^src\/agent\/a\.ts imports .*its peer/);
  assert.match(problems[3] ?? "", /^folders import each other: src\/agent → src\/controller/);
});

test("a folder missing from the layer table is named", () => {
  const problems = importProblems([
    { from: "src/newthing/x.ts", to: "src/domain/errors.js", specifier: "../domain/errors.js" },
  ]);
  assert.deepEqual(problems, [
    "src/newthing/x.ts: src/newthing has no layer in scripts/import-graph.ts",
  ]);
});
