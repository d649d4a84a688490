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
   * Built when first read, from the compact verdicts the run kept (the check each node failed,
   * or its scores) and the snapshot: the snapshot must not change until then. A caller that
   * keeps the answer for ExplainPlacement pays for the objects only when it reads them.
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
   * Whether to return every node's verdict (default true): what ExplainPlacement shows, so the
   * controller keeps them. A run that does not explain records nothing per node, for dry runs
   * and benchmarks. An infeasible answer always explains.
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
  const size = ctx.nodes.length;
  const explain = options.explain ?? true;
  const pass = explain ? new Verdicts(size, pipeline.scorers.length) : undefined;
  // With several replicas, a node that gets one keeps the verdict it was chosen with: its row is
  // set aside here when chosen, and put back over the later passes' at the end.
  const chosenRows =
    pass && ctx.replicas > 1 ? new Verdicts(size, pipeline.scorers.length) : undefined;
  const chosen: number[] = [];
  const placements: Placement[] = [];

  if (ctx.replicas === 0) evaluate(pipeline, ctx, pass); // nothing to place, still explained
  for (let replica = 0; replica < ctx.replicas; replica++) {
    const i = evaluate(pipeline, ctx, pass);
    if (i < 0) return infeasible(pipeline, ctx, replica, state);
    chosenRows?.copyRow(pass as Verdicts, i);
    chosen.push(i);
    placements.push({ replica, nodeId: (ctx.nodes[i] as NodeSnapshot).id });
    // No pass reads the last placement, and recording it would allocate two arrays as long as
    // the nodes: it is left out of the context, and `chosen` says where it went.
    if (replica + 1 < ctx.replicas) recordPlacement(ctx, i);
  }

  const last = placements.at(-1);
  const explained = pass && { verdicts: pass, chosenRows, ctx, pipeline };
  return new Placed(
    placements,
    chosen,
    pipeline.rotates && last ? { roundRobinCursor: last.nodeId } : { ...state },
    explained,
  );
}

/**
 * A successful answer. A class, not an object literal with a getter: a literal's getter is a new
 * function each time, which gives each answer a map of its own, kept in old space.
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
      | {
          verdicts: Verdicts;
          chosenRows: Verdicts | undefined;
          ctx: PlacementContext;
          pipeline: Pipeline;
        }
      | undefined,
  ) {}

  get explanations(): NodeExplanation[] {
    this.built ??= this.explain();
    return this.built;
  }

  private explain(): NodeExplanation[] {
    if (!this.run) return [];
    const { verdicts, chosenRows, ctx, pipeline } = this.run;
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
