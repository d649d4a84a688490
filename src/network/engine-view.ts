/**
 * What the isolation rules need to know from the node's Docker engine: where tenants' traffic
 * comes from.
 *
 * - Tenant bridges: every project and build network's bridge is `obt-…` (one pattern matches them
 *   all, also ones made after this pass). Project networks made before their bridges were named
 *   so keep Docker's `br-<id>`: found by the platform's project label and named one by one.
 * - docker_gwbridge, on a Swarm node: every task's way out of the node, shared by tenants' replicas
 *   and everything else that runs there (the edge, the platform's own services). Its sources are
 *   tenants unless known otherwise: the addresses of its endpoints whose container does not carry
 *   `cloud.obiente.deployment=true` (and Swarm's ingress sandbox) are exempt. A container that
 *   appears between two passes is therefore treated as a tenant until the next pass, never the
 *   other way round.
 */
import type Dockerode from "dockerode";
import { LABELS } from "../domain/index.js";
import { statusOf, TENANT_BRIDGE_PATTERN, TENANT_BRIDGE_PREFIX } from "../runtime/index.js";

export const SHARED_BRIDGE = "docker_gwbridge";
const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

export interface EngineView {
  tenantInterfaces: string[];
  sharedBridge: { interface: string; exempt: string[] } | undefined;
}

export async function readEngineView(docker: Dockerode): Promise<EngineView> {
  const projectNetworks = await docker.listNetworks({
    filters: { label: [LABELS.projectId], driver: ["bridge"] },
  });
  const older = projectNetworks
    .map((network) => network.Options?.[BRIDGE_NAME_OPTION] ?? `br-${network.Id.slice(0, 12)}`)
    .filter((name) => !name.startsWith(TENANT_BRIDGE_PREFIX));
  return {
    tenantInterfaces: [TENANT_BRIDGE_PATTERN, ...older],
    sharedBridge: await sharedBridgeView(docker),
  };
}

async function sharedBridgeView(docker: Dockerode): Promise<EngineView["sharedBridge"]> {
  let gateway: Dockerode.NetworkInspectInfo;
  try {
    gateway = (await docker.getNetwork(SHARED_BRIDGE).inspect()) as Dockerode.NetworkInspectInfo;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
  // Listed after the bridge was read: every endpoint's container is in the list unless removed
  // meanwhile (then it counts as a tenant; its address is free or a new tenant's).
  const labels = new Map(
    (await docker.listContainers({ all: true })).map((c) => [c.Id, c.Labels ?? {}] as const),
  );
  const exempt: string[] = [];
  for (const [id, endpoint] of Object.entries(gateway.Containers ?? {})) {
    const address = endpoint.IPv4Address?.split("/")[0];
    if (!address) continue;
    const containerLabels = labels.get(id);
    const other =
      id === "ingress-sbox" ||
      (containerLabels !== undefined && containerLabels[LABELS.deployment] !== "true");
    if (other) exempt.push(`${address}/32`);
  }
  return { interface: SHARED_BRIDGE, exempt };
}
