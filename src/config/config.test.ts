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
        assert.match(
          error.message,
          /DATABASE_URL \(a value starting with "mysql:"; the rest is not shown\): expected a postgres:\/\//,
        );
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

  it("never shows a URL's password: names the variable and what is wrong", () => {
    const password = "hunter2-s3cret";
    for (const [name, value, problem] of [
      ["DATABASE_URL", `mysql://app:${password}@db/app`, /expected a postgres:\/\//],
      // A '#' or '/' in a password must be URL-encoded: the client would fail on the URL and
      // put it, password and all, in its error.
      ["DATABASE_URL", `postgres://app:${password}#1@db:5432/app`, /URL-encoded/],
      ["DATABASE_URL", `postgres://app:${password}/x@db:5432/app`, /URL-encoded/],
      ["DATABASE_URL", `postgres://app:${password}%ZZ@db:5432/app`, /URL-encoded/],
      ["METRICS_DATABASE_URL", `postgres://app:${password}#@db/metrics`, /URL-encoded/],
      ["REDIS_URL", `http://:${password}@cache:6379`, /redis:\/\//],
      ["REDIS_URL", `redis+cluster://:${password}%@h1:1,h2:2`, /URL-encoded/],
      ["OIDC_ISSUER", `not a url ${password}`, /https URL/],
      ["TRAEFIK_PROVIDER_TOKEN", password.slice(0, 8), /at least 16 characters/],
      ["METRICS_TOKEN", password.slice(0, 8), /at least 16 characters/],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, new RegExp(`^  ${name} \\(`, "m"));
          assert.match(error.message, problem);
          assert.doesNotMatch(error.message, new RegExp(password.slice(0, 8)), error.message);
          return true;
        },
        `${name}=${value}`,
      );
    }
  });

  it("accepts PostgreSQL URLs the client reads: encoded passwords, several hosts, IPv6", () => {
    for (const url of [
      "postgres://app:p%40ss%23word@db:5432/app",
      "postgresql://app@db/app?sslmode=require",
      "postgres://obiente:p%40ss@postgres-1:5432,postgres-2:5432,postgres-3:5432/obiente?target_session_attrs=read-write",
      "postgres://app:pw@[::1]:5432/app",
      "postgres://postgres:postgres@127.0.0.1:5432/postgres",
    ]) {
      assert.equal(loadConfig({ DATABASE_URL: url }).DATABASE_URL, url);
    }
  });

  it("reads TRUST_PROXY as proxies' addresses or a hop count, and refuses true", () => {
    assert.equal(loadConfig({}).TRUST_PROXY, false);
    assert.equal(loadConfig({ TRUST_PROXY: "false" }).TRUST_PROXY, false);
    assert.equal(loadConfig({ TRUST_PROXY: "0" }).TRUST_PROXY, false);
    assert.equal(loadConfig({ TRUST_PROXY: "2" }).TRUST_PROXY, 2);
    assert.deepEqual(
      loadConfig({ TRUST_PROXY: "10.0.0.0/8, 127.0.0.1,::1,fd00::/8" }).TRUST_PROXY,
      ["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"],
    );
    assert.deepEqual(loadConfig({ TRUST_PROXY: "loopback,uniquelocal" }).TRUST_PROXY, [
      "loopback",
      "uniquelocal",
    ]);
    assert.throws(
      () => loadConfig({ TRUST_PROXY: "true" }),
      /TRUST_PROXY="true": expected the addresses or CIDRs of the proxies .*"true" would believe the X-Forwarded-For of any client/,
    );
    for (const bad of ["10.0.0.0/33", "proxy.internal", "10.0.0.1/8/1", "::1/129", "1.2.3"]) {
      assert.throws(
        () => loadConfig({ TRUST_PROXY: `127.0.0.1,${bad}` }),
        new RegExp(`not an address or CIDR: "${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}"`),
        bad,
      );
    }
  });

  it("takes METRICS_PORT, or AGENT_METRICS_PORT, its former name, else 9464", () => {
    assert.equal(loadConfig({}).METRICS_PORT, 9464);
    assert.equal(loadConfig({}).METRICS_HOST, "127.0.0.1");
    assert.equal(loadConfig({ AGENT_METRICS_PORT: "9100" }).METRICS_PORT, 9100);
    assert.equal(loadConfig({ AGENT_METRICS_PORT: "9100", METRICS_PORT: "0" }).METRICS_PORT, 0);
  });

  it("reads the body bound, the address budget, the bootstrap token's life, previous keys", () => {
    const defaults = loadConfig({});
    assert.equal(defaults.RPC_MAX_BODY_BYTES, 1024 * 1024);
    assert.equal(defaults.RATE_LIMIT_ADDRESS_MAX, undefined);
    assert.equal(defaults.BOOTSTRAP_TOKEN_TTL_HOURS, 24);
    assert.equal(defaults.SECRETS_MASTER_KEY_PREVIOUS, undefined);
    const set = loadConfig({
      RPC_MAX_BODY_BYTES: "65536",
      RATE_LIMIT_ADDRESS_MAX: "50",
      BOOTSTRAP_TOKEN_TTL_HOURS: "0.5",
      SECRETS_MASTER_KEY_PREVIOUS: "a, b",
    });
    assert.equal(set.RPC_MAX_BODY_BYTES, 65536);
    assert.equal(set.RATE_LIMIT_ADDRESS_MAX, 50);
    assert.equal(set.BOOTSTRAP_TOKEN_TTL_HOURS, 0.5);
    assert.deepEqual(set.SECRETS_MASTER_KEY_PREVIOUS, ["a", "b"]);
  });
});

