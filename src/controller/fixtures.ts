/**
 * Fixtures for the controller's pure tests (plan.test.ts, plan-deployment.test.ts): ids that read
 * as what they are, and the container the deployer runs for a replica, as the engine lists it.
 */
import { DEPLOYMENT_LABEL_VALUE, LABELS } from "../domain/index.js";
import { type ContainerRef, containerName } from "../runtime/index.js";

export const D1 = "00000000-0000-4000-8000-000000000001";
export const D2 = "00000000-0000-4000-8000-000000000002";
export const P1 = "20000000-0000-4000-8000-000000000001";
export const B1 = "10000000-0000-4000-8000-000000000001";
export const B2 = "10000000-0000-4000-8000-000000000002";
export const N1 = "node1aaaaaaaaaaaaaaaaaaaaa";
export const N2 = "node2aaaaaaaaaaaaaaaaaaaaa";
export const N3 = "node3aaaaaaaaaaaaaaaaaaaaa";

export type ReplicaOverrides = Partial<ContainerRef> & {
  replica?: number;
  buildId?: string;
  generation?: number;
};

/**
 * The container of this replica of this build (and restart generation, and node when given):
 * running, without a health check, publishing port 20000 + replica, id "c-<name>".
 */
export function replicaContainer(deploymentId: string, overrides: ReplicaOverrides = {}) {
  const { replica = 0, buildId = B1, generation = 0, ...rest } = overrides;
  const name = containerName(deploymentId, replica, buildId, generation, rest.nodeId);
  return {
    id: `c-${name}`,
    name,
    state: "running",
    health: "none",
    labels: { [LABELS.deployment]: DEPLOYMENT_LABEL_VALUE, [LABELS.deploymentId]: deploymentId },
    hostPort: 20_000 + replica,
    ...rest,
  } satisfies ContainerRef;
}
