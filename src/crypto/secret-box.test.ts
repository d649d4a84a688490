import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DomainError } from "../domain/errors.js";
import {
  generateMasterKey,
  keyFingerprint,
  parseMasterKey,
  SecretBox,
  sealedKeyId,
} from "./secret-box.js";

const isDecryptionError = (error: unknown) =>
  error instanceof DomainError &&
  error.kind === "internal" &&
  error.message.startsWith("cannot decrypt a stored secret");

describe("SecretBox", () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);

  it("round-trips any string, with and without associated data", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.option(fc.string()), (text, aad) => {
        const sealed = box.encrypt(text, aad ?? undefined);
        assert.equal(box.decrypt(sealed, aad ?? undefined), text);
      }),
    );
  });

  it("writes a versioned value that names its key and uses a fresh IV each time", () => {
    const first = box.encrypt("postgres://user:pw@db/app", "deployment:d1:env:DATABASE_URL");
    const second = box.encrypt("postgres://user:pw@db/app", "deployment:d1:env:DATABASE_URL");
    assert.match(first, /^v1:[0-9a-f]{8}:[\w-]{16}:[\w-]{22}:[\w-]+$/);
    assert.equal(first.split(":")[1], keyFingerprint(key));
    assert.equal(box.keyId, keyFingerprint(key));
    assert.notEqual(first, second);
    assert.notEqual(first.split(":")[2], second.split(":")[2]);
  });

  it("rejects a value moved to another row (different associated data)", () => {
    const sealed = box.encrypt("s3cret", "deployment:d1:env:API_KEY");
    assert.throws(() => box.decrypt(sealed, "deployment:d2:env:API_KEY"), isDecryptionError);
    assert.throws(() => box.decrypt(sealed), isDecryptionError);
    assert.throws(
      () => box.decrypt(box.encrypt("s3cret"), "deployment:d1:env:API_KEY"),
      isDecryptionError,
    );
  });

  it("rejects any tampering with the IV, the tag or the ciphertext", () => {
    const sealed = box.encrypt("a value worth protecting", "row-1");
    const parts = sealed.split(":");
    for (const index of [2, 3, 4]) {
      const bytes = Buffer.from(parts[index] ?? "", "base64url");
      bytes[0] = (bytes[0] ?? 0) ^ 0x01;
      const tampered = parts.with(index, bytes.toString("base64url")).join(":");
      assert.throws(() => box.decrypt(tampered, "row-1"), isDecryptionError, `part ${index}`);
    }
  });

  it("rejects values that are not secret-box values, with a clear error", () => {
    for (const junk of ["", "plain text", "v2:abcd1234:a:b:c", "v1:abcd1234:!!:b:c", "v1:x"]) {
      assert.throws(() => box.decrypt(junk), isDecryptionError, junk);
    }
    const parts = box.encrypt("x").split(":");
    assert.throws(() => box.decrypt(parts.with(2, "AAAA").join(":")), /not a well-formed value/);
  });

  it("decrypts values written under a previous key and names an unknown key", () => {
    const oldKey = randomBytes(32);
    const oldBox = new SecretBox(oldKey);
    const sealedWithOld = oldBox.encrypt("legacy", "row");

    const rotated = new SecretBox(randomBytes(32), { previousKeys: [oldKey] });
    assert.equal(rotated.decrypt(sealedWithOld, "row"), "legacy");
    assert.equal(rotated.encrypt("new").split(":")[1], rotated.keyId);
    assert.notEqual(rotated.keyId, oldBox.keyId);

    assert.throws(
      () => box.decrypt(sealedWithOld, "row"),
      (error: unknown) =>
        isDecryptionError(error) &&
        (error as Error).message.includes(`encrypted with key ${oldBox.keyId}`),
    );
  });

  it("reseals a value under the current key once, and leaves a current one alone", () => {
    const oldKey = randomBytes(32);
    const sealedWithOld = new SecretBox(oldKey).encrypt("value", "row");
    const newKey = randomBytes(32);
    const rotated = new SecretBox(newKey, { previousKeys: [oldKey] });
    assert.deepEqual(rotated.previousKeyIds, [keyFingerprint(oldKey)]);
    assert.equal(sealedKeyId(sealedWithOld), keyFingerprint(oldKey));

    const resealed = rotated.reseal(sealedWithOld, "row");
    assert.ok(resealed);
    assert.equal(sealedKeyId(resealed), rotated.keyId);
    assert.equal(rotated.decrypt(resealed, "row"), "value");
    assert.equal(rotated.reseal(resealed, "row"), undefined, "already under the current key");
    // Once resealed, the value no longer needs the old key.
    assert.equal(new SecretBox(newKey).decrypt(resealed, "row"), "value");
    assert.throws(() => rotated.reseal(sealedWithOld, "another row"), isDecryptionError);
    assert.throws(() => rotated.reseal("junk", "row"), isDecryptionError);
    assert.equal(sealedKeyId("junk"), undefined);
  });

  it("refuses keys that are not 32 bytes", () => {
    assert.throws(() => new SecretBox(randomBytes(16)), /must be 32 bytes, got 16/);
    assert.throws(
      () => new SecretBox(randomBytes(32), { previousKeys: [randomBytes(31)] }),
      /must be 32 bytes, got 31/,
    );
  });
});

describe("parseMasterKey", () => {
  it("accepts 64 hex characters and base64 or base64url of 32 bytes", () => {
    const key = randomBytes(32);
    for (const text of [
      key.toString("hex"),
      key.toString("hex").toUpperCase(),
      key.toString("base64"),
      key.toString("base64").replace(/=$/, ""),
      key.toString("base64url"),
      `  ${key.toString("base64")}\n`,
    ]) {
      assert.deepEqual(parseMasterKey(text), key, text);
    }
  });

  it("accepts what generateMasterKey produces", () => {
    const text = generateMasterKey();
    assert.equal(parseMasterKey(text).length, 32);
    assert.notEqual(generateMasterKey(), text);
  });

  it("rejects anything else without echoing the input", () => {
    const secretLooking = randomBytes(16).toString("hex");
    for (const text of [
      "",
      secretLooking,
      randomBytes(33).toString("base64"),
      `${randomBytes(32).toString("hex")}0`,
      "correct horse battery staple",
    ]) {
      assert.throws(
        () => parseMasterKey(text),
        (error: unknown) =>
          error instanceof Error &&
          /64 hex characters or the base64 encoding of 32 bytes/.test(error.message) &&
          (text === "" || !error.message.includes(text)),
        text,
      );
    }
  });

  it("rejects a non-canonical base64 spelling", () => {
    // The last of 43 characters carries 4 bits and two zero bits: "B" sets a stray low bit.
    const text = randomBytes(32).toString("base64url");
    assert.throws(() => parseMasterKey(`${text.slice(0, -1)}B`), /64 hex characters/);
  });
});
