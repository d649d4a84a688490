import type { RouteTable } from "./route-table.js";

/**
 * One edge (reverse proxy) that serves the route table. `apply` replaces the edge's whole
 * configuration with the one derived from the table: never a patch of what the edge had, so a
 * retry or a restart converges on the same state.
 */
export interface EdgeAdapter {
  apply(table: RouteTable): Promise<void>;
  /** Safe to call twice. */
  close(): Promise<void>;
}
