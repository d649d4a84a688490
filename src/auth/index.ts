export {
  type ApiTokenRecord,
  Authenticator,
  type AuthenticatorOptions,
  type AuthLookups,
  type AuthUser,
  type OidcUserIdentity,
} from "./authenticator.js";
// The verifier loads jose: its types only. Its code is imported with import() when an issuer is
// configured (src/app/platform.ts).
export type { OidcIdentity, OidcVerifier, OidcVerifierOptions } from "./oidc-verifier.js";
export type { Principal } from "./principal.js";
