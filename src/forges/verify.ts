/**
 * Whether a delivery comes from the forge that holds the webhook's secret. Each forge proves it
 * its own way:
 *
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`;
 * - Bitbucket Cloud: the same proof in `X-Hub-Signature`;
 * - Gitea: `X-Gitea-Signature: <hex HMAC-SHA256>`; Forgejo sends `X-Forgejo-Signature` as well,
 *   with the same value, and either is enough; every one present must hold;
 * - GitLab: `X-Gitlab-Token` is the secret itself.
 *
 * Every comparison runs in time independent of where the values differ (`timingSafeEqual`, once
 * the lengths are known equal: it throws otherwise). The HMAC is over the raw bytes received,
 * never over JSON parsed and written again.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { type ForgeName, type Headers, headerValues } from "./forge.js";

/** The headers through which Gitea and Forgejo send their signature. */
const GITEA_SIGNATURE_HEADERS = ["X-Gitea-Signature", "X-Forgejo-Signature"];

/**
 * True when the delivery carries a valid proof of `secret` for `body`. An empty secret proves
 * nothing and never verifies; a proof header sent twice is refused rather than guessed at.
 */
export function verifyDelivery(
  forge: ForgeName,
  headers: Headers,
  body: Buffer,
  secret: string,
): boolean {
  if (secret === "") return false;
  switch (forge) {
    case "github":
      return signatureHolds(headers, "X-Hub-Signature-256", "sha256=", body, secret);
    case "bitbucket":
      return signatureHolds(headers, "X-Hub-Signature", "sha256=", body, secret);
    case "gitea": {
      const present = GITEA_SIGNATURE_HEADERS.filter((h) => headerValues(headers, h).length > 0);
      return (
        present.length > 0 && present.every((h) => signatureHolds(headers, h, "", body, secret))
      );
    }
    case "gitlab":
      return tokenHolds(headers, "X-Gitlab-Token", secret);
  }
}

/** The header holds `<prefix><hex HMAC-SHA256 of body under secret>`, and only once. */
function signatureHolds(
  headers: Headers,
  name: string,
  prefix: string,
  body: Buffer,
  secret: string,
): boolean {
  const values = headerValues(headers, name);
  if (values.length !== 1) return false;
  const value = values[0] as string;
  if (value.slice(0, prefix.length).toLowerCase() !== prefix) return false;
  const hex = value.slice(prefix.length);
  // Buffer.from(_, "hex") stops silently at the first character that is not hex, and drops an odd
  // last one: check the form first so that only a whole digest can match.
  if (hex.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(hex)) return false;
  const given = Buffer.from(hex, "hex");
  const expected = createHmac("sha256", secret).update(body).digest();
  return constantTimeEqual(given, expected);
}

/** The header is the secret itself, sent once. */
function tokenHolds(headers: Headers, name: string, secret: string): boolean {
  const values = headerValues(headers, name);
  if (values.length !== 1) return false;
  // Comparing digests gives both sides one length, so not even the secret's length shows.
  return constantTimeEqual(sha256(values[0] as string), sha256(secret));
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Byte equality whose running time does not depend on where the bytes differ. */
function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  // A digest's length is no secret; checking it keeps timingSafeEqual from throwing.
  return a.length === b.length && timingSafeEqual(a, b);
}
