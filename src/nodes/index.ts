export type { StoredExplanation } from "./placements.js";
export { type NodeRecord, NodeService } from "./service.js";
