/**
 * Traefik's HTTP provider endpoint: the whole dynamic configuration, computed from the database
 * on each poll (Traefik polls every few seconds). When TRAEFIK_PROVIDER_TOKEN is set, Traefik
 * must send it (`providers.http.headers.Authorization: Bearer …`).
 */
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/config.js";
import { loadRouteTable } from "../controller/routing.js";
import { constantTimeEqual } from "../crypto/tokens.js";
import { edgeTls } from "../edge/edge-tls.js";
import { traefikDynamicConfig } from "../edge/traefik.js";
import type { AppContext } from "./context.js";

export const TRAEFIK_PROVIDER_PATH = "/api/v1/traefik/dynamic";

export function registerTraefikProvider(app: FastifyInstance, ctx: AppContext, config: Config) {
  app.get(TRAEFIK_PROVIDER_PATH, async (req, reply) => {
    const token = config.TRAEFIK_PROVIDER_TOKEN;
    if (token && !constantTimeEqual(req.headers.authorization ?? "", `Bearer ${token}`)) {
      return reply
        .status(401)
        .send({ code: "unauthenticated", message: "send the provider token" });
    }
    const table = await loadRouteTable(ctx.db);
    return traefikDynamicConfig(table, { tls: edgeTls(config) });
  });
}
