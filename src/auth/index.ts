export {
  type ApiTokenRecord,
  Authenticator,
  type AuthenticatorOptions,
  type AuthLookups,
  type AuthUser,
  type OidcUserIdentity,
} from "./authenticator.js";
export { type OidcIdentity, OidcVerifier, type OidcVerifierOptions } from "./oidc-verifier.js";
export type { Principal } from "./principal.js";
