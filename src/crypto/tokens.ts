import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API tokens: `obt_` followed by 32 random bytes in base64url (43 characters). The fixed prefix
 * lets secret scanners (and people) recognise a leaked token; only its hash is stored.
 */

export const API_TOKEN_PREFIX = "obt_";
const TOKEN_BYTES = 32;
/** How much of a token is kept in clear to tell tokens apart in listings: `obt_` + 8 characters. */
const DISPLAY_PREFIX_LENGTH = 12;
// 32 bytes are 256 bits: 42 base64url characters carry 252 of them, and the 43rd carries the last
// 4 bits followed by two zero bits, so it can only be one of these 16 characters.
const API_TOKEN_PATTERN = /^obt_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export interface GeneratedApiToken {
  /** The token itself: shown to the user once, never stored. */
  token: string;
  /** What is stored and looked up: see {@link hashApiToken}. */
  hash: string;
  /** The first characters of the token, stored for display ("obt_AbCd1234…"). */
  prefix: string;
}

export function generateApiToken(): GeneratedApiToken {
  const token = API_TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString("base64url");
  return { token, hash: hashApiToken(token), prefix: token.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/**
 * SHA-256 of the token, in hex. A fast, unsalted hash is the right tool here, unlike for
 * passwords: the token has 256 bits of entropy, so there is nothing to brute-force or precompute,
 * and a deterministic hash is what lets the store find a token by an indexed lookup.
 */
export function hashApiToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** True for a string with exactly the shape of a token this platform issues. */
export function looksLikeApiToken(text: string): boolean {
  return API_TOKEN_PATTERN.test(text);
}

/**
 * Whether `token` is the token whose hash is `expectedHash`, compared in constant time. For tokens
 * held in memory (a bootstrap token from configuration, say); tokens in the database are found
 * by their hash instead, which leaks nothing an attacker can use.
 */
export function apiTokenMatches(token: string, expectedHash: string): boolean {
  return constantTimeEqual(hashApiToken(token), expectedHash);
}

/** String equality whose running time does not depend on where the strings differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  // The length is not secret (hashes have a fixed one); comparing equal lengths only keeps
  // timingSafeEqual from throwing.
  return left.length === right.length && timingSafeEqual(left, right);
}
