import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DomainError } from "../domain/errors.js";
import { previewLabel } from "./preview-label.js";

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const hash = (s: string, n = 8) => createHash("sha256").update(s, "utf8").digest("hex").slice(0, n);

/** A branch-like name: the characters branches are made of, case and separators included. */
const branchName = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom(..."aAbB01-_/.é") }),
  fc.string({ unit: fc.constantFrom(..."ab-/"), maxLength: 6 }),
  fc.stringMatching(/^[a-z0-9-]{50,120}$/),
  fc.string({ unit: "binary", maxLength: 80 }),
);
const deploymentName = fc.oneof(
  fc.constantFrom("web", "api", "a", "checkout-service-worker-eu-west"),
  fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
);

/** The one `--` is the separator; no other. */
const separators = (label: string) => label.split("--").length - 1;

describe("previewLabel", () => {
  it("keeps a branch that is already a label as it is", () => {
    assert.equal(previewLabel("main", "web"), "main--web");
    assert.equal(previewLabel("feature-login", "web"), "feature-login--web");
    assert.equal(previewLabel("123", "api"), "123--api");
  });

  it("slugs a branch that is not, and tells it apart with the raw branch's hash", () => {
    assert.equal(
      previewLabel("feature/login", "web"),
      `feature-login-${hash("feature/login")}--web`,
    );
    assert.equal(
      previewLabel("Feature-Login", "web"),
      `feature-login-${hash("Feature-Login")}--web`,
    );
    assert.equal(previewLabel("fix--double", "web"), `fix-double-${hash("fix--double")}--web`);
    assert.equal(previewLabel("-lead", "web"), `lead-${hash("-lead")}--web`);
    assert.equal(previewLabel("日本語", "web"), `${hash("日本語")}--web`);
    assert.equal(previewLabel("", "web"), `${hash("")}--web`);
  });

  it("hashes a branch that ends like a hash, so it cannot pose as another branch's label", () => {
    const taken = previewLabel("Foo", "web");
    const impostor = `foo-${hash("Foo")}`;
    assert.equal(taken, `${impostor}--web`);
    assert.notEqual(previewLabel(impostor, "web"), taken);
    assert.equal(previewLabel("deadbeef", "web"), `deadbeef-${hash("deadbeef")}--web`);
  });

  it("never puts the separator third and fourth, which DNS keeps for xn-- and the like", () => {
    assert.equal(previewLabel("ab", "web"), `ab-${hash("ab")}--web`);
    assert.equal(previewLabel("xn", "web"), `xn-${hash("xn")}--web`);
    assert.equal(previewLabel("a", "web"), "a--web");
    assert.equal(previewLabel("abc", "web"), "abc--web");
  });

  it("cuts a long branch, keeping 63 characters in all", () => {
    const branch = `feature-${"x".repeat(80)}`;
    const label = previewLabel(branch, "web");
    assert.equal(label.length, 63);
    assert.ok(label.endsWith(`-${hash(branch)}--web`));
    assert.ok(label.startsWith("feature-xxx"));
  });

  it("cuts a long deployment name too, and leaves the branch room", () => {
    const deployment = "checkout-service-worker-for-the-eu-west-region";
    const label = previewLabel("main", deployment);
    assert.equal(label, `main--checkout-service-worker-${hash(deployment, 6)}`);
    const long = previewLabel("x".repeat(100), "y".repeat(63));
    assert.equal(long.length, 63);
    assert.equal(long.split("--")[1]?.length, 30);
  });

  it("refuses a deployment name with nothing to name a preview with", () => {
    assert.throws(
      () => previewLabel("main", "--"),
      (e: unknown) => e instanceof DomainError && e.kind === "invalid_argument",
    );
  });

  it("is always one DNS label of at most 63 characters, with one `--`", () => {
    fc.assert(
      fc.property(branchName, deploymentName, (branch, deployment) => {
        const label = previewLabel(branch, deployment);
        assert.ok(label.length <= 63, label);
        assert.match(label, LABEL);
        assert.equal(separators(label), 1, label);
        assert.notEqual(label.slice(2, 4), "--", label);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives distinct branches distinct labels, for one deployment", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(branchName, { minLength: 2, maxLength: 40 }),
        deploymentName,
        (branches, deployment) => {
          const labels = new Set(branches.map((b) => previewLabel(b, deployment)));
          assert.equal(labels.size, branches.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("tells apart branches whose slugs agree (case, separators, ends)", () => {
    const base = fc.stringMatching(/^[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}$/);
    fc.assert(
      fc.property(base, deploymentName, (name, deployment) => {
        const variants = new Set([
          name,
          name.toUpperCase(),
          name.replace(/-/g, "/"),
          name.replace(/-/g, "_"),
          name.replace(/-/g, "--"),
          `${name}-`,
          `-${name}`,
          `${name}/`,
        ]);
        const labels = new Set([...variants].map((b) => previewLabel(b, deployment)));
        assert.equal(labels.size, variants.size);
      }),
    );
  });

  it("is the same label for the same branch every time", () => {
    fc.assert(
      fc.property(branchName, deploymentName, (branch, deployment) => {
        assert.equal(previewLabel(branch, deployment), previewLabel(branch, deployment));
      }),
    );
  });
});
