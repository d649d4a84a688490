import { createHash, randomBytes } from "node:crypto";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";

/**
 * A real OIDC issuer for tests: oidc-provider on 127.0.0.1, on a free port, with
 *  - a confidential client that gets JWT access tokens for the API with client_credentials
 *    (`getAccessToken`; the token's subject is the client id),
 *  - a public `web` client for authorization code + PKCE (the web app, a browser test), with the
 *    development login form (any login and password; the login is the account id) and no
 *    consent screen, like a first-party app,
 *  - `getUserAccessToken(accountId)`, which drives that code flow over HTTP and returns an
 *    access token for the account, with its email and name in the token.
 * Access tokens are JWTs with `aud` = the API audience, signed with a key generated per issuer.
 */

export interface TestAccount {
  email: string;
  emailVerified?: boolean;
  name?: string;
}

export interface OidcIssuerOptions {
  /** Resource indicator and `aud` of the API's access tokens. Default https://api.obiente.test */
  audience?: string;
  /** Redirect URIs of the `web` client, besides the one `getUserAccessToken` uses. */
  webRedirectUris?: string[];
  /** Accounts by id. Any other id signs in too, as `<id>@obiente.test`, verified. */
  accounts?: Record<string, TestAccount>;
  /** Lifetime of access tokens. Default 300 seconds. */
  accessTokenTtlSec?: number;
}

export interface OidcIssuer {
  issuer: string;
  audience: string;
  /** Client id of the public authorization code + PKCE client. */
  webClientId: string;
  /** A JWT access token for the API, from client_credentials. */
  getAccessToken(): Promise<string>;
  /** A JWT access token for the API on behalf of an account, from authorization code + PKCE. */
  getUserAccessToken(accountId: string): Promise<string>;
  close(): Promise<void>;
}

// oidc-provider ships no type declarations (they live in @types/oidc-provider, which this project
// does not install). A specifier in a variable keeps TypeScript from looking for them; the few
// parts used here are typed below.
const OIDC_PROVIDER = "oidc-provider";

interface Grant {
  addOIDCScope(scope: string): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

interface ProviderContext {
  oidc: {
    provider: {
      Grant: {
        new (init: { clientId: string; accountId: string }): Grant;
        find(id: string): Promise<Grant | undefined>;
      };
    };
    client: { clientId: string };
    session: { accountId: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
  };
}

interface ProviderModule {
  default: new (
    issuer: string,
    configuration: Record<string, unknown>,
  ) => {
    callback(): RequestListener;
  };
  errors: { InvalidTarget: new (description?: string) => Error };
}

const API_SCOPE = "api";
const CLIENT_ID = "obiente-test-service";
const WEB_CLIENT_ID = "obiente-web";

export async function startOidcIssuer(options: OidcIssuerOptions = {}): Promise<OidcIssuer> {
  const { default: Provider, errors } = (await import(OIDC_PROVIDER)) as ProviderModule;
  const audience = options.audience ?? "https://api.obiente.test";
  const accessTokenTTL = options.accessTokenTtlSec ?? 300;

  // Listen first: the issuer URL, which names the port, is needed to build the provider.
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const callbackUri = `${issuer}/test-callback`; // never fetched: the code is read from Location
  const clientSecret = randomBytes(32).toString("base64url");

  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "test-key-1", alg: "RS256" };

