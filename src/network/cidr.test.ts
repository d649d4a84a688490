import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import {
  isIpv4,
  isIpv4Cidr,
  isPrivateIpv4,
  normalizeCidr,
  parseAllowEntry,
  serviceHosts,
} from "./cidr.js";

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

describe("isPrivateIpv4", () => {
  it("is true for RFC 1918, shared and benchmarking addresses only", () => {
    for (const a of ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1"]) {
      assert.equal(isPrivateIpv4(a), true, a);
    }
    assert.equal(isPrivateIpv4("198.18.0.5"), true);
    for (const a of ["172.15.0.1", "172.32.0.1", "8.8.8.8", "100.128.0.1", "127.0.0.1", "db"]) {
      assert.equal(isPrivateIpv4(a), false, a);
    }
  });
});

describe("serviceHosts", () => {
  it("names every host of a URL, without user, password, port or brackets", () => {
    assert.deepEqual(
      serviceHosts("postgres://u:p%40ss@db1:5432,db2:5433/obiente?sslmode=require"),
      ["db1", "db2"],
    );
    assert.deepEqual(serviceHosts("redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/main"), [
      "10.0.0.5",
      "10.0.0.6",
    ]);
    assert.deepEqual(serviceHosts("redis://:secret@[fd00::5]:6379"), ["fd00::5"]);
    assert.deepEqual(serviceHosts("https://id.example.com/realms/x"), ["id.example.com"]);
    assert.deepEqual(serviceHosts("not a url"), []);
  });
});
