import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, test } from "node:test";
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

test("network isolation and remote engines: defaults, parsing, and what is refused", () => {
  const defaults = loadConfig({});
  assert.equal(defaults.NETWORK_ISOLATION, "on");
  assert.deepEqual(defaults.NETWORK_ISOLATION_ALLOW, []);
  assert.deepEqual(defaults.NETWORK_ISOLATION_ENGINE_PORTS, [2375, 2376]);
  assert.equal(defaults.ALLOW_INSECURE_ENGINE, false);
  const set = loadConfig({
    NETWORK_ISOLATION_ALLOW: "10.0.5.20/32:5432, 10.0.0.11:53",
    NETWORK_ISOLATION_BLOCK: "10.0.0.0/24",
    NETWORK_ISOLATION_ENGINE_PORTS: "2375,2376,12375",
    EDGE_ADDRESSES: "10.0.0.21,10.0.0.22",
    DOCKER_HOST: "ssh://obiente@10.0.0.12",
  });
  assert.deepEqual(set.NETWORK_ISOLATION_ALLOW, ["10.0.5.20/32:5432", "10.0.0.11:53"]);
  assert.deepEqual(set.NETWORK_ISOLATION_ENGINE_PORTS, [2375, 2376, 12375]);
  assert.deepEqual(set.EDGE_ADDRESSES, ["10.0.0.21", "10.0.0.22"]);
  for (const [name, value, expected] of [
    ["NETWORK_ISOLATION", "maybe", /on or off/],
    ["NETWORK_ISOLATION_ALLOW", "10.0.5.20/32", /CIDR:PORT/],
    ["NETWORK_ISOLATION_BLOCK", "10.0.0.0/33", /IPv4 addresses or CIDRs/],
    ["NETWORK_ISOLATION_ENGINE_PORTS", "2375,x", /TCP ports/],
    ["EDGE_ADDRESSES", "edge.example", /IPv4 addresses or CIDRs/],
    [
      "DOCKER_HOST",
      "tcp://10.0.0.12:2375",
      /plain-TCP Docker engine .* ALLOW_INSECURE_ENGINE=true/,
    ],
    ["DOCKER_HOST", "https://10.0.0.12:2376", /needs DOCKER_TLS_VERIFY=1/],
  ] as const) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) => error instanceof ConfigError && expected.test(error.message),
      `${name}=${value}`,
    );
  }
});
