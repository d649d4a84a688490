/**
 * Spread: replicas of one deployment on distinct nodes, so that losing a node loses one replica.
 * The score is minus the replicas of this deployment already on the node (running before, or
 * placed earlier in this run). Its weight is larger than the range of any strategy score (0 to 1),
 * so a node without a replica always beats one with; when every feasible node has one, the
 * fewest wins, and the strategy decides among equals: sharing is the fallback, not an error.
 */
import type { Scorer } from "./rank.js";

export const SPREAD_WEIGHT = 2;

export const spread: Scorer = {
  name: "spread",
  weight: SPREAD_WEIGHT,
  score: (_node, i, ctx) => 0 - (ctx.replicasOn[i] ?? 0), // 0 - n: no -0 for a node without one
};
