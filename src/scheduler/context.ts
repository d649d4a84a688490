/**
 * The working state of one scheduling run: the nodes in id order, the request with its defaults
 * and units resolved, and what this run has placed so far. Checks and scorers read it; only
 * `recordPlacement` changes it.
 *
 * Per-node facts are kept in arrays indexed like `nodes`, not in objects or maps built per node,
 * because a run over 1,000 nodes must take tens of microseconds. Plain arrays rather than typed
 * ones: a run is short-lived, and the young generation frees plain arrays for nothing, where
 * thousands of dead ArrayBuffers a second cost the collector more than the placements. The two
 * counting arrays stay empty (read as 0) until there is something to count: most requests have
 * no replica running yet and place one, and filling 1,000 zeros twice was a tenth of such a run.
 * A run makes no closures either: tsx and the build keep function names, which gives every
 * closure made a property definition of its own.
 */
import { invalidArgument } from "../domain/index.js";
import {
  type ClusterSnapshot,
  DEFAULT_REQUIRED_LABELS,
  MIB,
  type NodeSnapshot,
  type PlacementRequest,
  type SchedulerState,
} from "./snapshot.js";

export interface PlacementContext {
  /** Sorted by id: the stable order ties and round-robin go by. */
  readonly nodes: readonly NodeSnapshot[];
  readonly deploymentId: string;
  readonly replicas: number;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  readonly requiredLabels: readonly (readonly [string, string])[];
  readonly nowMs: number;
  readonly heartbeatTimeoutMs: number;
  /** The indexes of the nodes the request asks to avoid; usually none. */
  readonly avoided: readonly number[];
  /**
   * Replicas of this deployment on each node: those already running and those placed in this run.
   * Empty while there are none (read `replicasOn[i] ?? 0`).
   */
  replicasOn: number[];
  /**
   * Replicas placed on each node in this run; unlike existing ones, not yet in its reserved
   * figures. Empty until the first placement (read it with `placedOnNode`).
   */
  placedOn: number[];
  /** The index of the first node after the round-robin cursor. */
  rotationStart: number;
}

export function createContext(
  snapshot: ClusterSnapshot,
  request: PlacementRequest,
  now: Date,
  state: SchedulerState,
): PlacementContext {
  validate(request);
  const nodes = inIdOrder(snapshot.nodes);
  const existing = request.existing ?? [];
  const replicasOn = existing.length > 0 ? zeros(nodes.length) : [];
  for (const id of existing) {
    const i = indexOf(nodes, id);
    if (i >= 0) replicasOn[i] = (replicasOn[i] ?? 0) + 1;
  }
  const avoided: number[] = [];
  for (const id of request.avoidNodes ?? []) {
    const i = indexOf(nodes, id);
    if (i >= 0) avoided.push(i);
  }
  const cursor = state.roundRobinCursor;
  return {
    nodes,
    deploymentId: request.deploymentId,
    replicas: request.replicas,
    cpuMillicores: request.cpuMillicores,
    memoryBytes: request.memoryMb * MIB,
    requiredLabels: Object.entries(request.requiredLabels ?? DEFAULT_REQUIRED_LABELS),
    nowMs: now.getTime(),
    heartbeatTimeoutMs: snapshot.heartbeatTimeoutMs,
    avoided,
    replicasOn,
    placedOn: [],
    rotationStart: cursor === undefined ? 0 : firstAfter(nodes, cursor) % Math.max(nodes.length, 1),
  };
}

/** Counts a replica placed on node i: it takes capacity, and the rotation moves past the node. */
export function recordPlacement(ctx: PlacementContext, i: number): void {
  if (ctx.placedOn.length === 0) ctx.placedOn = zeros(ctx.nodes.length);
  if (ctx.replicasOn.length === 0) ctx.replicasOn = zeros(ctx.nodes.length);
  ctx.placedOn[i] = (ctx.placedOn[i] ?? 0) + 1;
  ctx.replicasOn[i] = (ctx.replicasOn[i] ?? 0) + 1;
  ctx.rotationStart = (i + 1) % ctx.nodes.length;
}

/**
 * Replicas this run has placed on node i. Most runs place one replica, whose only pass comes
 * before any placement: asking whether anything is placed yet, rather than reading each node's
 * entry of the empty array, spares the checks and scorers an out-of-bounds read per node (a
 * thirtieth of a placement, measured).
 */
export function placedOnNode(ctx: PlacementContext, i: number): number {
  return ctx.placedOn.length === 0 ? 0 : (ctx.placedOn[i] ?? 0);
}

/** Free CPU on node i for this run, in millicores: capacity less reservations less our placements. */
export function freeCpuMillicores(ctx: PlacementContext, node: NodeSnapshot, i: number): number {
  return cpuLeft(ctx, node, placedOnNode(ctx, i));
}

export function freeMemoryBytes(ctx: PlacementContext, node: NodeSnapshot, i: number): number {
  return memoryLeft(ctx, node, placedOnNode(ctx, i));
}

/** Free CPU on a node where this run has placed `placed` replicas, in millicores. */
export function cpuLeft(ctx: PlacementContext, node: NodeSnapshot, placed: number): number {
  return Math.round(node.cpuCores * 1000) - node.reservedCpuMillicores - placed * ctx.cpuMillicores;
}

/** Free memory on a node where this run has placed `placed` replicas, in bytes. */
export function memoryLeft(ctx: PlacementContext, node: NodeSnapshot, placed: number): number {
  return node.memoryBytes - node.reservedMemoryBytes - placed * ctx.memoryBytes;
}

function zeros(length: number): number[] {
  return new Array<number>(length).fill(0);
}

function validate(request: PlacementRequest): void {
  if (!whole(request.replicas)) throw invalidArgument("replicas must be a whole number, 0 or more");
  if (!whole(request.cpuMillicores))
    throw invalidArgument("cpu must be whole millicores, 0 or more");
  if (!whole(request.memoryMb)) throw invalidArgument("memory must be whole MiB, 0 or more");
}

function whole(n: number): boolean {
  return Number.isInteger(n) && n >= 0;
}

/**
 * The nodes in id order (by code unit, not locale, so every controller agrees). The controller
 * reads them ordered by id, so usually this only confirms the order: one string comparison per
 * node, a fifth of a placement on 1,000 nodes, which no run can skip (the answer must not depend
 * on the order it was given). Each id is read once, kept for the next comparison.
 */
function inIdOrder(nodes: readonly NodeSnapshot[]): readonly NodeSnapshot[] {
  let previous: string | undefined;
  for (const { id } of nodes) {
    if (previous !== undefined && previous >= id) {
      return [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    previous = id;
  }
  return nodes;
}

/** The index of the first node whose id is greater than `id` (nodes.length when none is). */
function firstAfter(nodes: readonly NodeSnapshot[], id: string): number {
  let lo = 0;
  let hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((nodes[mid] as NodeSnapshot).id <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function indexOf(nodes: readonly NodeSnapshot[], id: string): number {
  const i = firstAfter(nodes, id) - 1;
  return i >= 0 && nodes[i]?.id === id ? i : -1;
}
