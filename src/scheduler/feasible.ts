/**
 * Feasibility: can this node take one more replica of the request? Each check has a cheap
 * predicate, which allocates nothing, and the reason it fails, written for the person reading
 * ExplainPlacement or the ResourceExhausted error; the reason is only built for nodes that fail.
 */
import { freeCpuMillicores, freeMemoryBytes, type PlacementContext } from "./context.js";
import { MIB, type NodeSnapshot } from "./snapshot.js";

export interface FeasibilityCheck {
  /** The constraint's name, as explanations and error messages show it. */
  readonly name: string;
  passes(node: NodeSnapshot, i: number, ctx: PlacementContext): boolean;
  /** Why the node does not pass; only asked of a node that does not. */
  reason(node: NodeSnapshot, i: number, ctx: PlacementContext): string;
}

/** Drained and down nodes take nothing new. */
export const isActive: FeasibilityCheck = {
  name: "active",
  passes: (node) => node.availability === "active",
  reason: (node) => (node.availability === "drain" ? "node is draining" : "node is down"),
};

/** A node whose agent has gone quiet may be gone; placing there would be a guess. */
export const isHealthy: FeasibilityCheck = {
  name: "healthy",
  passes: (node, _i, ctx) =>
    node.lastHeartbeat !== null &&
    ctx.nowMs - node.lastHeartbeat.getTime() <= ctx.heartbeatTimeoutMs,
  reason(node, _i, ctx) {
    if (node.lastHeartbeat === null) return "no heartbeat received yet";
    const age = ctx.nowMs - node.lastHeartbeat.getTime();
    return `last heartbeat ${seconds(age)} ago, over the ${seconds(ctx.heartbeatTimeoutMs)} timeout`;
  },
};

/** The node carries every required label with the required value (compute=true for user apps). */
export const hasLabels: FeasibilityCheck = {
  name: "labels",
  passes(node, _i, ctx) {
    const { requiredLabels } = ctx;
    for (let k = 0; k < requiredLabels.length; k++) {
      const label = requiredLabels[k] as readonly [string, string];
      if (node.labels[label[0]] !== label[1]) return false;
    }
    return true;
  },
  reason(node, _i, ctx) {
    const [key, value] = ctx.requiredLabels.find(([k, v]) => node.labels[k] !== v) ?? ["", ""];
    const actual = node.labels[key];
    return actual === undefined
      ? `lacks the label ${key}=${value}`
      : `label ${key}=${actual}, needs ${key}=${value}`;
  },
};

/** The node's own cap on deployments, counting the replicas this request already put there. */
export const underMaxDeployments: FeasibilityCheck = {
  name: "max-deployments",
  passes: (node, i, ctx) => node.deploymentCount + (ctx.placedOn[i] ?? 0) < node.maxDeployments,
  reason(node, i, ctx) {
    const placed = ctx.placedOn[i] ?? 0;
    const ours = placed > 0 ? ` (${placed} placed by this request)` : "";
    return `at its limit of ${node.maxDeployments} deployments${ours}`;
  },
};

/** Free CPU is capacity less the limits already placed: limits are promises, not measurements. */
export const hasFreeCpu: FeasibilityCheck = {
  name: "cpu",
  passes: (node, i, ctx) => freeCpuMillicores(ctx, node, i) >= ctx.cpuMillicores,
  reason(node, i, ctx) {
    const free = freeCpuMillicores(ctx, node, i);
    const left = free >= 0 ? `${free}m free` : `overcommitted by ${-free}m`;
    return `not enough CPU: ${left}, ${ctx.cpuMillicores}m requested`;
  },
};

export const hasFreeMemory: FeasibilityCheck = {
  name: "memory",
  passes: (node, i, ctx) => freeMemoryBytes(ctx, node, i) >= ctx.memoryBytes,
  reason(node, i, ctx) {
    const free = freeMemoryBytes(ctx, node, i);
    const left = free >= 0 ? `${mib(free)} free` : `overcommitted by ${mib(-free)}`;
    return `not enough memory: ${left}, ${mib(ctx.memoryBytes)} requested`;
  },
};

/** A migration moves the deployment off these nodes, so they must not take it back. */
export const notAvoided: FeasibilityCheck = {
  name: "avoid",
  passes: (_node, i, ctx) => ctx.avoided.length === 0 || !ctx.avoided.includes(i),
  reason: () => "avoided: the deployment is moving off this node",
};

/** Every check, in the order a node's reason is looked for: the first one it fails. */
export const FEASIBILITY_CHECKS: readonly FeasibilityCheck[] = [
  isActive,
  isHealthy,
  hasLabels,
  underMaxDeployments,
  hasFreeCpu,
  hasFreeMemory,
  notAvoided,
];

/**
 * The index in FEASIBILITY_CHECKS of the first check the node fails, or -1 when it passes them
 * all: the same predicates, called by name. Every pass asks it of every node, and direct calls
 * are ones the engine inlines, where going through the list costs a dispatch per check per node:
 * about half the time of a placement on 1,000 nodes. The list is what names the check and says
 * why. A test holds the two together.
 */
export function failedCheck(node: NodeSnapshot, i: number, ctx: PlacementContext): number {
  if (!isActive.passes(node, i, ctx)) return 0;
  if (!isHealthy.passes(node, i, ctx)) return 1;
  if (!hasLabels.passes(node, i, ctx)) return 2;
  if (!underMaxDeployments.passes(node, i, ctx)) return 3;
  if (!hasFreeCpu.passes(node, i, ctx)) return 4;
  if (!hasFreeMemory.passes(node, i, ctx)) return 5;
  if (!notAvoided.passes(node, i, ctx)) return 6;
  return -1;
}

/** Whether the node passes every check of FEASIBILITY_CHECKS. */
export function passesAll(node: NodeSnapshot, i: number, ctx: PlacementContext): boolean {
  return failedCheck(node, i, ctx) < 0;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

function mib(bytes: number): string {
  return `${Math.floor(bytes / MIB)} MiB`;
}
