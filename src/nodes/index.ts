export type { StoredExplanation } from "./placements.js";
export { type NodeRecord, NodeService, type NodeServiceDeps } from "./service.js";
