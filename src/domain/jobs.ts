/**
 * The jobs that wake the controller: their names and ids, shared by those who enqueue them (the
 * deployments and nodes services, the agent) and the controller that handles them. A job id
 * makes repeated wake-ups for one change one job.
 */
import { createHash } from "node:crypto";

/** A deployment needs converging. */
export const DEPLOY_JOB = "deploy";

/** A node's availability or labels changed: its deployments are planned again. */
export const NODE_CHANGED_JOB = "node-changed";

/** The job id of a deployment's wake-up for one generation. */
export function deployJobId(deploymentId: string, generation: number): string {
  return `${DEPLOY_JOB}-${deploymentId}-${generation}`;
}

/**
 * The job id of a node's change at `at`: one job per change. Node ids may hold ":" (a Docker
 * engine's id), which job ids may not, so the id is hashed.
 */
export function nodeChangedJobId(nodeId: string, at: Date): string {
  const digest = createHash("sha256").update(nodeId).digest("hex").slice(0, 20);
  return `${NODE_CHANGED_JOB}-${digest}-${at.getTime()}`;
}
