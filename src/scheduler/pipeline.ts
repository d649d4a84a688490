/**
 * The placement pipeline, as in Nomad's scheduler stack: feasibility checks, then scorers, then
 * a selector. A strategy is a choice of scorer, not a branch in the code that places.
 */
import type { PlacementContext } from "./context.js";
import type { Verdicts } from "./explain.js";
import { FEASIBILITY_CHECKS, type FeasibilityCheck, failedCheck } from "./feasible.js";
import { leastLoaded, resourceBased, roundRobin, type Scorer, weightedTotal } from "./rank.js";
import { highestTotal, type Selector } from "./select.js";
import type { NodeSnapshot, StrategyName } from "./snapshot.js";
import { spread } from "./spread.js";

export interface Pipeline {
  readonly strategy: StrategyName;
  /** The index in `checks` of the first check a node fails, or -1 when it passes them all. */
  readonly failed: typeof failedCheck;
  /** The same checks, to name the one a node failed and say why. */
  readonly checks: readonly FeasibilityCheck[];
  readonly scorers: readonly Scorer[];
  /** Their weighted total, recording each score when given verdicts. */
  readonly total: ReturnType<typeof weightedTotal>;
  /** A fresh selector for each pass. */
  readonly select: () => Selector;
  /** Whether a placement moves the round-robin cursor the caller keeps. */
  readonly rotates: boolean;
}

const STRATEGY_SCORERS: Record<StrategyName, Scorer> = {
  "least-loaded": leastLoaded,
  "round-robin": roundRobin,
  "resource-based": resourceBased,
};

export function createPipeline(strategy: StrategyName): Pipeline {
  const byStrategy = STRATEGY_SCORERS[strategy];
  // Scoring: the strategy's scorer, then spread, which outweighs it so that replicas of one
  // deployment land on distinct nodes while there are enough.
  const scorers = [byStrategy, spread];
  return {
    strategy,
    // Feasibility: active, heartbeat within the timeout, required labels, under max_deployments,
    // free CPU, free memory, not avoided. The first check a node fails is its reason.
    failed: failedCheck,
    checks: FEASIBILITY_CHECKS,
    scorers,
    total: weightedTotal(scorers),
    // Selection: the highest total, ties to the lowest node id.
    select: highestTotal,
    // Only round-robin has a position to keep; other strategies leave the cursor as it was.
    rotates: byStrategy === roundRobin,
  };
}

/**
 * One pass for the next replica: the checks and scorers over every node, each feasible node
 * offered to a fresh selector. Records every node's verdict in `verdicts` when given one.
 * Returns the chosen node's index, or -1 when no node can take the replica.
 *
 * Two loops, one recording and one not, rather than one with a test per node: each is small
 * enough for the engine to inline every check and scorer into it.
 */
export function evaluate(pipeline: Pipeline, ctx: PlacementContext, verdicts?: Verdicts): number {
  return verdicts ? evaluateRecording(pipeline, ctx, verdicts) : evaluateOnly(pipeline, ctx);
}

function evaluateOnly(pipeline: Pipeline, ctx: PlacementContext): number {
  const { failed, total } = pipeline;
  const { nodes } = ctx;
  const selector = pipeline.select();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as NodeSnapshot;
    if (failed(node, i, ctx) < 0) selector.offer(i, total(node, i, ctx));
  }
  return selector.chosen;
}

function evaluateRecording(pipeline: Pipeline, ctx: PlacementContext, verdicts: Verdicts): number {
  const { failed, checks, total } = pipeline;
  const { nodes } = ctx;
  const selector = pipeline.select();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as NodeSnapshot;
    const check = failed(node, i, ctx);
    if (check < 0) {
      verdicts.record(i, node.id, check, null);
      selector.offer(i, total(node, i, ctx, verdicts));
    } else {
      verdicts.record(i, node.id, check, (checks[check] as FeasibilityCheck).facts(node, i, ctx));
    }
  }
  return selector.chosen;
}
