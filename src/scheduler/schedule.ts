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
import { infeasibleMessage, type NodeExplanation, Verdicts } from "./explain.js";
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
   * Every node's verdict, in id order: a node that got a replica shows the scores it was chosen
   * with; any other node its verdict for the last replica. Empty when asked not to explain.
   *
   * Built when first read, from what the run kept (see Placed): the snapshot must not change
   * until then. A caller pays for the explanation only when it reads it.
   */
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
  /** Which constraint failed on which node, for the ResourceExhausted error. */
  readonly message: string;
  /** The state passed in, unchanged. */
  readonly state: SchedulerState;
}

export type ScheduleResult = Scheduled | Infeasible;

export interface ScheduleOptions {
  /**
   * Whether the answer can give every node's verdict (default true): what ExplainPlacement shows,
   * so the controller keeps them. A run that does not explain keeps nothing to build them from
   * (for dry runs). An infeasible answer always explains.
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
  // With several replicas, a node that gets one keeps the verdict it was chosen with: its scores
  // are recorded when it is chosen, in the state that pass saw.
  const chosenRows =
    explain && ctx.replicas > 1
      ? new Verdicts(ctx.nodes.length, pipeline.scorers.length)
      : undefined;
  const chosen: number[] = [];
  const placements: Placement[] = [];

  for (let replica = 0; replica < ctx.replicas; replica++) {
    const i = evaluate(pipeline, ctx);
    if (i < 0) return infeasible(pipeline, ctx, replica, state);
    const node = ctx.nodes[i] as NodeSnapshot;
    if (chosenRows) {
      chosenRows.accept(i);
      pipeline.total(node, i, ctx, chosenRows);
    }
    chosen.push(i);
    placements.push({ replica, nodeId: node.id });
    // No pass reads the last placement: it is left out of the context, which stays as the last
    // pass saw it (for the explanation), and `chosen` says where it went.
    if (replica + 1 < ctx.replicas) recordPlacement(ctx, i);
  }

  const last = placements.at(-1);
  return new Placed(
    placements,
    chosen,
    pipeline.rotates && last ? { roundRobinCursor: last.nodeId } : { ...state },
    explain ? { ctx, pipeline, chosenRows } : undefined,
  );
}

/**
 * A successful answer. Its explanation is built when first read, from what the run kept: the
 * context as the last pass saw it (the snapshot, what earlier passes placed) and the scores each
 * chosen node was chosen with. That pass runs again, recording every node's verdict (the check it
 * failed, or its scores), the chosen nodes' rows are put back, and the verdicts become objects.
 * Every pass is a function of the context, so this is the verdict the run saw; a decision that
 * nobody asks to explain costs no more than one that cannot be.
 *
 * A class, not an object literal with a getter: a literal's getter is a new function each time,
 * which gives each answer a map of its own, kept in old space.
 */
class Placed implements Scheduled {
  readonly ok = true;
  private built: NodeExplanation[] | undefined;

  constructor(
    readonly placements: Placement[],
    /** The index of the node each placement went to. */
    private readonly chosen: readonly number[],
    readonly state: SchedulerState,
    private readonly run:
      | { ctx: PlacementContext; pipeline: Pipeline; chosenRows: Verdicts | undefined }
      | undefined,
  ) {}

  get explanations(): NodeExplanation[] {
    this.built ??= this.explain();
    return this.built;
  }

  private explain(): NodeExplanation[] {
    if (!this.run) return [];
    const { ctx, pipeline, chosenRows } = this.run;
    const verdicts = new Verdicts(ctx.nodes.length, pipeline.scorers.length);
    evaluate(pipeline, ctx, verdicts);
    if (chosenRows) for (const i of this.chosen) verdicts.copyRow(chosenRows, i);
    const selected = new Set(this.chosen);
    return verdicts.explain(ctx, pipeline, (i) => selected.has(i));
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
  const explanations = verdicts.explain(ctx, pipeline, () => false);
  const labels = ctx.requiredLabels.map(([k, v]) => `${k}=${v}`).join(",") || "none";
  const what =
    `replica ${replica + 1} of ${ctx.replicas} of deployment ${ctx.deploymentId} ` +
    `(${ctx.cpuMillicores}m CPU, ${ctx.memoryBytes / MIB} MiB, labels ${labels})`;
  return {
    ok: false,
    error: "infeasible",
    placeable: replica,
    explanations,
    message: infeasibleMessage(what, explanations),
    state: { ...state },
  };
}
