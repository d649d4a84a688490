import { API_TOKEN_PREFIX, hashApiToken, looksLikeApiToken } from "../crypto/index.js";
import { unauthenticated } from "../domain/index.js";
import type { OidcVerifier } from "./oidc-verifier.js";
import type { Principal } from "./principal.js";

/** A user as authentication needs it. */
export interface AuthUser {
  id: string;
  email: string;
  displayName: string;
  platformAdmin: boolean;
}

/** A stored API token, found by the hash of its value. */
export interface ApiTokenRecord {
  tokenId: string;
  userId: string;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

/** Who an OIDC token says its subject is: the key of a user is (issuer, subject). */
export interface OidcUserIdentity {
  issuer: string;
  subject: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
}

/** What authentication reads from (and writes to) the store; implemented by the store. */
export interface AuthLookups {
  findApiToken(hash: string): Promise<ApiTokenRecord | undefined>;
  /** Records that a token was just used. Best effort: a failure does not fail the request. */
  touchApiToken?(tokenId: string): Promise<void>;
  findUser(userId: string): Promise<AuthUser | undefined>;
  /** Finds the user of this OIDC identity, creating it on first sign-in, refreshing its profile. */
  upsertOidcUser(identity: OidcUserIdentity): Promise<AuthUser>;
}

export interface AuthenticatorOptions {
  /** Absent when no OIDC issuer is configured: only API tokens are accepted then. */
  oidc?: Pick<OidcVerifier, "verify">;
  lookups: AuthLookups;
  /** The clock, for API token expiry. Default: the system clock. */
  now?: () => Date;
  /** Told about failures of best-effort work (recording a token's last use). */
  onBackgroundError?: (error: unknown) => void;
}

/** Longer than any real token; a bound on the work an anonymous caller can cause. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const HOW_TO = "send 'Authorization: Bearer <token>'";

/**
 * Turns the Authorization header of a request into a Principal, or throws `unauthenticated` with
 * a message that tells the caller what is wrong. Two kinds of bearer token are accepted: the
 * platform's own API tokens (`obt_…`, looked up by hash on every request, so a revocation takes
 * effect at once) and OIDC JWTs from the configured issuer.
 */
export class Authenticator {
  readonly #oidc: Pick<OidcVerifier, "verify"> | undefined;
  readonly #lookups: AuthLookups;
  readonly #now: () => Date;
  readonly #onBackgroundError: (error: unknown) => void;

  constructor(options: AuthenticatorOptions) {
    this.#oidc = options.oidc;
    this.#lookups = options.lookups;
    this.#now = options.now ?? (() => new Date());
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
  }

  async authenticate(authorizationHeader: string | undefined): Promise<Principal> {
    const token = bearerToken(authorizationHeader);
    if (token.startsWith(API_TOKEN_PREFIX)) return this.#withApiToken(token);
    if (COMPACT_JWT.test(token)) return this.#withOidcToken(token);
    throw unauthenticated("malformed token");
  }

  async #withApiToken(token: string): Promise<Principal> {
    if (!looksLikeApiToken(token)) throw unauthenticated("malformed API token");
    const record = await this.#lookups.findApiToken(hashApiToken(token));
    if (!record) throw unauthenticated("API token is not valid");
    if (record.revokedAt) throw unauthenticated("API token has been revoked");
    if (record.expiresAt && record.expiresAt.getTime() <= this.#now().getTime()) {
      throw unauthenticated("API token has expired");
    }
    const user = await this.#lookups.findUser(record.userId);
    if (!user) throw unauthenticated("the user of this API token no longer exists");
    this.#touch(record.tokenId);
    return { ...principalOf(user, "api_token"), tokenId: record.tokenId };
  }

  async #withOidcToken(token: string): Promise<Principal> {
    if (!this.#oidc) {
      throw unauthenticated("OIDC is not configured on this server: use an API token (obt_…)");
    }
    const { subject, issuer, email, emailVerified, name } = await this.#oidc.verify(token);
    const user = await this.#lookups.upsertOidcUser({
      issuer,
      subject,
      email,
      emailVerified,
      name,
    });
    return principalOf(user, "oidc");
  }

  /** Not awaited: recording "last used" must not slow down or fail the request. */
  #touch(tokenId: string): void {
    void Promise.resolve()
      .then(() => this.#lookups.touchApiToken?.(tokenId))
      .catch(this.#onBackgroundError);
  }
}

function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === "") {
    throw unauthenticated(`missing Authorization header: ${HOW_TO}`);
  }
  if (!/^Bearer(\s|$)/i.test(header)) {
    throw unauthenticated(`unsupported Authorization scheme: ${HOW_TO}`);
  }
  const token = BEARER.exec(header)?.[1];
  if (!token) throw unauthenticated(`malformed Authorization header: ${HOW_TO}`);
  if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated("malformed token");
  return token;
}

function principalOf(user: AuthUser, method: Principal["method"]): Principal {
  return {
    userId: user.id,
    email: user.email,
    displayName: user.displayName,
    platformAdmin: user.platformAdmin,
    method,
  };
}
