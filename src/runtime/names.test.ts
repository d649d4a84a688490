import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../domain/errors.js";
import { LABELS } from "../domain/labels.js";
import { containerName, deploymentLabels, projectNetworkName } from "./names.js";

const deploymentId = "3b0d6c1e-8f7a-4b2c-9d1e-0a1b2c3d4e5f";
const buildId = "9f8e7d6c-5b4a-4321-8fed-cba987654321";

test("container names are deterministic and carry deployment and replica", () => {
  const name = containerName(deploymentId, 2, buildId, 0);
  assert.match(name, new RegExp(`^obiente-${deploymentId}-r2-[0-9a-f]{12}$`));
  assert.equal(containerName(deploymentId, 2, buildId, 0), name, "same input, same name");
  assert.notEqual(containerName(deploymentId, 3, buildId, 0), name);
  assert.notEqual(containerName(deploymentId, 2, buildId, 1), name, "a restart renames");
  assert.notEqual(containerName(deploymentId, 2, `${buildId}x`, 0), name, "a build renames");
  assert.match(name, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "a valid Docker container name");
});

test("bad parts of a name are refused with invalid_argument", () => {
  const cases: Array<() => unknown> = [
    () => containerName("Has Upper", 0, buildId, 0),
    () => containerName("a/b", 0, buildId, 0),
    () => containerName("", 0, buildId, 0),
    () => containerName(deploymentId, -1, buildId, 0),
    () => containerName(deploymentId, 1.5, buildId, 0),
    () => projectNetworkName("-leading"),
    () => projectNetworkName("x".repeat(65)),
  ];
  for (const make of cases) {
    assert.throws(make, (error: unknown) => {
      return error instanceof DomainError && error.kind === "invalid_argument";
    });
  }
});

test("project networks are named by project", () => {
  assert.equal(projectNetworkName("p-1"), "obiente-net-p-1");
});

test("deployment labels carry every key, as strings", () => {
  const values = { deploymentId, projectId: "p", organizationId: "o", replica: 1, buildId: "b" };
  const labels = {
    "cloud.obiente.deployment": "true",
    "cloud.obiente.deployment_id": deploymentId,
    "cloud.obiente.project_id": "p",
    "cloud.obiente.organization_id": "o",
    "cloud.obiente.replica": "1",
    "cloud.obiente.build_id": "b",
  };
  assert.deepEqual(deploymentLabels(values), labels);
  assert.deepEqual(deploymentLabels({ ...values, installationId: "i" }), {
    ...labels,
    "cloud.obiente.installation": "i",
  });
  assert.equal(LABELS.deployment, "cloud.obiente.deployment");
});
