/**
 * Explanations as data: every node's verdict (the constraint it failed and why, or its scores)
 * for ExplainPlacement and for the ResourceExhausted message.
 *
 * A pass that explains records verdicts in a table, numbers in arrays (Verdicts). A decision keeps
 * them in compact form (CompactVerdicts: the table, the node ids and each rejected node's reason
 * facts, all JSON), and the explanation, one object per node with its reason written out, is
 * built from that when someone asks (expandVerdicts): ExplainPlacement, long after the run.
 */
import type { PlacementContext } from "./context.js";
import {
  type Fact,
  FEASIBILITY_CHECKS,
  type FeasibilityCheck,
  type RequestFacts,
} from "./feasible.js";
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
 * Every node's verdict as a decision keeps it (placements.explanation): a few arrays indexed like
 * the nodes rather than an object per node, and for a rejected node the facts its reason is
 * written from rather than the sentence. Plain JSON; expandVerdicts() makes the explanation.
 */
export interface CompactVerdicts {
  /** The checks' names, by index: what `failed` refers to. */
  checks: string[];
  /** The scorers' names, in the order of each node's scores; the total follows them. */
  scorers: string[];
  /** What the reasons say about the request. */
  request: RequestFacts;
  /** The node ids, in id order. */
  nodes: string[];
  /** Per node, the index in `checks` of the check it failed, or -1 when it passed them all. */
  failed: number[];
  /** Per node that failed a check, the facts its reason is written from; null for the others. */
  facts: (readonly Fact[] | null)[];
  /**
   * One column per scorer, then one of totals, each with an entry per node; no number for a
   * node that failed a check. JSON has no NaN: a score that is not a number comes back as null.
   */
  scores: (number | null)[][];
  /** The indexes of the nodes that got a replica. */
  selected: number[];
}

/** The verdicts of a run that was asked not to explain. */
export const NO_VERDICTS: CompactVerdicts = {
  checks: [],
  scorers: [],
  request: { cpuMillicores: 0, memoryBytes: 0, heartbeatTimeoutMs: 0, requiredLabels: [] },
  nodes: [],
  failed: [],
  facts: [],
  scores: [],
  selected: [],
};

/**
 * One verdict per node, indexed like the run's nodes: the check it failed, or its scores. A pass
 * that records (evaluate with a table) also notes each node's id and the facts of the check a
 * rejected node failed, which the node is at hand for: what the compact form needs besides.
 *
 * Verdicts.explain writes a rejected node's reason from the run's state when it is called: that
 * is the state the node was rejected in, because a node's feasibility changes only when a replica
 * lands on it (and then it was feasible), and a run stops at the first replica that fits nowhere.
 */
export class Verdicts {
  /** The index of the check the node failed, or FEASIBLE. */
  private readonly failed: number[];
  /**
   * Each scorer's scores, then the weighted totals: a column each, an entry per node. Columns
   * rather than one array of rows, so that on 10,000 nodes none is large enough (over 128 KB) for
   * the old generation's large-object space: one array of rows there made the pass that records
   * four times slower.
   */
  private readonly scores: number[][];
  /** Per node, its id; per rejected node, its reason's facts. Noted by a pass that records. */
  private readonly ids: string[];
  private readonly facts: (readonly Fact[] | null)[];

  constructor(
    readonly size: number,
    scorers: number,
  ) {
    this.failed = new Array<number>(size);
    this.scores = [];
    for (let s = 0; s <= scorers; s++) this.scores.push(doubles(size));
    this.ids = new Array<string>(size);
    this.facts = new Array<readonly Fact[] | null>(size);
  }

  /**
   * Node i's verdict as a pass finds it: the first check it failed, as failedCheck gives it (-1,
   * feasible, when none), with that check's facts; its scores come through the pipeline's total.
   */
  record(i: number, id: string, failed: number, facts: readonly Fact[] | null): void {
    this.ids[i] = id;
    this.failed[i] = failed;
    this.facts[i] = facts;
  }

