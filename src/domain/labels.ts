/**
 * The labels the platform puts on what it makes in an engine (containers, services, images,
 * networks): the one table of their keys. The reconciler finds the platform's containers by
 * `deployment=true`, and an installation's own by `installation`; the builder refuses images
 * that carry any `cloud.obiente.` label of their own.
 */
export const LABELS = {
  /** "true" on every container the platform runs for a deployment. */
  deployment: "cloud.obiente.deployment",
  deploymentId: "cloud.obiente.deployment_id",
  projectId: "cloud.obiente.project_id",
  organizationId: "cloud.obiente.organization_id",
  replica: "cloud.obiente.replica",
  buildId: "cloud.obiente.build_id",
  /** The installation that made it, so that installations sharing an engine leave each other alone. */
  installation: "cloud.obiente.installation",
  /** On networks: what the network is for ("build", a tenant's bridge). */
  network: "cloud.obiente.network",
  /** On the platform's own containers that serve no deployment: what it is ("network-isolation"). */
  component: "cloud.obiente.component",
  /** A hash of what such a container was made from: another value means it is made again. */
  spec: "cloud.obiente.spec",
} as const;

/** The prefix of every label of the platform's own. */
export const LABEL_PREFIX = "cloud.obiente.";

/** The value of `LABELS.deployment` on platform containers. */
export const DEPLOYMENT_LABEL_VALUE = "true";

/** Whether two label sets are the same, keys and values. */
export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}
