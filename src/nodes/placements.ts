/**
 * The scheduler's decisions as recorded (table placements): what ExplainPlacement shows. The
 * controller's Placer writes them (src/controller/placement.ts) with every node's verdict in
 * compact form; the explanation is built here, when it is asked for.
 */
import { eq } from "drizzle-orm";
import {
  type CompactVerdicts,
  expandVerdicts,
  type NodeExplanation,
  type Placement,
  type StrategyName,
  strategyFor,
} from "../scheduler/index.js";
import { type Db, placements } from "../store/index.js";

/** What `placements.explanation` holds. */
export interface StoredExplanation {
  ok: boolean;
  placements: Placement[];
  /** Every node's verdict, as the scheduler kept it. */
  compact?: CompactVerdicts;
  /** Every node's verdict written out: what decisions recorded before `compact` hold instead. */
  verdicts?: NodeExplanation[];
  message?: string;
  request: { replicas: number; cpuMillicores: number; memoryMb: number; avoidNodes: string[] };
}

/** A recorded decision with every node's verdict written out, for ExplainPlacement. */
export type PlacementExplanation = Omit<StoredExplanation, "compact" | "verdicts"> & {
  verdicts: NodeExplanation[];
};

/** The last decision for a deployment, or undefined when none was made (or not on a cluster). */
export async function lastPlacement(
  db: Db,
  deploymentId: string,
): Promise<
  { decidedAt: Date; strategy: StrategyName; explanation: PlacementExplanation } | undefined
> {
  const [row] = await db.select().from(placements).where(eq(placements.deploymentId, deploymentId));
  if (!row) return undefined;
  return {
    decidedAt: row.decidedAt,
    strategy: strategyFor(row.strategy),
    explanation: explained(row.explanation as unknown as StoredExplanation),
  };
}

/** The stored decision with its verdicts built from their compact form. */
export function explained(stored: StoredExplanation): PlacementExplanation {
  const { compact, verdicts, ...decision } = stored;
  return { ...decision, verdicts: verdicts ?? (compact ? expandVerdicts(compact) : []) };
}
