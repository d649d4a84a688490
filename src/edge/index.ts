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
  routeName,
  type TraefikDynamicConfig,
  type TraefikLabelsInput,
  type TraefikOptions,
  type TraefikRouter,
  traefikDynamicConfig,
  traefikLabels,
} from "./traefik.js";
