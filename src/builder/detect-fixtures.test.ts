/**
 * Detection of the scaffolded trees of test/fixtures/apps, read from disk as the builder reads a
 * checkout: the same trees the framework tests build (test/build-frameworks.test.ts), here
 * without Docker, so that a change of detection shows at once which real project it moves.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { DetectOptions } from "./base-images.js";
import { detectBuild } from "./detect.js";
import { readSourceTree } from "./read-source.js";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/apps/", import.meta.url));
const images: DetectOptions = {
  nodeImage: "node:{major}-bookworm-slim",
  staticImage: "caddy:2-alpine",
  caBundle: true,
};

const expected: { fixture: string; kind: string; stack: string; command: string[] }[] = [
  {
    fixture: "vite",
    kind: "static",
    stack: "Node.js 22 · npm · Vite (static output)",
    command: ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
  },
  {
    fixture: "next",
    kind: "node",
    stack: "Node.js 22 · npm · Next.js (standalone server)",
    command: ["node", "server.js"],
  },
  {
    fixture: "express",
    kind: "node",
    stack: "Node.js 22 · npm · Express",
    command: ["npm", "start"],
  },
  {
    fixture: "django",
    kind: "python",
    stack: "Python 3.11 · Django",
    command: ["sh", "-c", `exec python -m gunicorn --bind "0.0.0.0:\${PORT:-8080}" 'mysite.wsgi'`],
  },
  {
    fixture: "flask",
    kind: "python",
    stack: "Python 3.11 · Flask",
    command: ["sh", "-c", `exec python -m gunicorn --bind "0.0.0.0:\${PORT:-8080}" 'app:app'`],
  },
  {
    fixture: "fastapi",
    kind: "python",
    stack: "Python 3.11 · FastAPI",
    command: [
      "sh",
      "-c",
      `exec python -m uvicorn 'main:app' --host 0.0.0.0 --port "\${PORT:-8080}"`,
    ],
  },
  { fixture: "go", kind: "go", stack: "Go 1.22", command: ["/app/bin/hello"] },
  {
    fixture: "static",
    kind: "static",
    stack: "static site",
    command: ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
  },
];

describe("detection of scaffolded projects", () => {
  for (const app of expected) {
    it(app.fixture, async () => {
      const plan = detectBuild({ tree: await readSourceTree(`${FIXTURES}${app.fixture}`) }, images);
      assert.equal(plan.kind, app.kind);
      assert.equal(plan.stack, app.stack);
      assert.deepEqual(plan.command, app.command);
      assert.ok(plan.generated);
      assert.equal(plan.port, 8080);
      if (plan.kind !== "static" || app.fixture !== "static") {
        // Every stage that installs something trusts BUILD_CA_BUNDLE; the last stage does not.
        const stages = plan.dockerfile.split(/^(?=FROM )/m).slice(1);
        assert.match(stages[0] ?? "", /NODE_EXTRA_CA_CERTS/);
        assert.doesNotMatch(stages.at(-1) ?? "", /ca\.pem|NODE_EXTRA_CA_CERTS/);
      }
    });
  }
});
