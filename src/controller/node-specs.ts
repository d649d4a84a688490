/**
 * Applies to Swarm what operators asked of nodes through the platform (DrainNode, ActivateNode,
 * LabelNode record it in node_specs): labels and activation at once; a drain only once the
 * node runs no platform service any more. Draining a Swarm node stops its tasks at once, so the
 * platform first moves the node's deployments (each new replica healthy and routed before the
 * old one goes: no request is lost), and only then tells Swarm. Level-triggered: the reconciler
 * calls this after every pass, and a spec stays pending until Swarm says what it says.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { sameLabels } from "../domain/index.js";
import type { ClusterNode, ClusterPort, ContainerRef, RuntimePort } from "../runtime/index.js";
import { type Db, nodeSpecs } from "../store/index.js";

export type NodeSpecRow = typeof nodeSpecs.$inferSelect;

export type NodeSpecAction =
  | { kind: "labels"; labels: Record<string, string> }
  | { kind: "availability"; availability: "active" | "drain" }
  /** The drain waits: platform services still run on the node. */
  | { kind: "wait"; services: number }
  | { kind: "applied" };

/**
 * What to do for one spec, given the node as Swarm sees it (undefined: gone from the Swarm) and
 * the platform's services on it. Pure.
 */
export function nodeSpecActions(
  spec: Pick<NodeSpecRow, "availability" | "labels">,
  node: Pick<ClusterNode, "availability" | "labels"> | undefined,
  servicesOnNode: number,
): NodeSpecAction[] {
  if (!node) return [{ kind: "applied" }];
  const actions: NodeSpecAction[] = [];
  if (!sameLabels(spec.labels, node.labels)) actions.push({ kind: "labels", labels: spec.labels });
  if (spec.availability !== node.availability) {
    if (spec.availability === "drain" && servicesOnNode > 0) {
      return [...actions, { kind: "wait", services: servicesOnNode }];
    }
    actions.push({ kind: "availability", availability: spec.availability });
  }
  return [...actions, { kind: "applied" }];
}

export async function applyNodeSpecs(
  db: Db,
  cluster: ClusterPort,
  runtime: Pick<RuntimePort, "list">,
  logger: Logger,
): Promise<void> {
  const pending = await db.select().from(nodeSpecs).where(eq(nodeSpecs.applied, false));
  if (pending.length === 0) return;
  const [nodes, services] = await Promise.all([cluster.nodes(), runtime.list()]);
  for (const spec of pending) {
    try {
      const node = nodes.find((n) => n.id === spec.nodeId);
      const on = services.filter((s: ContainerRef) => s.nodeId === spec.nodeId).length;
      for (const action of nodeSpecActions(spec, node, on)) {
        if (action.kind === "labels") await cluster.setNodeLabels(spec.nodeId, action.labels);
        else if (action.kind === "availability") {
          await cluster.setNodeAvailability(spec.nodeId, action.availability);
          logger.info(
            { nodeId: spec.nodeId, availability: action.availability },
            "node availability applied to Swarm",
          );
        } else if (action.kind === "wait") {
          logger.info(
            { nodeId: spec.nodeId, services: action.services },
            "draining: waiting for the node's deployments to move",
          );
        } else {
          // Applied, unless the spec changed meanwhile: then the next pass applies the new one.
          await db
            .update(nodeSpecs)
            .set({ applied: true })
            .where(
              and(
                eq(nodeSpecs.nodeId, spec.nodeId),
                eq(nodeSpecs.availability, spec.availability),
                sql`${nodeSpecs.labels} = ${JSON.stringify(spec.labels)}::jsonb`,
              ),
            );
        }
      }
    } catch (error) {
      logger.warn({ err: error, nodeId: spec.nodeId }, "applying a node's spec to Swarm failed");
    }
  }
}
