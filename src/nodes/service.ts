/**
 * The nodes deployments run on, as recorded in node_metadata by the agents. Reading is open to
 * every signed-in user; changing availability or labels needs a platform administrator.
 * Draining only records the wish here (node_metadata for what the API shows, node_specs for
 * what the controller must apply to Swarm): the controller moves the node's deployments, then
 * drains the Swarm node (src/controller/node-specs.ts).
 */
import { asc, eq } from "drizzle-orm";
import type { Logger } from "pino";
import { requirePlatformAdmin } from "../access/index.js";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { invalidArgument, NODE_CHANGED_JOB, nodeChangedJobId, notFound } from "../domain/index.js";
import type { JobQueue } from "../platform/index.js";
import { type Db, type NodeAvailabilityName, nodeMetadata, nodeSpecs } from "../store/index.js";
import { lastPlacement } from "./placements.js";

export type NodeRecord = typeof nodeMetadata.$inferSelect;

/** Docker's label key rules, kept simple: letters, digits, dots, dashes, slashes. */
const LABEL_KEY = /^[a-z0-9](?:[a-z0-9._/-]{0,126}[a-z0-9])?$/;
/** What NodeService uses: the database, the queue that wakes the controller, a logger, a clock. */
export interface NodeServiceDeps {
  readonly db: Db;
  readonly queue: JobQueue;
  readonly logger: Logger;
  readonly now: () => Date;
}

export class NodeService {
  constructor(private readonly deps: NodeServiceDeps) {}

  list(_principal: Principal): Promise<NodeRecord[]> {
    return this.deps.db.select().from(nodeMetadata).orderBy(asc(nodeMetadata.hostname));
  }

  async get(_principal: Principal, id: string): Promise<NodeRecord> {
    const [row] = await this.deps.db
      .select()
      .from(nodeMetadata)
      .where(eq(nodeMetadata.id, nodeId(id)));
    if (!row) throw notFound("node");
    return row;
  }

  /**
   * The scheduler's last decision for a deployment (ExplainPlacement): every node's verdict;
   * undefined when none was made (on one engine, or not yet). The caller has checked that the
   * principal may read the deployment.
   */
  placementOf(deploymentId: string) {
    return lastPlacement(this.deps.db, deploymentId);
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
    return this.update(principal, current, { labels }, "node.label", { set, remove });
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
      current,
      // A down node stays down in the record until it is back; the wish is kept in node_specs.
      { availability: current.availability === "down" ? "down" : availability },
      `node.${availability === "drain" ? "drain" : "activate"}`,
      {},
      availability,
    );
  }

  private async update(
    principal: Principal,
    current: NodeRecord,
    changes: { availability?: NodeAvailabilityName; labels?: Record<string, string> },
    action: string,
    details: Record<string, unknown>,
    wished: NodeAvailabilityName = current.availability,
  ): Promise<NodeRecord> {
    const id = current.id;
    const now = this.deps.now();
    const row = await this.deps.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(nodeMetadata)
        .set({ ...changes, updatedAt: now })
        .where(eq(nodeMetadata.id, id))
        .returning();
      const [spec] = await tx.select().from(nodeSpecs).where(eq(nodeSpecs.nodeId, id));
      const wish = {
        availability: (wished === "down" ? (spec?.availability ?? "active") : wished) as
          | "active"
          | "drain",
        labels: changes.labels ?? (spec && !spec.applied ? spec.labels : current.labels),
        applied: false,
        updatedAt: now,
      };
      await tx
        .insert(nodeSpecs)
        .values({ nodeId: id, ...wish })
        .onConflictDoUpdate({ target: nodeSpecs.nodeId, set: wish });
      await recordAudit(tx, { principal, action, resourceType: "node", resourceId: id, details });
      return updated;
    });
    if (!row) throw notFound("node");
    // The controller re-plans deployments of a node whose availability or labels changed.
    // The change is committed: a queue that fails now must not make the call fail (the
    // reconciler's next cycle re-plans the node's deployments anyway).
    await this.deps.queue
      .enqueue(NODE_CHANGED_JOB, { nodeId: id }, { jobId: nodeChangedJobId(id, row.updatedAt) })
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error, nodeId: id }, "could not queue the node's re-plan"),
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
