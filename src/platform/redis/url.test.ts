import assert from "node:assert/strict";
import { test } from "node:test";
import { reconnectOnReadOnly } from "./connection.js";
import { parseRedisUrl } from "./url.js";

test("a redis:// or rediss:// URL names one node, left to ioredis to parse", () => {
  for (const url of ["redis://127.0.0.1:6379", "rediss://:pw@cache.internal:6380/2"]) {
    assert.deepEqual(parseRedisUrl(url), { kind: "single", url });
  }
});

test("a redis+cluster:// URL lists the seed nodes, with credentials and TLS", () => {
  assert.deepEqual(parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002"), {
    kind: "cluster",
    nodes: [
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 6379 },
      { host: "::1", port: 7002 },
    ],
    auth: { tls: false },
  });
  assert.deepEqual(parseRedisUrl("rediss+cluster://app:p%40ss@h1:1,h2:2/"), {
    kind: "cluster",
    nodes: [
      { host: "h1", port: 1 },
      { host: "h2", port: 2 },
    ],
    auth: { tls: true, username: "app", password: "p@ss" },
  });
  assert.deepEqual(parseRedisUrl("redis+cluster://:secret@h1:1").kind, "cluster");
});

test("anything else is refused with the forms that work", () => {
  for (const url of ["http://h:1", "redis+cluster://h1:1/3", "redis+cluster://", "h1:6379"]) {
    assert.throws(() => parseRedisUrl(url), /redis\+cluster:\/\/h1:p1,h2:p2/, url);
  }
});

test("a redis+sentinel:// URL lists the Sentinels and names the master group", () => {
  assert.deepEqual(parseRedisUrl("redis+sentinel://redis-1:26379,redis-2,[::1]:26380/obiente"), {
    kind: "sentinel",
    sentinels: [
      { host: "redis-1", port: 26379 },
      { host: "redis-2", port: 26379 },
      { host: "::1", port: 26380 },
    ],
    name: "obiente",
    auth: { tls: false },
    sentinelAuth: {},
    db: 0,
  });
  assert.deepEqual(
    parseRedisUrl(
      "rediss+sentinel://app:p%40ss@h1:1/main?db=2&sentinelPassword=s%26cret&sentinelUsername=sen",
    ),
    {
      kind: "sentinel",
      sentinels: [{ host: "h1", port: 1 }],
      name: "main",
      auth: { tls: true, username: "app", password: "p@ss" },
      sentinelAuth: { username: "sen", password: "s&cret" },
      db: 2,
    },
  );
});

test("a redis+sentinel:// URL without a master name, or with unknown parameters, is refused", () => {
  assert.throws(
    () => parseRedisUrl("redis+sentinel://h1:26379"),
    /redis\+sentinel:\/\/h1:26379,h2:26379\/master/,
  );
  assert.throws(() => parseRedisUrl("redis+sentinel://h1:26379/"), /redis\+sentinel/);
  assert.throws(
    () => parseRedisUrl("redis+sentinel://h1/m?password=x"),
    /unknown parameter "password"/,
  );
  assert.throws(() => parseRedisUrl("redis+sentinel://h1/m?db=-1"), /db must be a whole number/);
  assert.throws(() => parseRedisUrl("redis+sentinel://h1:port/m"), /"h1:port" is not host:port/);
});

test("READONLY (a demoted master) reconnects and resends; other errors do not", () => {
  assert.equal(
    reconnectOnReadOnly(new Error("READONLY You can't write against a read only replica.")),
    2,
  );
  assert.equal(
    reconnectOnReadOnly(new Error("NOREPLICAS Not enough good replicas to write.")),
    false,
  );
});
