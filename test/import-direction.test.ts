/**
 * The imports between the folders of src/ (docs/architecture.md, "Layers"): this fails naming
 * each import that climbs or reaches a peer, each cycle between folders, each import that reaches
 * into another folder instead of entering it through its index.ts, and each index (or module that
 * every process loads) that loads an adapter library.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { importProblems, readImports, repositoryRoot } from "../scripts/import-graph.js";

test("the imports between the folders of src/ follow the layers and enter through the indexes", () => {
  const imports = readImports(repositoryRoot || ".");
  assert.ok(imports.length > 100, "the import graph was read");
  assert.deepEqual(importProblems(imports), []);
});

test("the check names an import that climbs, one to a peer, and a cycle", () => {
  const problems = importProblems([
    { from: "src/nodes/service.ts", to: "src/app/index.js", specifier: "../app/index.js" },
    { from: "src/agent/a.ts", to: "src/controller/index.js", specifier: "../controller/index.js" },
    { from: "src/controller/b.ts", to: "src/agent/index.js", specifier: "../agent/index.js" },
    { from: "src/store/db.ts", to: "src/domain/index.js", specifier: "../domain/index.js" },
  ]);
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(
    problems[0] ?? "",
    /^src\/nodes\/service\.ts imports "\.\.\/app\/index\.js".*above it/,
  );
  assert.match(problems[1] ?? "", /^src\/agent\/a\.ts imports .*its peer/);
  assert.match(problems[3] ?? "", /^folders import each other: src\/agent → src\/controller/);
});

test("a folder missing from the layer table is named", () => {
  const problems = importProblems([
    { from: "src/newthing/x.ts", to: "src/domain/index.js", specifier: "../domain/index.js" },
  ]);
  assert.deepEqual(problems, [
    "src/newthing/x.ts: src/newthing has no layer in scripts/import-graph.ts",
  ]);
});

test("another folder is entered through its index.ts, its sub-folders too", () => {
  const problems = importProblems([
    { from: "src/nodes/service.ts", to: "src/store/schema.js", specifier: "../store/schema.js" },
    {
      from: "src/api/handlers/node.ts",
      to: "src/nodes/service.js",
      specifier: "../../nodes/service.js",
      typeOnly: true,
    },
    {
      from: "src/config/config.ts",
      to: "src/platform/redis/url.js",
      specifier: "../platform/redis/url.js",
    },
    { from: "src/nodes/service.ts", to: "src/nodes/index.js", specifier: "./index.js" },
  ]);
  assert.deepEqual(problems, [
    'src/nodes/service.ts imports "../store/schema.js": another folder is entered through its index, "../store/index.js" (or import() for a module loaded lazily)',
    'src/api/handlers/node.ts imports "../../nodes/service.js": another folder is entered through its index, "../../nodes/index.js" (or import() for a module loaded lazily)',
    'src/config/config.ts imports "../platform/redis/url.js": another folder is entered through its index, "../platform/index.js" (or import() for a module loaded lazily)',
    'src/nodes/service.ts imports "./index.js": a module imports its siblings, not its own folder\'s index, which imports it',
  ]);
});

test("import(), generated code and the composition root's adapters may name a module", () => {
  const problems = importProblems([
    {
      from: "src/app/platform.ts",
      to: "src/api/server.js",
      specifier: "../api/server.js",
      dynamic: true,
    },
    {
      from: "src/api/convert.ts",
      to: "src/gen/obiente/cloud/node/v1/node_pb.js",
      specifier: "../gen/obiente/cloud/node/v1/node_pb.js",
    },
    {
      from: "src/app/deploying.ts",
      to: "src/runtime/docker-runtime.js",
      specifier: "../runtime/docker-runtime.js",
    },
    { from: "src/runtime/docker-runtime.ts", to: "dockerode", specifier: "dockerode" },
  ]);
  assert.deepEqual(problems, []);
  // Not its types (the index offers them), nor from anywhere else.
  const elsewhere = importProblems([
    {
      from: "src/app/deploying.ts",
      to: "src/runtime/docker-runtime.js",
      specifier: "../runtime/docker-runtime.js",
      typeOnly: true,
    },
    {
      from: "src/controller/deployer.ts",
      to: "src/runtime/docker-runtime.js",
      specifier: "../runtime/docker-runtime.js",
    },
    { from: "src/runtime/docker-runtime.ts", to: "dockerode", specifier: "dockerode" },
  ]);
  assert.equal(elsewhere.length, 2, elsewhere.join("\n"));
  assert.match(elsewhere[0] ?? "", /^src\/app\/deploying\.ts imports .*entered through its index/);
  assert.match(elsewhere[1] ?? "", /^src\/controller\/deployer\.ts imports .*entered through/);
});

test("an index, and what every process loads, load no adapter library", () => {
  const problems = importProblems([
    { from: "src/runtime/index.ts", to: "src/runtime/engine.js", specifier: "./engine.js" },
    { from: "src/runtime/engine.ts", to: "dockerode", specifier: "dockerode" },
    { from: "src/auth/index.ts", to: "src/auth/oidc.js", specifier: "./oidc.js", typeOnly: true },
    { from: "src/auth/oidc.ts", to: "jose", specifier: "jose" },
    { from: "src/app/platform.ts", to: "src/app/deploying.js", specifier: "./deploying.js" },
    { from: "src/app/deploying.ts", to: "ioredis", specifier: "ioredis" },
  ]);
  assert.deepEqual(problems, [
    "src/runtime/index.ts loads dockerode (src/runtime/index.ts → src/runtime/engine.ts → dockerode): an index loads no adapter library; it exports the adapter's types only, and the adapter's code is imported from its module where it starts",
    "src/app/platform.ts loads ioredis (src/app/platform.ts → src/app/deploying.ts → ioredis): every process loads it; an adapter library is loaded with import() where the role that uses it starts",
  ]);
});
