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
   * controller keeps them. A run that does not explain allocates nothing per node and is about
   * three times faster, for dry runs and benchmarks. An infeasible answer always explains.
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
  // With several replicas, each node keeps the verdict it was chosen with, or else its latest.
  const kept = pass && ctx.replicas > 1 ? new Verdicts(size, pipeline.scorers.length) : pass;
  const placements: Placement[] = [];

  if (ctx.replicas === 0) evaluate(pipeline, ctx, pass); // nothing to place, still explained
  for (let replica = 0; replica < ctx.replicas; replica++) {
    const chosen = evaluate(pipeline, ctx, pass);
    if (chosen < 0) return infeasible(pipeline, ctx, replica, state);
    if (kept && pass && kept !== pass) {
      for (let i = 0; i < size; i++) {
        if (ctx.placedOn[i] === 0 || i === chosen) kept.copyRow(pass, i);
      }
    }
    recordPlacement(ctx, chosen);
    placements.push({ replica, nodeId: (ctx.nodes[chosen] as NodeSnapshot).id });
  }

  const last = placements.at(-1);
  return {
    ok: true,
    placements,
    explanations: kept?.explain(ctx, pipeline, (i) => (ctx.placedOn[i] ?? 0) > 0) ?? [],
    state: pipeline.rotates && last ? { roundRobinCursor: last.nodeId } : { ...state },
  };
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
