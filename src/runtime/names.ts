/**
 * Deterministic names and the labels every platform container carries. Pure.
 *
 * Names are derived from what the platform already knows (deployment, replica, build), never from
 * a random value, so that a retry after a crash finds the container or network that the first try
 * made instead of making a second one (see STYLE.md, "Kubernetes controllers").
 */
import { invalidArgument } from "../domain/errors.js";

/** Label keys. The reconciler finds the platform's containers by `deployment=true`. */
export const LABELS = {
  /** "true" on every container the platform runs for a deployment. */
  deployment: "cloud.obiente.deployment",
  deploymentId: "cloud.obiente.deployment_id",
  projectId: "cloud.obiente.project_id",
  organizationId: "cloud.obiente.organization_id",
  replica: "cloud.obiente.replica",
  buildId: "cloud.obiente.build_id",
  /** The deployment's desired-state generation the container was made for. */
  generation: "cloud.obiente.generation",
} as const;

/** The value of `LABELS.deployment` on platform containers. */
export const DEPLOYMENT_LABEL_VALUE = "true";

const ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

function id(field: string, value: string): string {
  if (!ID.test(value)) {
    throw invalidArgument(
      `${field} must be 1 to 64 lowercase letters, digits or inner hyphens, got "${value.slice(0, 80)}"`,
    );
  }
  return value;
}

/**
 * The first 12 characters of a build key, as used in names: an image content id
 * ("sha256:3f4a…"), a build id (a UUID, hyphens dropped) or any other lowercase alphanumeric key.
 */
export function shortBuildKey(buildKey: string): string {
  const key = buildKey
    .toLowerCase()
    .replace(/^sha256:/, "")
    .replaceAll("-", "");
  if (!/^[a-z0-9]+$/.test(key)) {
    throw invalidArgument(
      `build key must be letters and digits (or an image id "sha256:…"), got "${buildKey.slice(0, 80)}"`,
    );
  }
  return key.slice(0, 12);
}

/**
 * `obiente-<deploymentId>-r<replica>-<buildKey12>`: one name per replica of one build of one
 * deployment, so a redeploy (new build) gets a new name and runs beside the old one.
 */
export function containerName(deploymentId: string, replica: number, buildKey: string): string {
  if (!Number.isSafeInteger(replica) || replica < 0) {
    throw invalidArgument(`replica must be a non-negative integer, got ${replica}`);
  }
  return `obiente-${id("deployment id", deploymentId)}-r${replica}-${shortBuildKey(buildKey)}`;
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
  generation: number;
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
    [LABELS.generation]: String(values.generation),
  };
}
