import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("gives the embedded defaults for an empty environment", () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(config.DATABASE_URL, undefined);
    assert.equal(config.REDIS_URL, undefined);
    assert.deepEqual(config.ROLES, ["api", "controller", "agent", "edge"]);
    assert.equal(config.CACHE_TTL_SECONDS, 300);
  });

  it("parses numbers, lists and booleans", () => {
    const config = loadConfig({
      PORT: "0",
      CORS_ORIGINS: "https://a.test, https://b.test",
      GIT_ALLOW_FILE: "true",
    });
    assert.equal(config.PORT, 0);
    assert.deepEqual(config.CORS_ORIGINS, ["https://a.test", "https://b.test"]);
    assert.equal(config.GIT_ALLOW_FILE, true);
  });

  it("names every invalid variable and what it expects", () => {
    assert.throws(
      () => loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", ROLES: "api,chef" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /PORT="eighty": expected/);
        assert.match(error.message, /DATABASE_URL="mysql:\/\/x": expected a postgres:\/\//);
        assert.match(
          error.message,
          /ROLES="api,chef": expected one of api, controller, agent, edge/,
        );
        return true;
      },
    );
  });

  it("treats an empty variable as unset", () => {
    assert.equal(loadConfig({ DATABASE_URL: "" }).DATABASE_URL, undefined);
  });

  it("reads NAME_FILE (a Docker secret), naming the file and never the value when it is bad", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "obiente-config-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const key = join(dir, "key");
    writeFileSync(key, `${"ab".repeat(32)}\n`);
    const config = loadConfig({ SECRETS_MASTER_KEY_FILE: key, PORT_FILE: "" });
    assert.equal(config.SECRETS_MASTER_KEY, "ab".repeat(32), "the trailing newline is dropped");

    const url = join(dir, "url");
    writeFileSync(url, "mysql://user:hunter2@db/x");
    assert.throws(
      () => loadConfig({ DATABASE_URL_FILE: url }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /DATABASE_URL_FILE=".*url": expected a postgres/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
    assert.throws(
      () => loadConfig({ REDIS_URL: "redis://a", REDIS_URL_FILE: url }),
      /REDIS_URL and REDIS_URL_FILE are both set/,
    );
    assert.throws(
      () => loadConfig({ OIDC_ISSUER_FILE: join(dir, "missing") }),
      /OIDC_ISSUER_FILE=".*missing": expected a readable file \(ENOENT\)/,
    );
  });
});
