/**
 * src/forges stays pure: besides its own files it imports src/domain and node's builtins only, so
 * the webhook endpoint can use it without pulling in a database, an engine or a network client.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const folder = dirname(fileURLToPath(import.meta.url));

/** What a specifier may name: node builtins, this folder, src/domain. */
function allowedImport(specifier: string): boolean {
  return (
    specifier.startsWith("node:") ||
    /^\.\/[\w.-]+\.js$/.test(specifier) ||
    /^\.\.\/domain\/[\w.-]+\.js$/.test(specifier)
  );
}

it("imports only node builtins, its own files and src/domain", () => {
  const sources = readdirSync(folder).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  assert.ok(sources.includes("parse.ts"));
  const offending = sources.flatMap((file) =>
    ts
      .preProcessFile(readFileSync(join(folder, file), "utf8"), true, true)
      .importedFiles.map((i) => i.fileName)
      .filter((specifier) => !allowedImport(specifier))
      .map((specifier) => `${file} imports ${specifier}`),
  );
  assert.deepEqual(offending, []);
});

it("the rule refuses packages, other folders and bare builtins", () => {
  for (const specifier of [
    "fastify",
    "../store/db.js",
    "../platform/index.js",
    "crypto",
    "./x/../../app/a.js",
  ]) {
    assert.equal(allowedImport(specifier), false, specifier);
  }
  for (const specifier of ["node:crypto", "./payload.js", "../domain/errors.js"]) {
    assert.equal(allowedImport(specifier), true, specifier);
  }
});
