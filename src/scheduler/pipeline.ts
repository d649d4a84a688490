/**
 * The placement pipeline, as in Nomad's scheduler stack: feasibility checks, then scorers, then
 * a selector. A strategy is a choice of scorer, not a branch in the code that places.
 */
import type { PlacementContext } from "./context.js";
import type { Verdicts } from "./explain.js";
import { FEASIBILITY_CHECKS, type FeasibilityCheck, passesAll } from "./feasible.js";
import { leastLoaded, resourceBased, roundRobin, type Scorer } from "./rank.js";
import { highestTotal, type Selector } from "./select.js";
import type { StrategyName } from "./snapshot.js";
import { spread } from "./spread.js";

export interface Pipeline {
  readonly strategy: StrategyName;
  /** Whether a node passes every check; `checks` are the same, one by one, to say why not. */
  readonly feasible: typeof passesAll;
  readonly checks: readonly FeasibilityCheck[];
  readonly scorers: readonly Scorer[];
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
  return {
    strategy,
    // Feasibility: active, heartbeat within the timeout, required labels, under max_deployments,
    // free CPU, free memory, not avoided. All at once for speed; one by one for a node that
    // fails, whose reason is the first check it fails.
    feasible: passesAll,
    checks: FEASIBILITY_CHECKS,
    // Scoring: the strategy's scorer, then spread, which outweighs it so that replicas of one
    // deployment land on distinct nodes while there are enough.
    scorers: [byStrategy, spread],
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
 */
export function evaluate(pipeline: Pipeline, ctx: PlacementContext, verdicts?: Verdicts): number {
  const { checks, scorers } = pipeline;
  const { nodes } = ctx;
  const selector = pipeline.select();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as (typeof nodes)[number];
    if (!pipeline.feasible(node, i, ctx)) {
      // Only to explain: which check it failed, the first in order.
      verdicts?.reject(
        i,
        checks.findIndex((check) => !check.passes(node, i, ctx)),
      );
      continue;
    }
    verdicts?.accept(i);
    let total = 0;
    for (let s = 0; s < scorers.length; s++) {
      const scorer = scorers[s] as Scorer;
      const score = scorer.score(node, i, ctx);
      verdicts?.score(i, s, score);
      total += scorer.weight * score;
    }
    verdicts?.setTotal(i, total);
    selector.offer(i, total);
  }
  return selector.chosen;
}
