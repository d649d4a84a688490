/**
 * schedule(): places the replicas of one request, one at a time through the pipeline, each
 * seeing the capacity the earlier ones took. All or nothing: when a replica fits nowhere, the
 * answer is an "infeasible" value with every node's reason (not a throw), which the caller turns
 * into a ResourceExhausted error; nothing is placed and the cursor does not move.
 *
 * Pure: no I/O, no clock (`now` is passed in), no randomness. The same input gives the same
 * answer, whatever the order of the nodes in the snapshot.
 */
import { createContext, type PlacementContext, recordPlacement } from "./context.js";
import {
  type CompactVerdicts,
  expandVerdicts,
  infeasibleMessage,
  NO_VERDICTS,
  type NodeExplanation,
  Verdicts,
} from "./explain.js";
import { createPipeline, evaluate, type Pipeline } from "./pipeline.js";
import {
  type ClusterSnapshot,
  MIB,
  type NodeSnapshot,
  type Placement,
  type PlacementRequest,
  type SchedulerState,
  STRATEGY_NAMES,
  type StrategyName,
} from "./snapshot.js";

export interface Scheduled {
  readonly ok: true;
  readonly placements: Placement[];
  /**
   * Every node's verdict, in compact form: what the controller keeps with the decision, for
   * ExplainPlacement. A node that got a replica shows the scores it was chosen with; any other
   * node its verdict for the last replica. No nodes when asked not to explain.
   */
  readonly compact: CompactVerdicts;
  /** The same verdicts, one object per node in id order, reasons written out; built when read. */
  readonly explanations: NodeExplanation[];
  /** To keep for the next call (controller_state). */
  readonly state: SchedulerState;
}

export interface Infeasible {
  readonly ok: false;
  readonly error: "infeasible";
  /** How many replicas fitted before the one that did not. None is placed. */
  readonly placeable: number;
  /** Every node's verdict for the replica that did not fit, in id order: each says why. */
  readonly explanations: NodeExplanation[];
  /** The same verdicts in compact form, as Scheduled has them. */
  readonly compact: CompactVerdicts;
  /** Which constraint failed on which node, for the ResourceExhausted error. */
  readonly message: string;
  /** The state passed in, unchanged. */
  readonly state: SchedulerState;
}

export type ScheduleResult = Scheduled | Infeasible;

export interface ScheduleOptions {
  /**
   * Whether to record every node's verdict (default true): what ExplainPlacement shows, so the
   * controller keeps them. Its last pass records them as it goes, numbers in arrays. A run that
   * does not explain records nothing (for dry runs). An infeasible answer always explains.
   */
  explain?: boolean;
}

const PIPELINES = Object.fromEntries(
  STRATEGY_NAMES.map((name) => [name, createPipeline(name)]),
) as Record<StrategyName, Pipeline>;

export function schedule(
  snapshot: ClusterSnapshot,
  request: PlacementRequest,
  strategy: StrategyName,
  now: Date,
  state: SchedulerState = {},
  options: ScheduleOptions = {},
): ScheduleResult {
  const pipeline = PIPELINES[strategy];
  const ctx = createContext(snapshot, request, now, state);
  const explain = options.explain ?? true;
  const { length } = ctx.nodes;
  // The last pass records every node's verdict; with nothing to place, a pass runs for them.
  const verdicts = explain ? new Verdicts(length, pipeline.scorers.length) : undefined;
  if (verdicts && ctx.replicas === 0) evaluate(pipeline, ctx, verdicts);
  // With several replicas, a node that gets one keeps the verdict it was chosen with: its scores
  // are recorded when it is chosen, in the state that pass saw.
  const chosenRows =
    explain && ctx.replicas > 1 ? new Verdicts(length, pipeline.scorers.length) : undefined;
  const chosen: number[] = [];
  const placements: Placement[] = [];

  for (let replica = 0; replica < ctx.replicas; replica++) {
    const last = replica + 1 === ctx.replicas;
    const i = evaluate(pipeline, ctx, last ? verdicts : undefined);
    if (i < 0) return infeasible(pipeline, ctx, replica, state);
    const node = ctx.nodes[i] as NodeSnapshot;
    if (chosenRows) {
      chosenRows.accept(i);
      pipeline.total(node, i, ctx, chosenRows);
    }
    chosen.push(i);
    placements.push({ replica, nodeId: node.id });
    // No pass reads the last placement: it is left out of the context, which stays as the last
    // pass saw it (for the reasons, written from it), and `chosen` says where it went.
    if (!last) recordPlacement(ctx, i);
  }
  if (verdicts && chosenRows) for (const i of chosen) verdicts.copyRow(chosenRows, i);

  const placed = placements.at(-1);
  return new Placed(
    placements,
    chosen,
    pipeline.rotates && placed ? { roundRobinCursor: placed.nodeId } : { ...state },
    verdicts ? { ctx, pipeline, verdicts } : undefined,
  );
}

/**
 * A successful answer. Its verdicts were recorded by the last pass: each node's id, and the check
 * it failed with the facts that check's reason is written from, or its scores. Their compact form
 * is those arrays; the explanation, one object per node with its reason written out, is built
 * from it when first read. A decision that nobody asks to explain writes no reason and builds no
 * object.
 *
 * A class, not an object literal with getters: a literal's getter is a new function each time,
 * which gives each answer a map of its own, kept in old space.
 */
class Placed implements Scheduled {
  readonly ok = true;
  private kept: CompactVerdicts | undefined;
  private built: NodeExplanation[] | undefined;

  constructor(
    readonly placements: Placement[],
    /** The index of the node each placement went to. */
    private readonly chosen: readonly number[],
    readonly state: SchedulerState,
    private readonly run:
      | { ctx: PlacementContext; pipeline: Pipeline; verdicts: Verdicts }
      | undefined,
  ) {}

  get compact(): CompactVerdicts {
    if (!this.run) return NO_VERDICTS;
    const { ctx, pipeline, verdicts } = this.run;
    this.kept ??= verdicts.compact(ctx, pipeline, this.chosen);
    return this.kept;
  }

  get explanations(): NodeExplanation[] {
    this.built ??= this.run ? expandVerdicts(this.compact) : [];
    return this.built;
  }
}

/** Nothing placed; the pass that failed, run again to record why, for every node. */
function infeasible(
  pipeline: Pipeline,
  ctx: PlacementContext,
  replica: number,
  state: SchedulerState,
): Infeasible {
  const verdicts = new Verdicts(ctx.nodes.length, pipeline.scorers.length);
  evaluate(pipeline, ctx, verdicts);
  const compact = verdicts.compact(ctx, pipeline, []);
  const explanations = expandVerdicts(compact);
  const labels = ctx.requiredLabels.map(([k, v]) => `${k}=${v}`).join(",") || "none";
  const what =
    `replica ${replica + 1} of ${ctx.replicas} of deployment ${ctx.deploymentId} ` +
    `(${ctx.cpuMillicores}m CPU, ${ctx.memoryBytes / MIB} MiB, labels ${labels})`;
  return {
    ok: false,
    error: "infeasible",
    placeable: replica,
    explanations,
    compact,
    message: infeasibleMessage(what, explanations),
    state: { ...state },
  };
}
