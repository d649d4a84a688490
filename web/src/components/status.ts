/** Status dots and badges: queued grey, building amber (pulsing), deploying blue, running green, failed red, stopped grey. */
import {
  BuildStatus,
  DeploymentStatus,
} from "../../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeAvailability } from "../../../src/gen/obiente/cloud/node/v1/node_pb.js";
import { h } from "../dom.js";

export type Tone =
  | "queued"
  | "building"
  | "deploying"
  | "running"
  | "failed"
  | "stopped"
  | "deleting";

const DEPLOYMENT: Record<DeploymentStatus, { tone: Tone; label: string }> = {
  [DeploymentStatus.UNSPECIFIED]: { tone: "queued", label: "Unknown" },
  [DeploymentStatus.QUEUED]: { tone: "queued", label: "Queued" },
  [DeploymentStatus.BUILDING]: { tone: "building", label: "Building" },
  [DeploymentStatus.DEPLOYING]: { tone: "deploying", label: "Deploying" },
  [DeploymentStatus.RUNNING]: { tone: "running", label: "Running" },
  [DeploymentStatus.STOPPED]: { tone: "stopped", label: "Stopped" },
  [DeploymentStatus.FAILED]: { tone: "failed", label: "Failed" },
  [DeploymentStatus.DELETING]: { tone: "deleting", label: "Deleting" },
};

export const deploymentStatus = (s: DeploymentStatus) => DEPLOYMENT[s] ?? DEPLOYMENT[0];

/** Statuses that change on their own: the app watches them closely. */
export const isTransitional = (s: DeploymentStatus) =>
  s === DeploymentStatus.QUEUED ||
  s === DeploymentStatus.BUILDING ||
  s === DeploymentStatus.DEPLOYING ||
  s === DeploymentStatus.DELETING;

const BUILD: Record<BuildStatus, { tone: Tone; label: string }> = {
  [BuildStatus.UNSPECIFIED]: { tone: "queued", label: "Unknown" },
  [BuildStatus.QUEUED]: { tone: "queued", label: "Queued" },
  [BuildStatus.RUNNING]: { tone: "building", label: "Building" },
  [BuildStatus.SUCCEEDED]: { tone: "running", label: "Ready" },
  [BuildStatus.FAILED]: { tone: "failed", label: "Failed" },
  [BuildStatus.CANCELLED]: { tone: "stopped", label: "Cancelled" },
};

export const buildStatus = (s: BuildStatus) => BUILD[s] ?? BUILD[0];

const NODE: Record<NodeAvailability, { tone: Tone; label: string }> = {
  [NodeAvailability.UNSPECIFIED]: { tone: "queued", label: "Unknown" },
  [NodeAvailability.ACTIVE]: { tone: "running", label: "Active" },
  [NodeAvailability.DRAIN]: { tone: "building", label: "Draining" },
  [NodeAvailability.DOWN]: { tone: "failed", label: "Down" },
};

export const nodeStatus = (s: NodeAvailability) => NODE[s] ?? NODE[0];

export function dot(tone: Tone, label?: string): HTMLElement {
  return h("span", {
    class: `dot dot-${tone}`,
    ...(label ? { role: "img", "aria-label": label, title: label } : { "aria-hidden": "true" }),
  });
}

export function badge(info: { tone: Tone; label: string }): HTMLElement {
  return h(
    "span",
    { class: `badge badge-${info.tone}`, dataset: { status: info.tone } },
    dot(info.tone),
    info.label,
  );
}
