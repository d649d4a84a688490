import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { DomainError } from "../domain/index.js";

/**
 * Authenticated encryption (AES-256-GCM) for env vars and secrets at rest.
 *
 * A sealed value is a self-describing string: `v1:<keyId>:<iv>:<tag>:<ciphertext>` (the last three
 * base64url). The key id is a fingerprint of the master key, so that after a key rotation the box
 * can pick the right old key for values written before it; values are re-encrypted with the
 * current key as they are rewritten, or all at once by `obiente secrets rotate` (reseal).
 *
 * The optional AAD (additional authenticated data) binds a value to where it is stored, for
 * example `deployment:<id>:env:<NAME>`: a ciphertext copied to another row does not decrypt.
 */

const VERSION = "v1";
const KEY_BYTES = 32;
const IV_BYTES = 12; // the size GCM is designed for; random per value
const TAG_BYTES = 16;
// Prefixed to the caller's AAD so that a future format version can never accept a v1 value as its
// own (and the other way round), whatever the caller's AAD is.
const AAD_DOMAIN = `obiente.secret-box.${VERSION}\u0000`;
const KEY_ID_LABEL = "obiente.secret-box.key-id";
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const KEY_ID = /^[0-9a-f]{8}$/;

export interface SecretBoxOptions {
  /** Keys that were current before a rotation: used to decrypt, never to encrypt. */
  previousKeys?: readonly Buffer[];
}

export class SecretBox {
  readonly #keys = new Map<string, Buffer>();
  readonly #keyId: string;
  readonly #key: Buffer;

  constructor(masterKey: Buffer, options: SecretBoxOptions = {}) {
    [this.#keyId, this.#key] = this.#addKey(masterKey);
    for (const key of options.previousKeys ?? []) this.#addKey(key);
  }

  /** Fingerprint of the current master key, as written into every value it seals. */
  get keyId(): string {
    return this.#keyId;
  }

  /** Fingerprints of the keys that decrypt but no longer encrypt (SECRETS_MASTER_KEY_PREVIOUS). */
  get previousKeyIds(): string[] {
    return [...this.#keys.keys()].filter((id) => id !== this.#keyId);
  }

  /**
   * The value sealed again under the current key, or undefined when it already is (so that a
   * rotation that runs twice changes nothing the second time). Throws as decrypt does.
   */
  reseal(sealed: string, aad?: string): string | undefined {
    if (sealedKeyId(sealed) === this.#keyId) return undefined;
    return this.encrypt(this.decrypt(sealed, aad), aad);
  }

  encrypt(plaintext: string, aad?: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      VERSION,
      this.#keyId,
      iv.toString("base64url"),
      tag.toString("base64url"),
      ciphertext.toString("base64url"),
    ].join(":");
  }

  decrypt(sealed: string, aad?: string): string {
    const parts = sealed.split(":");
    if (parts.length !== 5 || parts[0] !== VERSION) {
      throw decryptionFailed(`it is not a ${VERSION} secret-box value`);
    }
    const [, keyId = "", ivText = "", tagText = "", ciphertextText = ""] = parts;
    if (
      !KEY_ID.test(keyId) ||
      ![ivText, tagText, ciphertextText].every((part) => BASE64URL.test(part))
    ) {
      throw decryptionFailed("it is not a well-formed value");
    }
    const key = this.#keys.get(keyId);
    if (!key) {
      throw decryptionFailed(
        `it was encrypted with key ${keyId}, which is neither the current master key nor one of the previous keys`,
      );
    }
    const iv = Buffer.from(ivText, "base64url");
    const tag = Buffer.from(tagText, "base64url");
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw decryptionFailed("it is not a well-formed value");
    }
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(aad));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertextText, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    } catch (cause) {
      throw decryptionFailed(
        "it was modified, or it belongs to another record (the associated data does not match)",
        cause,
      );
    }
  }

  #addKey(key: Buffer): [id: string, key: Buffer] {
    if (key.length !== KEY_BYTES) {
      throw new Error(`a secret-box key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    const id = keyFingerprint(key);
    const copy = this.#keys.get(id) ?? Buffer.from(key); // a copy: the caller may zero theirs
    this.#keys.set(id, copy);
    return [id, copy];
  }
}

/** The id of the key a sealed value names, or undefined when it is not a secret-box value. */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split(":");
  return parts.length === 5 && parts[0] === VERSION && KEY_ID.test(parts[1] ?? "")
    ? parts[1]
    : undefined;
}

/**
 * Short, stable identifier of a key: HMAC-SHA256 keyed by the key over a constant label. It tells
 * keys apart without revealing anything about them.
 */
export function keyFingerprint(key: Buffer): string {
  return createHmac("sha256", key).update(KEY_ID_LABEL).digest("hex").slice(0, 8);
}

/**
 * Reads a master key from configuration: 64 hex characters, or the base64 (or base64url) encoding
 * of 32 bytes. The message never repeats the input, which is a secret.
 */
export function parseMasterKey(text: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const key = Buffer.from(value, "base64");
    // Reject non-canonical encodings (stray low bits in the last character) so one key has one
    // spelling.
    const canonical = value.replace(/=$/, "").replaceAll("+", "-").replaceAll("/", "_");
    if (key.length === KEY_BYTES && key.toString("base64url") === canonical) return key;
  }
  throw new Error(
    `the master key must be 64 hex characters or the base64 encoding of 32 bytes (got ${value.length} characters that are neither); generate one with \`openssl rand -base64 32\``,
  );
}

/** A new random master key, base64-encoded, ready to be put into configuration. */
export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

function additionalData(aad: string | undefined): Buffer {
  return Buffer.from(AAD_DOMAIN + (aad ?? ""), "utf8");
}

/**
 * A stored secret that cannot be opened is not the caller's fault: it is a wrong or missing key
 * in the configuration, or damaged data. Hence `internal`, with a message an operator can act on.
 */
function decryptionFailed(reason: string, cause?: unknown): DomainError {
  return new DomainError("internal", `cannot decrypt a stored secret: ${reason}`, { cause });
}
