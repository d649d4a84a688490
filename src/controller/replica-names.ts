/**
 * The deployer's deterministic names and labels, pure: the same deployment, replica, build,
 * restart generation and node always give the same container name, so that a retry after a
 * crash finds what the first try made instead of starting more. The plan (plan-deployment.ts,
 * plan.ts) and the executor (deployer.ts) both name replicas through this module.
 */
import { hash } from "node:crypto";

export const LABEL = {
  managed: "cloud.obiente.deployment",
  deploymentId: "cloud.obiente.deployment_id",
  projectId: "cloud.obiente.project_id",
  organizationId: "cloud.obiente.organization_id",
  replica: "cloud.obiente.replica",
  buildId: "cloud.obiente.build_id",
} as const;

/**
 * Put on every container the platform starts: several installations can share one engine, and
 * each reconciler leaves the others' containers alone (installation.ts keeps the id).
 */
export const INSTALLATION_LABEL = "cloud.obiente.installation";

export const projectNetwork = (projectId: string) => `obiente-net-${projectId}`;

/**
 * Names a container after what it runs, so that the same inputs always give the same name. On a
 * cluster the node is part of it: a replica moved to another node is a new service, which starts
 * beside the old one (a drain without downtime), and the names stay within Swarm's 63 characters.
 */
export function containerName(
  deploymentId: string,
  replica: number,
  buildId: string,
  restartGeneration: number,
  nodeId?: string,
) {
  return containerNames(deploymentId, replica + 1, buildId, restartGeneration, nodeId)[
    replica
  ] as string;
}

/** Names remembered for this many (build, generation, node) at most: far above an installation's. */
export const NAMES_REMEMBERED_MAX = 50_000;
/** A build runs on a few nodes, in one restart generation at a time. */
const NAMES_PER_BUILD = 64;

interface RememberedNames {
  deploymentId: string;
  restartGeneration: number;
  nodeId: string | undefined;
  /** A SHA-256 prefix of "build:generation[:node]". */
  key: string;
  names: readonly string[];
}

/** By build id; within a build, few enough to look through. */
const namesByBuild = new Map<string, RememberedNames[]>();
let remembered = 0;

/**
 * The names of replicas 0…n-1: one hash for them all, and remembered. The reconciler names every
 * replica of every deployment on every pass, and these inputs change only on a deploy, a restart,
 * a scale or a move: a lookup builds no string, where hashing on each pass was a third of the
 * diff. The same inputs give the same array, which is not to be changed.
 */
export function containerNames(
  deploymentId: string,
  replicas: number,
  buildId: string,
  restartGeneration: number,
  nodeId?: string,
): readonly string[] {
  let ofBuild = namesByBuild.get(buildId);
  const known = ofBuild?.find(
    (n) =>
      n.deploymentId === deploymentId &&
      n.restartGeneration === restartGeneration &&
      n.nodeId === nodeId,
  );
  if (known) {
    if (known.names.length !== replicas) {
      known.names = replicaNames(deploymentId, replicas, known.key);
    }
    return known.names;
  }
  const input = `${buildId}:${restartGeneration}${nodeId === undefined ? "" : `:${nodeId}`}`;
  const key = hash("sha256", input, "hex").slice(0, 12);
  const names = replicaNames(deploymentId, replicas, key);
  if (remembered >= NAMES_REMEMBERED_MAX) {
    // All forgotten at once; the next pass names again what it needs.
    namesByBuild.clear();
    remembered = 0;
    ofBuild = undefined;
  }
  if (!ofBuild) {
    ofBuild = [];
    namesByBuild.set(buildId, ofBuild);
  }
  if (ofBuild.length >= NAMES_PER_BUILD) {
    // Restarted many times: the oldest generations go first, and every lookup stays short.
    ofBuild.shift();
    remembered--;
  }
  ofBuild.push({ deploymentId, restartGeneration, nodeId, key, names });
  remembered++;
  return names;
}

function replicaNames(deploymentId: string, replicas: number, key: string): string[] {
  const names = new Array<string>(replicas);
  for (let r = 0; r < replicas; r++) names[r] = `obiente-${deploymentId}-r${r}-${key}`;
  return names;
}
