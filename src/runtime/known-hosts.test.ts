import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { KnownHosts } from "./known-hosts.js";

const key = Buffer.from("the host key blob");
const other = Buffer.from("another key");
const b64 = key.toString("base64");

function hashed(name: string): string {
  const salt = Buffer.from("0123456789abcdef0123");
  const hash = createHmac("sha1", salt).update(name).digest("base64");
  return `|1|${salt.toString("base64")}|${hash}`;
}

test("plain, bracketed, wildcard and hashed host patterns", () => {
  const known = new KnownHosts(
    [
      "# comment",
      `node-1,10.0.0.11 ssh-ed25519 ${b64}`,
      `[10.0.0.12]:2222 ssh-ed25519 ${b64} a comment`,
      `*.nodes.example,!bad.nodes.example ssh-ed25519 ${b64}`,
      `${hashed("10.0.0.13")} ssh-ed25519 ${b64}`,
      "",
    ].join("\n"),
  );
  assert.equal(known.accepts("node-1", 22, key), true);
  assert.equal(known.accepts("10.0.0.11", "22", key), true);
  assert.equal(known.accepts("10.0.0.11", 22, other), false);
  assert.equal(known.accepts("10.0.0.11", 2222, key), false);
  assert.equal(known.accepts("10.0.0.12", 2222, key), true);
  assert.equal(known.accepts("10.0.0.12", 22, key), false);
  assert.equal(known.accepts("a.nodes.example", 22, key), true);
  assert.equal(known.accepts("bad.nodes.example", 22, key), false);
  assert.equal(known.accepts("10.0.0.13", 22, key), true);
  assert.equal(known.accepts("10.0.0.14", 22, key), false);
});

test("a revoked key is refused; cert-authority lines are skipped", () => {
  const known = new KnownHosts(
    [
      `node-1 ssh-ed25519 ${b64}`,
      `@revoked * ssh-ed25519 ${b64}`,
      `@cert-authority * ssh-ed25519 ${other.toString("base64")}`,
    ].join("\n"),
  );
  assert.equal(known.accepts("node-1", 22, key), false);
  assert.equal(known.accepts("node-1", 22, other), false);
});
