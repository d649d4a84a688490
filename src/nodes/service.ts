/**
 * The nodes deployments run on, as recorded in node_metadata by the agents. Reading is open to
 * every signed-in user; changing availability or labels needs a platform administrator.
 * Draining only records the wish here: the controller moves the node's deployments.
 */
import { asc, eq } from "drizzle-orm";
import { requirePlatformAdmin } from "../access/access.js";
import type { AppContext } from "../app/context.js";
import { recordAudit } from "../audit/audit.js";
import type { Principal } from "../auth/principal.js";
import { invalidArgument, notFound } from "../domain/errors.js";
import { type NodeAvailabilityName, nodeMetadata } from "../store/schema.js";

export type NodeRecord = typeof nodeMetadata.$inferSelect;

/** Docker's label key rules, kept simple: letters, digits, dots, dashes, slashes. */
const LABEL_KEY = /^[a-z0-9](?:[a-z0-9._/-]{0,126}[a-z0-9])?$/;
export const NODE_CHANGED_JOB = "node-changed";

export class NodeService {
  constructor(private readonly ctx: AppContext) {}

  list(_principal: Principal): Promise<NodeRecord[]> {
    return this.ctx.db.select().from(nodeMetadata).orderBy(asc(nodeMetadata.hostname));
  }

  async get(_principal: Principal, id: string): Promise<NodeRecord> {
    const [row] = await this.ctx.db
      .select()
      .from(nodeMetadata)
      .where(eq(nodeMetadata.id, nodeId(id)));
    if (!row) throw notFound("node");
    return row;
  }

  drain(principal: Principal, id: string): Promise<NodeRecord> {
    return this.setAvailability(principal, id, "drain");
  }

  activate(principal: Principal, id: string): Promise<NodeRecord> {
    return this.setAvailability(principal, id, "active");
  }

  async label(principal: Principal, id: string, set: Record<string, string>, remove: string[]) {
    requirePlatformAdmin(principal);
    for (const key of [...Object.keys(set), ...remove]) {
      if (!LABEL_KEY.test(key)) {
        throw invalidArgument(
          `label key "${key.slice(0, 60)}" is invalid: lowercase letters, digits, '.', '-', '/'`,
        );
      }
    }
    for (const [key, value] of Object.entries(set)) {
      if (value.length > 256 || /[\u0000-\u001f]/.test(value)) {
        throw invalidArgument(`label ${key}: the value must be at most 256 printable characters`);
      }
    }
    const current = await this.get(principal, id);
    const labels = { ...current.labels, ...set };
    for (const key of remove) delete labels[key];
    return this.update(principal, current.id, { labels }, "node.label", { set, remove });
  }

  private async setAvailability(
    principal: Principal,
    id: string,
    availability: NodeAvailabilityName,
  ) {
    requirePlatformAdmin(principal);
    const current = await this.get(principal, id);
    return this.update(
      principal,
      current.id,
      { availability },
      `node.${availability === "drain" ? "drain" : "activate"}`,
      {},
    );
  }

  private async update(
    principal: Principal,
    id: string,
    changes: Partial<typeof nodeMetadata.$inferInsert>,
    action: string,
    details: Record<string, unknown>,
  ): Promise<NodeRecord> {
    const row = await this.ctx.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(nodeMetadata)
        .set({ ...changes, updatedAt: this.ctx.now() })
        .where(eq(nodeMetadata.id, id))
        .returning();
      await recordAudit(tx, { principal, action, resourceType: "node", resourceId: id, details });
      return updated;
    });
    if (!row) throw notFound("node");
    // The controller re-plans deployments of a node whose availability or labels changed.
    await this.ctx.services.queue.enqueue(
      NODE_CHANGED_JOB,
      { nodeId: id },
      { jobId: `${NODE_CHANGED_JOB}-${id}-${row.updatedAt.getTime()}` },
    );
    return row;
  }
}

function nodeId(id: string): string {
  if (id.length === 0 || id.length > 128 || !/^[A-Za-z0-9._:-]+$/.test(id)) {
    throw invalidArgument("id must be a node id");
  }
  return id;
}
