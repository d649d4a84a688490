/**
 * Cross-cutting concerns of every RPC, outermost first: metrics, error mapping, rate limiting,
 * authentication. Handlers read the authenticated caller with `principalOf(context)`.
 */
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Authenticator } from "../auth/authenticator.js";
import type { Principal } from "../auth/principal.js";
import { hashApiToken } from "../crypto/tokens.js";
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

export function authInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    const principal = await authenticator.authenticate(
      req.header.get("authorization") ?? undefined,
    );
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
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

/**
 * Per-caller rate limit, shared by every API process through the platform's rate limiter
 * (Redis when configured). The key is the caller's token (hashed) or else the client's address.
 */
export function rateLimitInterceptor(
  limiter: RateLimiter,
  options: { max: number; windowMs: number },
): Interceptor {
  return (next) => async (req) => {
    const auth = req.header.get("authorization");
    const key = auth
      ? `rpc:tok:${hashApiToken(auth).slice(0, 32)}`
      : `rpc:ip:${req.contextValues.get(clientIpKey)}`;
    const verdict = await limiter.consume(key, options.max, options.windowMs);
    if (!verdict.allowed) {
      throw new ConnectError(
        `rate limit exceeded: at most ${options.max} requests per ${Math.round(options.windowMs / 1000)} s; retry in ${Math.ceil(verdict.resetMs / 1000)} s`,
        Code.ResourceExhausted,
      );
    }
    return next(req);
  };
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
