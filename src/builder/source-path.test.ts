import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DomainError } from "../domain/errors.js";
import { dockerfilePath, rootDirectory } from "./source-path.js";

describe("rootDirectory and dockerfilePath", () => {
  it("normalise what people write", () => {
    assert.equal(rootDirectory(""), "");
    assert.equal(rootDirectory("."), "");
    assert.equal(rootDirectory("./"), "");
    assert.equal(rootDirectory("apps/web/"), "apps/web");
    assert.equal(rootDirectory("./apps/web"), "apps/web");
    assert.equal(dockerfilePath(""), "");
    assert.equal(dockerfilePath("./docker/web.Dockerfile"), "docker/web.Dockerfile");
    assert.equal(dockerfilePath("Dockerfile.prod"), "Dockerfile.prod");
  });

  const refused = [
    "../outside",
    "apps/../../etc",
    "/etc/passwd",
    "apps/./web",
    "a b",
    "apps\nRUN x",
    "apps\\web",
    "$(touch x)",
    "a".repeat(256),
  ];
  for (const value of refused) {
    it(`refuses ${JSON.stringify(value.slice(0, 30))}`, () => {
      for (const check of [rootDirectory, dockerfilePath]) {
        assert.throws(
          () => check(value),
          (error: unknown) =>
            error instanceof DomainError &&
            error.kind === "invalid_argument" &&
            /must be a path inside the repository/.test(error.message) &&
            !error.message.includes("\n"),
        );
      }
    });
  }

  it("refuses a folder as the Dockerfile", () => {
    assert.throws(() => dockerfilePath("docker/"), /names a folder, not a file/);
  });
});
