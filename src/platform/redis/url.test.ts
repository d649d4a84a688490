import assert from "node:assert/strict";
import { test } from "node:test";
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
