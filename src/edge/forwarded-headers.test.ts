import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { edgeForwardedHeaders, forwardedElement, isClientClaim } from "./forwarded-headers.js";

describe("forwarded headers", () => {
  it("treats every x-forwarded-* and the vendor names as claims, nothing else", () => {
    for (const name of ["forwarded", "x-real-ip", "x-forwarded-whatever", "true-client-ip"]) {
      assert.equal(isClientClaim(name), true, name);
    }
    for (const name of ["host", "x-custom", "authorization", "x-forward"]) {
      assert.equal(isClientClaim(name), false, name);
    }
  });

  it("formats RFC 7239 elements: IPv6 bracketed and quoted, a host with a port quoted", () => {
    const cases: Array<[string, string | undefined, string, string]> = [
      ["192.0.2.60", "example.com", "http", "for=192.0.2.60;host=example.com;proto=http"],
      ["2001:db8::1", "example.com", "https", 'for="[2001:db8::1]";host=example.com;proto=https'],
      ["10.0.0.1", "app.test:8080", "http", 'for=10.0.0.1;host="app.test:8080";proto=http'],
      ["10.0.0.1", undefined, "http", "for=10.0.0.1;proto=http"],
      ["10.0.0.1", 'a"b\\c', "http", 'for=10.0.0.1;host="a\\"b\\\\c";proto=http'],
    ];
    for (const [address, host, proto, want] of cases) {
      assert.equal(forwardedElement(address, host, proto), want);
    }
  });

  it("states the peer of a dual-stack socket as IPv4", () => {
    assert.deepEqual(
      edgeForwardedHeaders({ address: "::ffff:10.0.0.5", host: "a.test", encrypted: true }),
      {
        "x-forwarded-for": "10.0.0.5",
        "x-forwarded-proto": "https",
        "x-real-ip": "10.0.0.5",
        forwarded: "for=10.0.0.5;host=a.test;proto=https",
        "x-forwarded-host": "a.test",
      },
    );
  });
});
