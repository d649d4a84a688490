/**
 * The first thing every request meets, on both listeners: a budget per client address, spent
 * in Fastify's onRequest hook, before any body is read, decompressed or parsed and before any
 * authentication. The address is the one Fastify resolves (`req.ip`): the peer itself, or the
 * client a trusted proxy names in X-Forwarded-For (TRUST_PROXY), so that a client cannot pick a
 * fresh address, and a fresh budget, by writing the header itself. The per-user budget, spent
 * once the caller is known, is the auth interceptor's (interceptors.ts) and the REST limiter's.
 *
 * A refusal is said in the caller's protocol: HTTP 429 with `{code, message}` for the Connect
 * protocol's unary calls, REST and everything else; a trailers-only answer with grpc-status 8
 * for gRPC and gRPC-Web; an end-of-stream message for Connect streams. Either way the client's
 * Connect library reports ResourceExhausted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { RateLimiter } from "../platform/index.js";

export interface AddressLimitOptions {
  limiter: RateLimiter;
  max: number;
  windowMs: number;
}

/** gRPC's code for RESOURCE_EXHAUSTED. */
const GRPC_RESOURCE_EXHAUSTED = "8";
/** The Connect protocol's flag of the end-of-stream message. */
const CONNECT_END_STREAM = 0b10;

export function addAddressLimit(app: FastifyInstance, options: AddressLimitOptions): void {
  const { limiter, max, windowMs } = options;
  app.addHook("onRequest", async (req, reply) => {
    const verdict = await limiter.consume(`addr:${req.ip}`, max, windowMs);
    if (verdict.allowed) return;
    const retryAfter = Math.max(1, Math.ceil(verdict.resetMs / 1000));
    const message = `rate limit exceeded: at most ${max} requests per ${Math.round(windowMs / 1000)} s from one address; retry in ${retryAfter} s`;
    return refuse(req, reply, message, retryAfter);
  });
}

function refuse(req: FastifyRequest, reply: FastifyReply, message: string, retryAfter: number) {
  const type = String(req.headers["content-type"] ?? "");
  reply.header("retry-after", String(retryAfter));
  // HTTP/1.1: close the connection rather than drain a body nobody will read.
  if (req.raw.httpVersionMajor === 1) reply.header("connection", "close");
  if (/^application\/grpc(-web)?(\+|;|$)/i.test(type)) {
    return reply
      .status(200)
      .header("content-type", type)
      .header("grpc-status", GRPC_RESOURCE_EXHAUSTED)
      .header("grpc-message", encodeURIComponent(message))
      .send();
  }
  if (/^application\/connect\+/i.test(type)) {
    const end = Buffer.from(
      JSON.stringify({ error: { code: "resource_exhausted", message } }),
      "utf8",
    );
    const envelope = Buffer.alloc(5 + end.length);
    envelope.writeUInt8(CONNECT_END_STREAM, 0);
    envelope.writeUInt32BE(end.length, 1);
    end.copy(envelope, 5);
    return reply.status(200).header("content-type", type).send(envelope);
  }
  return reply.status(429).send({ code: "resource_exhausted", message });
}
