/**
 * Deployment status events, published on the bus (Redis pub/sub across API replicas, or the
 * in-process bus) whenever a deployment's status changes, and streamed to whoever watches.
 */
import type { DeploymentStatusName } from "../store/index.js";

export interface StatusEvent {
  deploymentId: string;
  organizationId: string;
  status: DeploymentStatusName;
  message: string;
  at: string; // ISO time
}

export const statusChannel = (deploymentId: string) => `deployment-status:${deploymentId}`;

export function isStatusEvent(value: unknown): value is StatusEvent {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.deploymentId === "string" &&
    typeof v.status === "string" &&
    typeof v.message === "string" &&
    typeof v.at === "string"
  );
}

/** Live build log lines travel on the bus on this channel; `{ done: true }` ends a build's stream. */
export const buildLogChannel = (buildId: string) => `build-log:${buildId}`;

export type BuildLogMessage = { line: string; at: string } | { done: true };

/**
 * CancelBuild asks whichever controller runs the build to stop it, on this channel. The build's
 * row says 'cancelled' before the message goes out, so a controller that subscribes late still
 * sees it there.
 */
export const buildCancelChannel = (buildId: string) => `build-cancel:${buildId}`;
