import assert from "node:assert/strict";
import { test } from "node:test";
import { isIpv4, isIpv4Cidr, normalizeCidr, parseAllowEntry } from "./cidr.js";

test("IPv4 addresses and CIDRs", () => {
  for (const ok of ["10.0.0.1", "255.255.255.255", "0.0.0.0"]) assert.equal(isIpv4(ok), true, ok);
  for (const bad of ["10.0.0", "256.0.0.1", "10.0.0.1/32", "::1", "a.b.c.d", ""]) {
    assert.equal(isIpv4(bad), false, bad);
  }
  for (const ok of ["10.0.0.0/8", "10.0.0.1", "169.254.0.0/16", "0.0.0.0/0"]) {
    assert.equal(isIpv4Cidr(ok), true, ok);
  }
  for (const bad of ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8/1", "10.0.0.0/x", "-j ACCEPT"]) {
    assert.equal(isIpv4Cidr(bad), false, bad);
  }
  assert.equal(normalizeCidr("10.0.0.1"), "10.0.0.1/32");
  assert.equal(normalizeCidr("10.0.0.0/24"), "10.0.0.0/24");
  assert.throws(() => normalizeCidr("x"));
});

test("allow-list entries are CIDR:PORT", () => {
  assert.deepEqual(parseAllowEntry("10.0.5.20/32:5432"), { cidr: "10.0.5.20/32", port: 5432 });
  assert.deepEqual(parseAllowEntry("10.0.5.20:6379"), { cidr: "10.0.5.20/32", port: 6379 });
  for (const bad of ["10.0.5.20", "10.0.5.20:0", "10.0.5.20:65536", "x:1", "10.0.5.20/32:1-2"]) {
    assert.equal(parseAllowEntry(bad), undefined, bad);
  }
});
