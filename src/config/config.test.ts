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

  it("reads the tenancy settings: sign-ups, quotas, reserved names, DNS resolvers", () => {
    const defaults = loadConfig({});
    assert.equal(defaults.SIGNUP, "open");
    assert.equal(defaults.QUOTA_DEPLOYMENTS, 50);
    assert.ok(defaults.RESERVED_NAMES.includes("login"));
    assert.equal(defaults.DNS_RESOLVERS, undefined);
    const config = loadConfig({
      SIGNUP: "invite",
      QUOTA_CONCURRENT_BUILDS: "0",
      RESERVED_NAMES: "www,cloud.example.com",
      DNS_RESOLVERS: "127.0.0.1:5353, 10.0.0.2, [::1]:53, ::1",
    });
    assert.equal(config.SIGNUP, "invite");
    assert.equal(config.QUOTA_CONCURRENT_BUILDS, 0);
    assert.deepEqual(config.RESERVED_NAMES, ["www", "cloud.example.com"]);
    assert.deepEqual(config.DNS_RESOLVERS, ["127.0.0.1:5353", "10.0.0.2", "[::1]:53", "::1"]);
    assert.throws(
      () =>
        loadConfig({
          SIGNUP: "everyone",
          QUOTA_DEPLOYMENTS: "-1",
          DNS_RESOLVERS: "dns.example.com",
          RESERVED_NAMES: "Login",
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /SIGNUP="everyone": expected open, invite or closed/);
        assert.match(error.message, /QUOTA_DEPLOYMENTS="-1": expected/);
        assert.match(
          error.message,
          /DNS_RESOLVERS="dns.example.com": expected a comma-separated list of IP addresses/,
        );
        assert.match(
          error.message,
          /RESERVED_NAMES="Login": expected a comma-separated list of lowercase names/,
        );
        return true;
      },
    );
    assert.throws(() => loadConfig({ DNS_RESOLVERS: "127.0.0.1:99999" }), /DNS_RESOLVERS/);
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
