/**
 * Scorers: how much a feasible node is worth for the next replica. The placement strategies are
 * scorers, each giving a number in [0, 1], higher is better; the pipeline adds them up, weighted.
 * A scorer only sees nodes that passed every feasibility check.
 */
import { cpuLeft, memoryLeft, type PlacementContext, placedOnNode } from "./context.js";
import type { Verdicts } from "./explain.js";
import type { NodeSnapshot } from "./snapshot.js";

export interface Scorer {
  /** The score's name, as explanations show it. */
  readonly name: string;
  /** How much the score counts in the total. */
  readonly weight: number;
  score(node: NodeSnapshot, i: number, ctx: PlacementContext): number;
}

/**
 * Lowest CPU first, then fewest deployments. CPU is compared in whole percent: the measurement
 * wanders by more than that between samples, and a finer comparison would make the deployment
 * count, the steadier figure, never matter. c / (c + 1) orders any count within [0, 1), so the
 * count only decides between nodes at the same percent.
 */
export const leastLoaded: Scorer = {
  name: "least-loaded",
  weight: 1,
  score(node, i, ctx) {
    const cpu = Math.min(Math.max(Math.round(node.cpuPercent), 0), 100);
    const count = node.deploymentCount + placedOnNode(ctx, i);
    return 1 - (cpu + count / (count + 1)) / 101;
  },
};

/**
 * The next node after the cursor, in id order, wrapping: 1 for the node right after it, down
 * to 1/n for the cursor's own node. Nodes that are not feasible are skipped by not being scored.
 */
export const roundRobin: Scorer = {
  name: "round-robin",
  weight: 1,
  score(_node, i, ctx) {
    const n = ctx.nodes.length;
    const behind = i - ctx.rotationStart; // negative for the nodes before the start: wrap them
    return 1 - (behind < 0 ? behind + n : behind) / n;
  },
};

/**
 * Best fit: the node left with the least free CPU and memory after the replica lands, each as a
 * fraction of the node's capacity, averaged. Feasibility has made sure what is left is not
 * negative; packing tightly keeps large nodes free for large deployments.
 */
export const resourceBased: Scorer = {
  name: "resource-based",
  weight: 1,
  score(node, i, ctx) {
    const placed = placedOnNode(ctx, i);
    const cpu = fraction(cpuLeft(ctx, node, placed) - ctx.cpuMillicores, node.cpuCores * 1000);
    const memory = fraction(memoryLeft(ctx, node, placed) - ctx.memoryBytes, node.memoryBytes);
    return 1 - (cpu + memory) / 2;
  },
};

/**
 * The scorers' weighted total, summed in their order from 0; with `verdicts`, each score and the
 * total are recorded in node i's row on the way. For two scorers, every pipeline's case, the
 * calls are written out: the engine inlines direct calls, where a loop over the list costs a
 * dispatch per scorer per node, a fifth of a placement. The engine inlines only so much into
 * one pass: the row is recorded in one call, which leaves room for this function in the pass
 * that records (measured: a tenth of such a pass when it did not fit).
 */
export function weightedTotal(
  scorers: readonly Scorer[],
): (node: NodeSnapshot, i: number, ctx: PlacementContext, verdicts?: Verdicts) => number {
  const [a, b] = scorers;
  if (scorers.length === 2 && a && b) {
    return (node, i, ctx, verdicts) => {
      const first = a.score(node, i, ctx);
      const second = b.score(node, i, ctx);
      const total = 0 + a.weight * first + b.weight * second;
      verdicts?.scoredTwo(i, first, second, total);
      return total;
    };
  }
  return (node, i, ctx, verdicts) => {
    let total = 0;
    for (let s = 0; s < scorers.length; s++) {
      const scorer = scorers[s] as Scorer;
      const score = scorer.score(node, i, ctx);
      verdicts?.score(i, s, score);
      total += scorer.weight * score;
    }
    verdicts?.setTotal(i, total);
    return total;
  };
}

function fraction(part: number, whole: number): number {
  return whole > 0 ? Math.min(Math.max(part / whole, 0), 1) : 0;
}
