/**
 * The scheduler's decisions as recorded (table placements): what ExplainPlacement shows. The
 * controller's Placer writes them (src/controller/placement.ts).
 */
import { eq } from "drizzle-orm";
import {
  type NodeExplanation,
  type Placement,
  type StrategyName,
  strategyFor,
} from "../scheduler/index.js";
import type { Db } from "../store/database.js";
import { placements } from "../store/schema.js";

/** What `placements.explanation` holds. */
export interface StoredExplanation {
  ok: boolean;
  placements: Placement[];
  verdicts: NodeExplanation[];
  message?: string;
  request: { replicas: number; cpuMillicores: number; memoryMb: number; avoidNodes: string[] };
}

/** The last decision for a deployment, or undefined when none was made (or not on a cluster). */
export async function lastPlacement(
  db: Db,
  deploymentId: string,
): Promise<
  { decidedAt: Date; strategy: StrategyName; explanation: StoredExplanation } | undefined
> {
  const [row] = await db.select().from(placements).where(eq(placements.deploymentId, deploymentId));
  if (!row) return undefined;
  return {
    decidedAt: row.decidedAt,
    strategy: strategyFor(row.strategy),
    explanation: row.explanation as unknown as StoredExplanation,
  };
}
