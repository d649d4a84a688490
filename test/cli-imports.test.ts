/**
 * What every `obiente` process loads before it knows its command and configuration: the CLI's
 * entry module and what it imports statically (the configuration among them). An adapter library
 * there would be loaded by the embedded defaults and by every client command whether used or not
 * (issue 11: no ioredis or BullMQ without REDIS_URL, no dockerode in an API-only process). The
 * roles and adapters themselves are imported where they start (src/app/platform.ts).
 *
 * The child runs `obiente --version` from the sources and, as it exits, lists the packages in
 * Node's CommonJS module cache, where a CommonJS package imported from ES modules is kept too
 * (every library checked here is CommonJS).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const REPO_ROOT = new URL("../", import.meta.url).pathname;

const child = `
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
process.on("exit", () => {
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    const match = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file);
    if (match) packages.add(match[1]);
  }
  process.stderr.write("\\nPACKAGES " + JSON.stringify([...packages].sort()) + "\\n");
});
process.argv = [process.argv[0], "obiente", "--version"];
await import("./src/cli/main.ts");
`;

test("the CLI's entry loads no adapter library (Redis, queues, container engine, servers)", () => {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "--eval", child],
    { cwd: REPO_ROOT, encoding: "utf8", env: { PATH: process.env.PATH ?? "" }, timeout: 60_000 },
  );
  const line = /PACKAGES (\[.*\])/.exec(result.stderr)?.[1];
  assert.ok(line, `no module list from the child:\n${result.stdout}\n${result.stderr}`);
  const packages = JSON.parse(line) as string[];
  // The mechanism sees a CommonJS package imported from an ES module.
  assert.ok(packages.includes("commander"), `commander not seen in ${line}`);
  for (const library of [
    "ioredis",
    "bullmq",
    "dockerode",
    "docker-modem",
    "ssh2",
    "fastify",
    "oidc-provider",
    "postgres",
  ]) {
    assert.ok(!packages.includes(library), `${library} is loaded by every process: ${line}`);
  }
});
