/**
 * The signed-in session and the OIDC sign-in (authorization code + PKCE, RFC 7636), done in the
 * browser with fetch against the issuer's discovery and token endpoints. The access token (an API
 * token or an OIDC access token) lives in sessionStorage: it goes with the tab, never to disk.
 */
import { sha256 } from "./sha256.js";

export type AuthMethod = "api_token" | "oidc";

export interface Session {
  token: string;
  method: AuthMethod;
  /** Milliseconds since the epoch; OIDC tokens only. */
  expiresAt?: number;
}

const SESSION_KEY = "obiente.session";
const PENDING_KEY = "obiente.oidc.pending";

export const session = {
  get(): Session | undefined {
    try {
      const raw = sessionStorage.getItem(SESSION_KEY);
      if (!raw) return undefined;
      const s = JSON.parse(raw) as Session;
      if (typeof s.token !== "string" || s.token === "") return undefined;
      return s;
    } catch {
      return undefined;
    }
  },
  set(s: Session): void {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  },
  clear(): void {
    sessionStorage.removeItem(SESSION_KEY);
  },
  token(): string | undefined {
    return this.get()?.token;
  },
  /** True when an OIDC token's lifetime is over (with a few seconds of margin). */
  expired(now = Date.now()): boolean {
    const s = this.get();
    return s?.expiresAt !== undefined && s.expiresAt - 5_000 < now;
  },
};

/** What the server tells the app about its OIDC issuer: GET /api/v1/auth/config. */
export interface AuthConfig {
  issuer: string | null;
  clientId: string | null;
  scope: string;
}

export async function fetchAuthConfig(): Promise<AuthConfig> {
  const response = await fetch("/api/v1/auth/config", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`the server answered HTTP ${response.status}`);
  return (await response.json()) as AuthConfig;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
}

interface Pending {
  state: string;
  verifier: string;
  issuer: string;
  clientId: string;
  tokenEndpoint: string;
  redirectUri: string;
  returnTo: string;
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const randomString = (n = 32) => base64url(crypto.getRandomValues(new Uint8Array(n)));

async function s256(verifier: string): Promise<string> {
  const data = new TextEncoder().encode(verifier);
  // crypto.subtle exists only in secure contexts (https, or loopback over http): on a plain-http
  // address elsewhere, hash in JavaScript.
  const digest = globalThis.crypto?.subtle
    ? new Uint8Array(await crypto.subtle.digest("SHA-256", data))
    : sha256(data);
  return base64url(digest);
}

async function discover(issuer: string): Promise<Discovery> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" } });
  } catch {
    throw new Error(`cannot reach the identity provider at ${issuer}`);
  }
  if (!response.ok) {
    throw new Error(`the identity provider's discovery document answered HTTP ${response.status}`);
  }
  const doc = (await response.json()) as Partial<Discovery>;
  if (!doc.authorization_endpoint || !doc.token_endpoint) {
    throw new Error(
      "the identity provider's discovery document has no authorization or token endpoint",
    );
  }
  return doc as Discovery;
}

export const callbackPath = "/auth/callback";

/** Sends the browser to the issuer's authorization endpoint; comes back to /auth/callback. */
export async function startOidcSignIn(config: AuthConfig, returnTo: string): Promise<void> {
  if (!config.issuer || !config.clientId) throw new Error("single sign-on is not configured");
  const discovery = await discover(config.issuer);
  const verifier = randomString(48);
  const state = randomString(16);
  const redirectUri = `${location.origin}${callbackPath}`;
  const pending: Pending = {
    state,
    verifier,
    issuer: discovery.issuer ?? config.issuer,
    clientId: config.clientId,
    tokenEndpoint: discovery.token_endpoint,
    redirectUri,
    returnTo,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: config.scope,
    state,
    code_challenge: await s256(verifier),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.href);
}

/** Finishes the sign-in on /auth/callback: checks the state, swaps the code for a token. */
export async function completeOidcSignIn(search: string): Promise<{ returnTo: string }> {
  const params = new URLSearchParams(search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const error = params.get("error");
  if (error) throw new Error(params.get("error_description") ?? error);
  if (!raw) throw new Error("this sign-in was not started here, or has already finished");
  const pending = JSON.parse(raw) as Pending;
  if (params.get("state") !== pending.state) throw new Error("the sign-in's state does not match");
  const iss = params.get("iss");
  if (iss !== null && iss !== pending.issuer)
    throw new Error("the answer came from another issuer");
  const code = params.get("code");
  if (!code) throw new Error("the identity provider sent no authorization code");
  let response: Response;
  try {
    response = await fetch(pending.tokenEndpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: pending.clientId,
        code,
        redirect_uri: pending.redirectUri,
        code_verifier: pending.verifier,
      }),
    });
  } catch {
    throw new Error("cannot reach the identity provider's token endpoint");
  }
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    expires_in?: number;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !body.access_token) {
    throw new Error(
      body.error_description ?? body.error ?? `the token endpoint answered HTTP ${response.status}`,
    );
  }
  session.set({
    token: body.access_token,
    method: "oidc",
    ...(body.expires_in ? { expiresAt: Date.now() + body.expires_in * 1000 } : {}),
  });
  const returnTo =
    pending.returnTo.startsWith("/") && !pending.returnTo.startsWith("//") ? pending.returnTo : "/";
  return { returnTo };
}
