import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLoopbackAddress } from "./traefik-provider.js";

describe("isLoopbackAddress", () => {
  it("is true for 127.0.0.0/8 and ::1, however written", () => {
    for (const address of [
      "127.0.0.1",
      "127.5.6.7",
      "::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
    ]) {
      assert.equal(isLoopbackAddress(address), true, address);
    }
  });

  it("is false for any other address, and for no address", () => {
    for (const address of [
      "10.0.0.1",
      "128.0.0.1",
      "::ffff:10.0.0.1",
      "::2",
      "::",
      "fe80::1",
      "",
      "localhost",
      undefined,
    ]) {
      assert.equal(isLoopbackAddress(address), false, String(address));
    }
  });
});
