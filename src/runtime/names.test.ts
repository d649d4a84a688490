import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../domain/errors.js";
import {
  containerName,
  deploymentLabels,
  LABELS,
  projectNetworkName,
  shortBuildKey,
} from "./names.js";

const deploymentId = "3b0d6c1e-8f7a-4b2c-9d1e-0a1b2c3d4e5f";

test("container names are deterministic and carry deployment, replica and build", () => {
  const image = "sha256:3f4a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a";
  const name = containerName(deploymentId, 2, image);
  assert.equal(name, `obiente-${deploymentId}-r2-3f4a9b8c7d6e`);
  assert.equal(containerName(deploymentId, 2, image), name, "same input, same name");
  assert.notEqual(containerName(deploymentId, 3, image), name);
  assert.match(name, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "a valid Docker container name");
});

test("build keys: image ids lose their prefix, UUIDs their hyphens, all are cut to 12", () => {
  assert.deepEqual(
    [
      shortBuildKey("sha256:ABCDEF0123456789"),
      shortBuildKey("9f8e7d6c-5b4a-4321-8fed-cba987654321"),
      shortBuildKey("abc"),
    ],
    ["abcdef012345", "9f8e7d6c5b4a", "abc"],
  );
});

test("bad parts of a name are refused with invalid_argument", () => {
  const cases: Array<() => unknown> = [
    () => containerName("Has Upper", 0, "abc"),
    () => containerName("a/b", 0, "abc"),
    () => containerName("", 0, "abc"),
    () => containerName(deploymentId, -1, "abc"),
    () => containerName(deploymentId, 1.5, "abc"),
    () => containerName(deploymentId, 0, "sha256:"),
    () => containerName(deploymentId, 0, "a b"),
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
  assert.deepEqual(
    deploymentLabels({
      deploymentId,
      projectId: "p",
      organizationId: "o",
      replica: 1,
      buildId: "b",
      generation: 7,
    }),
    {
      "cloud.obiente.deployment": "true",
      "cloud.obiente.deployment_id": deploymentId,
      "cloud.obiente.project_id": "p",
      "cloud.obiente.organization_id": "o",
      "cloud.obiente.replica": "1",
      "cloud.obiente.build_id": "b",
      "cloud.obiente.generation": "7",
    },
  );
  assert.equal(LABELS.deployment, "cloud.obiente.deployment");
});
