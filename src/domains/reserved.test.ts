import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isReservedHost, isReservedLabel, reservedNames } from "./reserved.js";

describe("reserved names", () => {
  const reserved = reservedNames({
    RESERVED_NAMES: ["www", "login", "cloud.example.com"],
    PLATFORM_DOMAIN: "apps.example.com",
    OIDC_ISSUER: "https://id.example.com/realms/main",
    CORS_ORIGINS: ["https://dashboard.example.com:8443", "*"],
  });

  it("keeps labels from being default names", () => {
    assert.ok(isReservedLabel(reserved, "login"));
    assert.ok(isReservedLabel(reserved, "WWW"));
    assert.ok(!isReservedLabel(reserved, "login-shop"));
    assert.ok(!isReservedLabel(reserved, "cloud"));
  });

  it("keeps the platform's own hosts from being custom domains", () => {
    for (const host of [
      "cloud.example.com",
      "id.example.com",
      "dashboard.example.com",
      "login.apps.example.com",
    ]) {
      assert.ok(isReservedHost(reserved, host), host);
    }
    assert.ok(!isReservedHost(reserved, "shop.example.com"));
    assert.ok(!isReservedHost(reserved, "www.shop.example.com"));
  });
});
