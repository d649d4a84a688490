import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readRequirements, readToml } from "./python-manifests.js";

describe("readRequirements", () => {
  it("names, comments, options and markers", () => {
    const { names, needsSource } = readRequirements(
      "# web\nDjango==4.2 ; python_version >= '3.8'\n--index-url https://x\nPyYAML>=6 # yaml\nzope.interface\n\n",
    );
    assert.deepEqual([...names], ["django", "pyyaml", "zope-interface"]);
    assert.equal(needsSource, false);
  });
  it("-r, -e and local paths need the source", () => {
    for (const line of ["-r base.txt", "-e .", "./libs/x", "file:///x"]) {
      assert.equal(readRequirements(line).needsSource, true, line);
    }
  });
});

describe("readToml", () => {
  it("tables, keys and a multi-line dependency array", () => {
    const toml = readToml(
      [
        "[build-system]",
        'requires = ["hatchling"]',
        "",
        "[project]",
        'name = "api"',
        "dependencies = [",
        '  "fastapi>=0.100", # the framework',
        "  'uvicorn[standard]',",
        "  \"httpx; python_version > '3.9'\",",
        "]",
        "[tool.poetry.dependencies]",
        'python = "^3.11"',
        '"Flask" = "*"',
      ].join("\n"),
    );
    assert.ok(toml.tables.has("build-system") && toml.tables.has("project"));
    assert.deepEqual(toml.projectDependencies, [
      "fastapi>=0.100",
      "uvicorn[standard]",
      "httpx; python_version > '3.9'",
    ]);
    assert.deepEqual(toml.keysOf("tool.poetry.dependencies"), ["python", "Flask"]);
  });
  it("a one-line array, and no [project]", () => {
    assert.deepEqual(readToml('[project]\ndependencies = ["a", "b"]\n').projectDependencies, [
      "a",
      "b",
    ]);
    assert.equal(readToml("[tool.black]\n").projectDependencies, undefined);
  });
});
