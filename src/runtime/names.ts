/**
 * Deterministic names of what the platform runs, and the labels of a deployment's container.
 * Pure.
 *
 * Names are derived from what the platform already knows (deployment, replica, build, restart
 * generation, node), never from a random value, so that a retry after a crash finds the container
 * or network that the first try made instead of making a second one (docs/architecture.md,
 * "Reconciliation").
 */
import { hash } from "node:crypto";
import { DEPLOYMENT_LABEL_VALUE, invalidArgument, LABELS } from "../domain/index.js";

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
): string {
  if (!Number.isSafeInteger(replica) || replica < 0) {
    throw invalidArgument(`replica must be a non-negative integer, got ${replica}`);
  }
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
 * The names of replicas 0…n-1, `obiente-<deploymentId>-r<replica>-<key>`: one hash for them all,
 * and remembered. The reconciler names every replica of every deployment on every pass, and these
 * inputs change only on a deploy, a restart, a scale or a move, so a lookup builds no string. The
 * same inputs give the same array, which is not to be changed.
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
  id("deployment id", deploymentId);
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

const ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

function id(field: string, value: string): string {
  if (!ID.test(value)) {
    throw invalidArgument(
      `${field} must be 1 to 64 lowercase letters, digits or inner hyphens, got "${value.slice(0, 80)}"`,
    );
  }
  return value;
}

/** `obiente-net-<projectId>`: the one bridge network of a project. */
export function projectNetworkName(projectId: string): string {
  return `obiente-net-${id("project id", projectId)}`;
}

export interface DeploymentLabelValues {
  deploymentId: string;
  projectId: string;
  organizationId: string;
  replica: number;
  buildId: string;
  /** This installation's id, when it has one (LABELS.installation). */
  installationId?: string | undefined;
}

/** The full label set of a deployment's container, `deployment=true` included. */
export function deploymentLabels(values: DeploymentLabelValues): Record<string, string> {
  return {
    [LABELS.deployment]: DEPLOYMENT_LABEL_VALUE,
    [LABELS.deploymentId]: values.deploymentId,
    [LABELS.projectId]: values.projectId,
    [LABELS.organizationId]: values.organizationId,
    [LABELS.replica]: String(values.replica),
    [LABELS.buildId]: values.buildId,
    ...(values.installationId ? { [LABELS.installation]: values.installationId } : {}),
  };
}
