import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  apiTokenMatches,
  constantTimeEqual,
  generateApiToken,
  hashApiToken,
  looksLikeApiToken,
} from "./tokens.js";

describe("API tokens", () => {
  it("generates obt_ + 43 base64url characters, its SHA-256 and a display prefix", () => {
    const { token, hash, prefix } = generateApiToken();
    assert.match(token, /^obt_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token.slice(4), "base64url").length, 32);
    assert.equal(hash, createHash("sha256").update(token).digest("hex"));
    assert.equal(hash, hashApiToken(token));
    assert.equal(prefix, token.slice(0, 12));
    assert.notEqual(generateApiToken().token, token);
  });

  it("recognises every generated token", () => {
    for (let i = 0; i < 500; i++) assert.ok(looksLikeApiToken(generateApiToken().token));
  });

  it("recognises exactly the encodings of 32 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes) => {
        const token = `obt_${Buffer.from(bytes).toString("base64url")}`;
        assert.equal(looksLikeApiToken(token), bytes.length === 32);
      }),
    );
  });

  it("rejects near misses", () => {
    const { token } = generateApiToken();
    for (const text of [
      "",
      token.slice(4),
      `obt-${token.slice(4)}`,
      `OBT_${token.slice(4)}`,
      `${token}A`,
      token.slice(0, -1),
      `${token.slice(0, -1)}B`, // stray low bits: not the encoding of 32 bytes
      `${token.slice(0, 10)}+${token.slice(11)}`,
      ` ${token}`,
      `${token}\n`,
    ]) {
      assert.equal(looksLikeApiToken(text), false, JSON.stringify(text));
    }
  });

  it("matches a token against a stored hash", () => {
    const { token, hash } = generateApiToken();
    assert.ok(apiTokenMatches(token, hash));
    assert.equal(apiTokenMatches(generateApiToken().token, hash), false);
    assert.equal(apiTokenMatches(token, hash.slice(1)), false);
  });

  it("compares strings of any length without throwing", () => {
    assert.ok(constantTimeEqual("abc", "abc"));
    assert.equal(constantTimeEqual("abc", "abd"), false);
    assert.equal(constantTimeEqual("abc", "abcd"), false);
    assert.equal(constantTimeEqual("é", "e"), false);
    assert.ok(constantTimeEqual("", ""));
  });
});
