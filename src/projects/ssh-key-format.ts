/**
 * An ed25519 key pair in the formats OpenSSH reads. Pure (but for the randomness of the key and
 * of the check number).
 *
 * The private key is written in OpenSSH's own "openssh-key-v1" format (PROTOCOL.key in OpenSSH's
 * sources), unencrypted: OpenSSH 9.2, Debian 12's, refuses an ed25519 key in PKCS#8 PEM ("Load
 * key: invalid format"), which is what node:crypto exports. The public key is the
 * authorized_keys line `ssh-ed25519 <base64 blob> <comment>`, and its fingerprint the one
 * `ssh-keygen -l` prints: `SHA256:` and the unpadded base64 of the blob's SHA-256.
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";

const KEY_TYPE = "ssh-ed25519";
const AUTH_MAGIC = "openssh-key-v1\0";
/** The cipher "none" pads the private section to 8 bytes. */
const BLOCK_SIZE = 8;

export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` …, for `ssh -i`. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, for authorized_keys and forges' deploy key forms. */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** A new ed25519 key pair; `comment` (one line, printable) ends the public key line. */
export function generateSshKeyPair(comment: string): SshKeyPair {
  if (/[\u0000-\u001f\u007f]/.test(comment)) {
    throw new Error("an ssh key comment is one line of printable text");
  }
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d ?? "", "base64url");
  const pub = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  if (seed.length !== 32 || pub.length !== 32) throw new Error("unexpected ed25519 key size");
  return {
    privateKey: openSshPrivateKey(seed, pub, comment),
    publicKey: authorizedKeyLine(pub, comment),
    fingerprint: fingerprintOf(pub),
  };
}

/** The public key blob: string "ssh-ed25519", string key. */
function publicBlob(pub: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
}

export function authorizedKeyLine(pub: Buffer, comment: string): string {
  const line = `${KEY_TYPE} ${publicBlob(pub).toString("base64")}`;
  return comment === "" ? line : `${line} ${comment}`;
}

export function fingerprintOf(pub: Buffer): string {
  const digest = createHash("sha256").update(publicBlob(pub)).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

export function openSshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
  const check = randomBytes(4);
  const unpadded = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(pub),
    // OpenSSH keeps the 32-byte seed followed by the public key.
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padLength = (BLOCK_SIZE - (unpadded.length % BLOCK_SIZE)) % BLOCK_SIZE;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from(AUTH_MAGIC, "latin1"),
    sshString("none"), // cipher
    sshString("none"), // kdf
    sshString(""), // kdf options
    uint32(1), // one key
    sshString(publicBlob(pub)),
    sshString(Buffer.concat([unpadded, padding])),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    ...lines,
    "-----END OPENSSH PRIVATE KEY-----",
    "",
  ].join("\n");
}

function uint32(n: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(n);
  return buffer;
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}
