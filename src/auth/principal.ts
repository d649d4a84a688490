/**
 * Who is calling: the result of authentication, carried through a request (as a Connect context
 * value) and checked by authorization. Built by the Authenticator, from an API token or an OIDC
 * token.
 */
export type Principal = {
  userId: string;
  email: string;
  displayName: string;
  /** Operator of the platform itself, above any organization role. */
  platformAdmin: boolean;
  method: "api_token" | "oidc";
  /** The API token used, when `method` is "api_token" (for audit logs and "last used"). */
  tokenId?: string;
};