test("network isolation and remote engines: defaults, parsing, and what is refused", () => {
  const defaults = loadConfig({});
  assert.equal(defaults.NETWORK_ISOLATION, "on");
  assert.deepEqual(defaults.NETWORK_ISOLATION_ALLOW, []);
  assert.deepEqual(defaults.NETWORK_ISOLATION_ENGINE_PORTS, [2375, 2376]);
  assert.equal(defaults.NETWORK_ISOLATION_EXEC, "local");
  assert.equal(defaults.NETWORK_ISOLATION_IMAGE, undefined);
  assert.equal(defaults.ALLOW_INSECURE_ENGINE, false);
  const set = loadConfig({
    NETWORK_ISOLATION_ALLOW: "10.0.5.20/32:5432, 10.0.0.11:53",
    NETWORK_ISOLATION_BLOCK: "10.0.0.0/24",
    NETWORK_ISOLATION_ENGINE_PORTS: "2375,2376,12375",
    EDGE_ADDRESSES: "10.0.0.21,10.0.0.22",
    DOCKER_HOST: "ssh://obiente@10.0.0.12",
    NETWORK_ISOLATION_EXEC: "engine",
    NETWORK_ISOLATION_IMAGE: "registry.example.com/obiente:0.2.0",
  });
  assert.equal(set.NETWORK_ISOLATION_EXEC, "engine");
  assert.equal(set.NETWORK_ISOLATION_IMAGE, "registry.example.com/obiente:0.2.0");
  assert.deepEqual(set.NETWORK_ISOLATION_ALLOW, ["10.0.5.20/32:5432", "10.0.0.11:53"]);
  assert.deepEqual(set.NETWORK_ISOLATION_ENGINE_PORTS, [2375, 2376, 12375]);
  assert.deepEqual(set.EDGE_ADDRESSES, ["10.0.0.21", "10.0.0.22"]);
  for (const [name, value, expected] of [
    ["NETWORK_ISOLATION", "maybe", /on or off/],
    ["NETWORK_ISOLATION_ALLOW", "10.0.5.20/32", /CIDR:PORT/],
    ["NETWORK_ISOLATION_BLOCK", "10.0.0.0/33", /IPv4 addresses or CIDRs/],
    ["NETWORK_ISOLATION_ENGINE_PORTS", "2375,x", /TCP ports/],
    ["NETWORK_ISOLATION_EXEC", "nsenter", /local or engine/],
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

test("NETWORK_ISOLATION_NETNS goes with iptables run by the agent, not by the engine's helper", () => {
  assert.equal(
    loadConfig({ NETWORK_ISOLATION_NETNS: "/proc/1/ns/net" }).NETWORK_ISOLATION_EXEC,
    "local",
  );
  assert.throws(
    () =>
      loadConfig({ NETWORK_ISOLATION_EXEC: "engine", NETWORK_ISOLATION_NETNS: "/proc/1/ns/net" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      /NETWORK_ISOLATION_NETNS is set: expected it with NETWORK_ISOLATION_EXEC=local/.test(
        error.message,
      ),
  );
});

test("backups: the agents' addresses and their token, both or neither, from files too", (t) => {
  const token = "0123456789abcdef0123456789abcdef";
  assert.equal(loadConfig({}).BACKUP_AGENT_URLS, undefined);
  assert.equal(loadConfig({}).BACKUP_TIMEOUT_SECONDS, 21_600);
  const dir = mkdtempSync(join(tmpdir(), "obiente-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "token");
  writeFileSync(file, `${token}\n`);
  const config = loadConfig({
    BACKUP_AGENT_URLS: "http://postgres-1:8009, http://postgres-2:8009/,https://10.0.0.3:8009",
    BACKUP_AGENT_TOKEN_FILE: file,
  });
  assert.deepEqual(config.BACKUP_AGENT_URLS, [
    "http://postgres-1:8009",
    "http://postgres-2:8009",
    "https://10.0.0.3:8009",
  ]);
  assert.equal(config.BACKUP_AGENT_TOKEN, token);

  const password = "hunter2-s3cret";
  for (const [env, expected] of [
    [
      { BACKUP_AGENT_URLS: "http://postgres-1:8009" },
      /BACKUP_AGENT_URLS is set: expected BACKUP_AGENT_TOKEN \(or BACKUP_AGENT_TOKEN_FILE\)/,
    ],
    [{ BACKUP_AGENT_TOKEN: token }, /BACKUP_AGENT_TOKEN is set: expected BACKUP_AGENT_URLS/],
    [
      { BACKUP_AGENT_URLS: "postgres-1:8009", BACKUP_AGENT_TOKEN: token },
      /entry 1 is not http:\/\/ or https:\/\//,
    ],
    [
      { BACKUP_AGENT_URLS: "http://postgres-1:8009,not a url", BACKUP_AGENT_TOKEN: token },
      /http:\/\/postgres-1:8009,http:\/\/postgres-2:8009; entry 2 is not a URL/,
    ],
    [
      { BACKUP_AGENT_URLS: `http://u:${password}@postgres-1:8009`, BACKUP_AGENT_TOKEN: token },
      /entry 1 holds a user name or password/,
    ],
    [
      { BACKUP_AGENT_URLS: "http://postgres-1:8009/backups", BACKUP_AGENT_TOKEN: token },
      /entry 1 has a path/,
    ],
    [
      {
        BACKUP_AGENT_URLS: "http://postgres-1:8009,http://postgres-1:8009/",
        BACKUP_AGENT_TOKEN: token,
      },
      /entry 2 names the agent of entry 1/,
    ],
    [{ BACKUP_AGENT_URLS: ",", BACKUP_AGENT_TOKEN: token }, /no address given/],
    [
      { BACKUP_AGENT_URLS: "http://postgres-1:8009", BACKUP_AGENT_TOKEN: "short" },
      /BACKUP_AGENT_TOKEN \(the value is not shown\): expected at least 16/,
    ],
    [{ BACKUP_TIMEOUT_SECONDS: "0" }, /BACKUP_TIMEOUT_SECONDS="0"/],
  ] as const) {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, expected);
        assert.doesNotMatch(error.message, new RegExp(`${password}|${token}|short`));
        return true;
      },
      JSON.stringify(env),
    );
  }
});
