/**
 * Cross-cutting concerns of every RPC, outermost first: metrics, error mapping, authentication
 * with rate limiting. Handlers read the authenticated caller with `principalOf(context)`.
 */
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Authenticator, Principal } from "../auth/index.js";
import type { RateLimiter } from "../platform/index.js";
import { codeName, toConnectError } from "./errors.js";
import type { ApiMetrics } from "./metrics.js";

const principalKey = createContextKey<Principal | undefined>(undefined, {
  description: "principal",
});
const clientIpKey = createContextKey<string>("", { description: "client ip" });

export { clientIpKey };

export function principalOf(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  // The auth interceptor runs before every handler; reaching here without it is a wiring bug.
  if (!principal) throw new ConnectError("not authenticated", Code.Unauthenticated);
  return principal;
}

export interface RateLimitOptions {
  limiter: RateLimiter;
  max: number;
  windowMs: number;
}

/**
 * Authenticates the caller, and applies the per-caller rate limit, shared by every API process
 * through the platform's rate limiter (Redis when configured). The budget belongs to the
 * authenticated user, whichever token they use; a request that fails to authenticate spends the
 * budget of the client's address instead, so that guessing tokens (each guess a different
 * header) buys no fresh budget, and the limiter holds one key per user or address, never one
 * per made-up token. Before all this, and before the request's body was read, the request spent
 * its address's budget of every route (address-limit.ts).
 */
export function authInterceptor(
  authenticator: Authenticator,
  rateLimit?: RateLimitOptions,
): Interceptor {
  return (next) => async (req) => {
    let principal: Principal;
    try {
      principal = await authenticator.authenticate(req.header.get("authorization") ?? undefined);
    } catch (error) {
      if (rateLimit) await consume(rateLimit, `rpc:ip:${req.contextValues.get(clientIpKey)}`);
      throw error;
    }
    if (rateLimit) await consume(rateLimit, `rpc:user:${principal.userId}`);
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}

async function consume({ limiter, max, windowMs }: RateLimitOptions, key: string): Promise<void> {
  const verdict = await limiter.consume(key, max, windowMs);
  if (!verdict.allowed) {
    throw new ConnectError(
      `rate limit exceeded: at most ${max} requests per ${Math.round(windowMs / 1000)} s; retry in ${Math.ceil(verdict.resetMs / 1000)} s`,
      Code.ResourceExhausted,
    );
  }
}

export function errorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      // Errors of a server stream surface while it is iterated, after this returned.
      return { ...res, message: mapStreamErrors(res.message, logger) };
    } catch (error) {
      throw toConnectError(error, logger);
    }
  };
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, logger: Logger): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error, logger);
  }
}

export function metricsInterceptor(metrics: ApiMetrics): Interceptor {
  return (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const stop = metrics.rpcStarted(procedure);
    try {
      const res = await next(req);
      stop("ok");
      return res;
    } catch (error) {
      stop(codeName(ConnectError.from(error).code));
      throw error;
    }
  };
}
