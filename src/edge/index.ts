export { BuiltinEdge, type BuiltinEdgeOptions } from "./builtin-edge.js";
export {
  type CaddyAcmeOptions,
  type CaddyConfigOptions,
  CaddyEdge,
  type CaddyEdgeOptions,
  caddyConfig,
} from "./caddy.js";
export type { EdgeAdapter } from "./edge-adapter.js";
export {
  type EdgeTls,
  type EdgeTlsSettings,
  edgeTls,
  edgeUrl,
  TRAEFIK_HTTP_ENTRYPOINT,
  TRAEFIK_HTTPS_ENTRYPOINT,
} from "./edge-tls.js";
export {
  CLIENT_CLAIM_HEADERS,
  edgeForwardedHeaders,
  isClientClaim,
  X_FORWARDED_HEADERS,
} from "./forwarded-headers.js";
export {
  emptyRouteTable,
  isLive,
  type LocationRow,
  normalizeHost,
  normalizePathPrefix,
  type Route,
  type RouteTable,
  type RoutingRow,
  routeTable,
} from "./route-table.js";
export {
  CLIENT_CLAIMS_MIDDLEWARE,
  routeName,
  type TraefikDynamicConfig,
  type TraefikLabelsInput,
  type TraefikOptions,
  type TraefikRouter,
  traefikDynamicConfig,
  traefikLabels,
} from "./traefik.js";
