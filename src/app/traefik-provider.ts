/**
 * Traefik's HTTP provider endpoint: the whole dynamic configuration, computed from the database
 * on each poll (Traefik polls every few seconds). It names every route, domain and node address
 * of every tenant, so it is never open: with TRAEFIK_PROVIDER_TOKEN set, Traefik must send it
 * (`providers.http.headers.Authorization: Bearer …`); without one, only a client on this machine
 * (a loopback address) is served. The client's address is the one Fastify resolves, so that a
 * request a local proxy forwards from elsewhere (TRUST_PROXY) is not taken for a local one.
 */
import { isIP } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/index.js";
import { loadRouteTable } from "../controller/index.js";
import type { AppContext } from "../core/index.js";
import { constantTimeEqual } from "../crypto/index.js";
import { edgeTls, traefikDynamicConfig } from "../edge/index.js";

export const TRAEFIK_PROVIDER_PATH = "/api/v1/traefik/dynamic";

/** 127.0.0.0/8, ::1, and IPv4 loopback addresses written as IPv6 (::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (isIP(address) === 4) return address.startsWith("127.");
  if (isIP(address) !== 6) return false;
  // The URL parser writes an IPv6 address in its canonical form (::ffff:7f00:1 for 127.0.0.1).
  const canonical = new URL(`http://[${address}]/`).hostname;
  return canonical === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

export function registerTraefikProvider(app: FastifyInstance, ctx: AppContext, config: Config) {
  app.get(TRAEFIK_PROVIDER_PATH, async (req, reply) => {
    const token = config.TRAEFIK_PROVIDER_TOKEN;
    if (token === undefined && !isLoopbackAddress(req.ip)) {
      return reply.status(403).send({
        code: "permission_denied",
        message:
          "the provider endpoint serves other machines only with a token: set TRAEFIK_PROVIDER_TOKEN on the API and send it from Traefik",
      });
    }
    if (
      token !== undefined &&
      !constantTimeEqual(req.headers.authorization ?? "", `Bearer ${token}`)
    ) {
      return reply
        .status(401)
        .send({ code: "unauthenticated", message: "send the provider token" });
    }
    const table = await loadRouteTable(ctx.db);
    return traefikDynamicConfig(table, { tls: edgeTls(config) });
  });
}
