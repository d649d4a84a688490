import {
  type CryptoKey,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  jwtVerify,
} from "jose";
import { DomainError, unauthenticated, unavailable } from "../domain/index.js";

/**
 * Verifies OIDC JWTs (access tokens, from Zitadel or any OIDC issuer) against the issuer's
 * published keys. The issuer's discovery document is fetched on first use; the key set is fetched
 * and refreshed by jose (cached, re-fetched on an unknown key id with a cool-down).
 */

export interface OidcVerifierOptions {
  /** The issuer, exactly as it appears in the tokens' `iss` claim. */
  issuer: string;
  /** The audience (or audiences) this API answers to; the token's `aud` must contain one. */
  audience: string | string[];
  /** Where the issuer publishes its keys. Default: `jwks_uri` of its discovery document. */
  jwksUri?: string;
  /** Accepted signing algorithms. Never a symmetric one: the key set is public. */
  algorithms?: string[];
  /** Allowed clock skew when checking `exp` and `nbf`. Default 30 seconds. */
  clockToleranceSec?: number;
  /** Timeout of each discovery and key-set request. Default 5 seconds. */
  fetchTimeoutMs?: number;
}

/** What a verified token says about its subject. */
export interface OidcIdentity {
  subject: string;
  issuer: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  /** The whole verified claims set, for what the fields above do not cover (roles, say). */
  claims: JWTPayload;
}