  const accountClaims = (accountId: string) => {
    const account = options.accounts?.[accountId];
    return {
      sub: accountId,
      email: account?.email ?? `${accountId}@obiente.test`,
      email_verified: account?.emailVerified ?? true,
      name: account?.name ?? accountId,
    };
  };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: WEB_CLIENT_ID,
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code"],
        response_types: ["code"],
        redirect_uris: [...(options.webRedirectUris ?? []), callbackUri],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    findAccount: async (_ctx: unknown, accountId: string) => ({
      accountId,
      claims: async () => accountClaims(accountId),
    }),
    // What the API reads from an access token (real issuers, Zitadel included, can be set up to
    // do the same); client_credentials tokens have no account and get nothing extra.
    extraTokenClaims: async (_ctx: unknown, token: { accountId?: string }) => {
      if (!token.accountId) return undefined;
      const { email, email_verified, name } = accountClaims(token.accountId);
      return { email, email_verified, name };
    },
    // A first-party app: no consent screen; the grant covers what the web app asks for.
    loadExistingGrant: async (ctx: ProviderContext) => {
      const { provider: op, client, session, result } = ctx.oidc;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId) return op.Grant.find(grantId);
      const grant = new op.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope("openid email profile");
      grant.addResourceScope(audience, API_SCOPE);
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Every token is for the API, whether the client names the resource or not.
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          return { scope: API_SCOPE, audience, accessTokenTTL, accessTokenFormat: "jwt" };
        },
      },
    },
    ttl: {
      AccessToken: accessTokenTTL,
      ClientCredentials: accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Grant: 3600,
      Session: 3600,
    },
  });
  handler = provider.callback();

  const tokenRequest = async (body: Record<string, string>, headers: Record<string, string>) => {
    const response = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(body),
    });
    const json = (await response.json()) as { access_token?: string };
    if (response.status !== 200 || typeof json.access_token !== "string") {
      throw new Error(`token request failed: HTTP ${response.status} ${JSON.stringify(json)}`);
    }
    return json.access_token;
  };

  let closed: Promise<void> | undefined;
  return {
    issuer,
    audience,
    webClientId: WEB_CLIENT_ID,

    getAccessToken: () =>
      tokenRequest(
        { grant_type: "client_credentials", resource: audience, scope: API_SCOPE },
        {
          authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${clientSecret}`).toString("base64")}`,
        },
      ),

    async getUserAccessToken(accountId) {
      const verifier = randomBytes(32).toString("base64url");
      const authorize = new URL(`${issuer}/auth`);
      authorize.search = new URLSearchParams({
        client_id: WEB_CLIENT_ID,
        response_type: "code",
        redirect_uri: callbackUri,
        scope: `openid email profile ${API_SCOPE}`,
        resource: audience,
        state: randomBytes(8).toString("base64url"),
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      }).toString();
      const code = await signIn(authorize.href, accountId, callbackUri);
      return tokenRequest(
        {
          grant_type: "authorization_code",
          client_id: WEB_CLIENT_ID,
          code,
          redirect_uri: callbackUri,
          code_verifier: verifier,
        },
        {},
      );
    },

    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * Walks through the authorization endpoint as a browser would, without rendering anything:
 * follows redirects by hand, carries cookies, submits the development login form (and the consent
 * form, should one come), and returns the code from the final redirect.
 */
async function signIn(authorizeUrl: string, accountId: string, callbackUri: string) {
  const cookies = new Map<string, string>();
  const request = async (url: string, form?: Record<string, string>) => {
    const response = await fetch(url, {
      method: form ? "POST" : "GET",
      redirect: "manual",
      headers: {
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; "),
        ...(form && { "content-type": "application/x-www-form-urlencoded" }),
      },
      ...(form && { body: new URLSearchParams(form) }),
    });
    await response.body?.cancel();
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ""] = cookie.split(";");
      const separator = pair.indexOf("=");
      cookies.set(pair.slice(0, separator), pair.slice(separator + 1));
    }
    const location = response.headers.get("location");
    if (!location) throw new Error(`sign-in: HTTP ${response.status} from ${url}, no redirect`);
    return new URL(location, url).href;
  };

  let next = await request(authorizeUrl);
  let signedIn = false;
  for (let step = 0; step < 10; step++) {
    if (next.startsWith(callbackUri)) {
      const params = new URL(next).searchParams;
      const code = params.get("code");
      if (!code) throw new Error(`sign-in failed: ${params.get("error_description") ?? next}`);
      return code;
    }
    if (new URL(next).pathname.startsWith("/interaction/")) {
      // The same address takes the login form and, if one is asked for, the consent form.
      const form: Record<string, string> = signedIn
        ? { prompt: "consent" }
        : { prompt: "login", login: accountId, password: "any" };
      signedIn = true;
      next = await request(next, form);
    } else {
      next = await request(next);
    }
  }
  throw new Error("sign-in did not finish in 10 redirects");
}