  /**
   * Node i's two scores and their total, in one call: every pipeline has two scorers, and with
   * three calls here the pass that records had no room left to inline the scoring (see
   * weightedTotal).
   */
  scoredTwo(i: number, first: number, second: number, total: number): void {
    const { scores } = this;
    (scores[0] as number[])[i] = first;
    (scores[1] as number[])[i] = second;
    (scores[2] as number[])[i] = total;
  }

  reject(i: number, check: number): void {
    this.failed[i] = check;
  }

  accept(i: number): void {
    this.failed[i] = FEASIBLE;
  }

  score(i: number, scorer: number, value: number): void {
    (this.scores[scorer] as number[])[i] = value;
  }

  setTotal(i: number, value: number): void {
    (this.scores.at(-1) as number[])[i] = value;
  }

  total(i: number): number {
    return this.scores.at(-1)?.[i] ?? Number.NaN;
  }

  /** Takes node i's verdict from another run over the same nodes. */
  copyRow(from: Verdicts, i: number): void {
    this.failed[i] = from.failed[i] ?? FEASIBLE;
    this.facts[i] = from.facts[i] ?? null;
    for (let s = 0; s < this.scores.length; s++) {
      (this.scores[s] as number[])[i] = from.scores[s]?.[i] ?? Number.NaN;
    }
  }

  /**
   * The compact form of a table a pass recorded, for keeping: the table's own arrays, which must
   * not change after.
   */
  compact(
    ctx: PlacementContext,
    stages: { checks: readonly FeasibilityCheck[]; scorers: readonly { name: string }[] },
    selected: readonly number[],
  ): CompactVerdicts {
    const { cpuMillicores, memoryBytes, heartbeatTimeoutMs, requiredLabels } = ctx;
    return {
      checks: namesOf(stages.checks),
      scorers: namesOf(stages.scorers),
      request: { cpuMillicores, memoryBytes, heartbeatTimeoutMs, requiredLabels },
      nodes: this.ids,
      failed: this.failed,
      facts: this.facts,
      scores: this.scores,
      selected: [...selected],
    };
  }

  /** One object per node, in id order, each reason written from the run's state now. */
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
        scores[(stages.scorers[s] as { name: string }).name] = this.scores[s]?.[i] ?? Number.NaN;
      }
      scores[TOTAL] = this.total(i);
      out.push({ nodeId: node.id, feasible: true, scores, selected: selected(i) });
    }
    return out;
  }
}

/**
 * The explanation kept in compact form, one object per node in id order: what Verdicts.explain
 * gave when the run was explained at once. A check no longer known by the name the decision kept
 * (a decision made by another version) gives its name as the reason.
 */
export function expandVerdicts(compact: CompactVerdicts): NodeExplanation[] {
  const { nodes, failed, facts, scores, scorers, request } = compact;
  const checks = compact.checks.map((name) => FEASIBILITY_CHECKS.find((c) => c.name === name));
  const selected = new Set(compact.selected);
  const out: NodeExplanation[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const nodeId = nodes[i] as string;
    const check = failed[i] ?? FEASIBLE;
    if (check !== FEASIBLE) {
      const constraint = compact.checks[check] ?? "";
      const reason = checks[check]?.describe(facts[i] ?? [], request) ?? constraint;
      out.push({ nodeId, feasible: false, reason, constraint, scores: {}, selected: false });
      continue;
    }
    // Kept as stored: null where JSON had no number for a score, as when explanations were stored whole.
    const row: Record<string, number> = {};
    for (let s = 0; s < scorers.length; s++) {
      row[scorers[s] as string] = scores[s]?.[i] as number;
    }
    row[TOTAL] = scores[scorers.length]?.[i] as number;
    out.push({ nodeId, feasible: true, scores: row, selected: selected.has(i) });
  }
  return out;
}

/**
 * An array of `length` empty entries that the engine stores as raw doubles from the start. One
 * made with `new Array(length)` starts as small integers and is copied into a double array at
 * the first score written: a second array of the same size per column, made for nothing.
 */
function doubles(length: number): number[] {
  const array = [Number.NaN];
  array.length = length;
  return array;
}

function namesOf(list: readonly { name: string }[]): string[] {
  const names: string[] = [];
  for (const item of list) names.push(item.name);
  return names;
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