const DEFAULT_ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"];
const DEFAULT_CLOCK_TOLERANCE_SEC = 30;
const DEFAULT_FETCH_TIMEOUT_MS = 5000;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export class OidcVerifier {
  readonly issuer: string;
  readonly #audience: string | string[];
  readonly #jwksUri: string | undefined;
  readonly #algorithms: string[];
  readonly #clockToleranceSec: number;
  readonly #fetchTimeoutMs: number;
  /** The key set, once discovered; reset after a failure so that the next request tries again. */
  #keySet: Promise<JWTVerifyGetKey> | undefined;

  constructor(options: OidcVerifierOptions) {
    const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
    const symmetric = algorithms.filter((alg) => alg.startsWith("HS") || alg === "none");
    if (symmetric.length > 0) {
      throw new Error(`OIDC tokens cannot be verified with ${symmetric.join(", ")}`);
    }
    // Configuration mistakes surface at start-up, not as failed requests.
    parseHttpUrl(options.issuer, "OIDC issuer");
    const audiences = [options.audience].flat();
    if (audiences.length === 0 || audiences.some((audience) => audience === "")) {
      throw new Error("the OIDC audience must be one or more non-empty strings");
    }
    if (options.jwksUri !== undefined) parseHttpUrl(options.jwksUri, "OIDC JWKS URI");
    this.issuer = options.issuer;
    this.#audience = options.audience;
    this.#jwksUri = options.jwksUri;
    this.#algorithms = algorithms;
    this.#clockToleranceSec = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  }

  /**
   * Verifies a compact JWT: signature by a key of the issuer, `iss`, `aud`, `exp` (required),
   * `nbf`, and a `sub`. Throws `unauthenticated` with a message for a person when the token is
   * not acceptable, `unavailable` when the issuer's keys cannot be fetched.
   */
  async verify(token: string): Promise<OidcIdentity> {
    // Cheap checks first: junk and unsigned tokens are turned away without any network request.
    this.#checkHeader(token);
    const getKey = await this.#getKeySet();
    const options: JWTVerifyOptions = {
      issuer: this.issuer,
      audience: this.#audience,
      algorithms: this.#algorithms,
      clockTolerance: this.#clockToleranceSec,
      requiredClaims: ["exp", "sub"],
    };
    let result: JWTVerifyResult;
    try {
      result = await verifyWithKeySet(token, getKey, options);
    } catch (error) {
      throw explain(error);
    }
    return identityOf(result.payload, this.issuer);
  }

  #checkHeader(token: string): void {
    if (!COMPACT_JWS.test(token)) throw unauthenticated("malformed token");
    let alg: unknown;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch {
      throw unauthenticated("malformed token");
    }
    if (typeof alg !== "string") throw unauthenticated("malformed token");
    if (alg === "none") {
      throw unauthenticated('unsigned tokens (alg "none") are not accepted');
    }
    if (!this.#algorithms.includes(alg)) {
      throw unauthenticated(
        `token signing algorithm is not accepted (accepted: ${this.#algorithms.join(", ")})`,
      );
    }
  }

  #getKeySet(): Promise<JWTVerifyGetKey> {
    if (!this.#keySet) {
      const keySet = this.#createKeySet();
      keySet.catch(() => {
        if (this.#keySet === keySet) this.#keySet = undefined;
      });
      this.#keySet = keySet;
    }
    return this.#keySet;
  }

  async #createKeySet(): Promise<JWTVerifyGetKey> {
    const jwksUri = this.#jwksUri ?? (await this.#discoverJwksUri());
    const url = URL.parse(jwksUri);
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw unavailable(`the OIDC issuer published a jwks_uri that is not an http(s) URL`);
    }
    const remote = createRemoteJWKSet(url, { timeoutDuration: this.#fetchTimeoutMs });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        // "No key for this token" is about the token; anything else (network, HTTP status, a
        // malformed key set) is about the issuer.
        if (
          error instanceof errors.JWKSNoMatchingKey ||
          error instanceof errors.JWKSMultipleMatchingKeys ||
          error instanceof errors.JOSENotSupported
        ) {
          throw error;
        }
        throw unavailable(
          `cannot fetch the signing keys of the OIDC issuer from ${jwksUri}`,
          error,
        );
      }
    };
  }

  async #discoverJwksUri(): Promise<string> {
    const url = `${this.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.#fetchTimeoutMs),
      });
    } catch (cause) {
      throw unavailable(`cannot reach the OIDC issuer at ${url}`, cause);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw unavailable(`OIDC discovery at ${url} answered HTTP ${response.status}`);
    }
    let document: unknown;
    try {
      document = await response.json();
    } catch (cause) {
      throw unavailable(`OIDC discovery at ${url} did not answer with JSON`, cause);
    }
    if (typeof document !== "object" || document === null) {
      throw unavailable(`OIDC discovery at ${url} did not answer with a JSON object`);
    }
    const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
    // OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer it was
    // fetched for, or it is not to be trusted.
    if (issuer !== this.issuer) {
      throw unavailable(
        `OIDC discovery at ${url} is for issuer ${JSON.stringify(issuer)}, not ${JSON.stringify(this.issuer)}`,
      );
    }
    if (typeof jwksUri !== "string") {
      throw unavailable(`OIDC discovery at ${url} has no jwks_uri`);
    }
    return jwksUri;
  }
}

/**
 * jwtVerify, plus the case where several keys of the set fit the token's header (the same key
 * id under two algorithms, or no key id at all): each is tried in turn.
 */
async function verifyWithKeySet(
  token: string,
  getKey: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(token, getKey, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error as AsyncIterable<CryptoKey>) {
      try {
        return await jwtVerify(token, key, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** Turns jose's errors into messages for a person; jose's own wording stays in the cause. */
function explain(error: unknown): Error {
  if (error instanceof DomainError) return error;
  if (error instanceof errors.JWTExpired) return unauthenticated("token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = error;
    if (claim === "exp") return unauthenticated("token has no expiry time");
    if (claim === "sub") return unauthenticated("token has no subject");
    if (reason === "missing") return unauthenticated(`token has no "${claim}" claim`);
    if (claim === "iss") return unauthenticated("token issuer is not trusted");
    if (claim === "aud") return unauthenticated("token is not meant for this API (wrong audience)");
    if (claim === "nbf") return unauthenticated("token is not valid yet");
    return unauthenticated(`token has an invalid "${claim}" claim`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return unauthenticated("token signature is not valid");
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return unauthenticated("token was not signed with a key of the trusted issuer");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return unauthenticated("token signing algorithm is not accepted");
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return unauthenticated("malformed token");
  }
  if (error instanceof errors.JOSEError) return unauthenticated("token could not be verified");
  return error instanceof Error ? error : new Error(String(error));
}

function identityOf(claims: JWTPayload, issuer: string): OidcIdentity {
  // jose checks that `sub` is present, not that it is a string.
  if (typeof claims.sub !== "string" || claims.sub === "") {
    throw unauthenticated("token has no subject");
  }
  const identity: OidcIdentity = { subject: claims.sub, issuer, claims };
  if (typeof claims.email === "string") identity.email = claims.email;
  // Most issuers send a boolean; some (AWS Cognito) send the string.
  const verified = claims.email_verified;
  if (typeof verified === "boolean") identity.emailVerified = verified;
  else if (verified === "true" || verified === "false")
    identity.emailVerified = verified === "true";
  const name = claims.name ?? claims.preferred_username;
  if (typeof name === "string") identity.name = name;
  return identity;
}

function parseHttpUrl(text: string, what: string): void {
  const url = URL.parse(text);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new Error(`${what} must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
}
