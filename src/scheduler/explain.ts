/**
 * Explanations as data: every node's verdict (the constraint it failed and why, or its scores)
 * for ExplainPlacement and for the ResourceExhausted message.
 *
 * A pass that explains records verdicts in a compact table, numbers in arrays; the table becomes
 * one object per node when the explanation is read. A successful run records nothing as it goes:
 * its explanation is its last pass run again with a table (see Placed in schedule.ts).
 */
import type { PlacementContext } from "./context.js";
import type { FeasibilityCheck } from "./feasible.js";
import type { NodeSnapshot } from "./snapshot.js";

export interface NodeExplanation {
  nodeId: string;
  feasible: boolean;
  /** Why the node could not take the replica. */
  reason?: string;
  /** The name of the check it failed ("memory", "labels", …). */
  constraint?: string;
  /** Each scorer's score and their weighted "total"; empty for a node that was not feasible. */
  scores: Record<string, number>;
  selected: boolean;
}

export const TOTAL = "total";
const FEASIBLE = -1;

/**
 * One verdict per node, indexed like the run's nodes: the check it failed, or its scores.
 *
 * A rejected node's reason is written when the verdicts are read, from the run's state then:
 * that is the state it was rejected in, because a node's feasibility changes only when a replica
 * lands on it (and then it was feasible), and a run stops at the first replica that fits nowhere.
 */
export class Verdicts {
  /** The index of the check the node failed, or FEASIBLE. */
  private readonly failed: number[];
  /** Per node, each scorer's score and then the weighted total. */
  private readonly scores: number[];
  private readonly width: number;

  constructor(
    readonly size: number,
    scorers: number,
  ) {
    this.failed = new Array<number>(size);
    this.width = scorers + 1;
    this.scores = new Array<number>(size * this.width);
  }

  reject(i: number, check: number): void {
    this.failed[i] = check;
  }

  accept(i: number): void {
    this.failed[i] = FEASIBLE;
  }

  score(i: number, scorer: number, value: number): void {
    this.scores[i * this.width + scorer] = value;
  }

  setTotal(i: number, value: number): void {
    this.scores[i * this.width + this.width - 1] = value;
  }

  total(i: number): number {
    return this.scores[i * this.width + this.width - 1] ?? Number.NaN;
  }

  /** Takes node i's verdict from another run over the same nodes. */
  copyRow(from: Verdicts, i: number): void {
    this.failed[i] = from.failed[i] ?? FEASIBLE;
    for (let k = i * this.width, end = k + this.width; k < end; k++) {
      this.scores[k] = from.scores[k] ?? Number.NaN;
    }
  }

  /** One object per node, in id order. */
  explain(
    ctx: PlacementContext,
    stages: { checks: readonly FeasibilityCheck[]; scorers: readonly { name: string }[] },
    selected: (i: number) => boolean,
  ): NodeExplanation[] {
    const { nodes } = ctx;
    const out: NodeExplanation[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i] as NodeSnapshot;
      const failed = this.failed[i] ?? FEASIBLE;
      if (failed !== FEASIBLE) {
        const check = stages.checks[failed] as FeasibilityCheck;
        const reason = check.reason(node, i, ctx);
        out.push({
          nodeId: node.id,
          feasible: false,
          reason,
          constraint: check.name,
          scores: {},
          selected: false,
        });
        continue;
      }
      const scores: Record<string, number> = {};
      for (let s = 0; s < stages.scorers.length; s++) {
        scores[(stages.scorers[s] as { name: string }).name] =
          this.scores[i * this.width + s] ?? Number.NaN;
      }
      scores[TOTAL] = this.total(i);
      out.push({ nodeId: node.id, feasible: true, scores, selected: selected(i) });
    }
    return out;
  }
}

/** At most this many nodes are named in an error message; the rest are counted by constraint. */
const NAMED_IN_MESSAGE = 10;

/**
 * Says which constraint failed on which node, for a ResourceExhausted error: the first nodes by
 * name, then how many more failed each constraint.
 */
export function infeasibleMessage(what: string, explanations: readonly NodeExplanation[]): string {
  if (explanations.length === 0) return `${what}: there are no nodes`;
  const rejected = explanations.filter((e) => !e.feasible);
  const named = rejected.slice(0, NAMED_IN_MESSAGE).map((e) => `${e.nodeId}: ${e.reason}`);
  const more = new Map<string, number>();
  for (const e of rejected.slice(NAMED_IN_MESSAGE)) {
    const constraint = e.constraint ?? "";
    more.set(constraint, (more.get(constraint) ?? 0) + 1);
  }
  const counts = [...more].map(([constraint, n]) => `${constraint}: ${n}`).join(", ");
  const rest = more.size > 0 ? `; and ${rejected.length - named.length} more (${counts})` : "";
  return `${what} fits on no node (${explanations.length} checked): ${named.join("; ")}${rest}`;
}
