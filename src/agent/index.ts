export type { NetworkFirewall } from "./firewall.js";
export { Heartbeat } from "./heartbeat.js";
export { clusterFromDb, startNetworkIsolation } from "./network-isolation.js";
export { SwarmMembership } from "./swarm-membership.js";
export { SwarmNodeSync } from "./swarm-nodes.js";
