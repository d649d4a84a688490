import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { DomainError } from "../domain/errors.js";
import { bitbucketPush, bodyOf, giteaPush, githubPush, gitlabPush } from "./fixtures.js";
import { FORGE_NAMES, type ForgeName, type Headers, isForgeName } from "./forge.js";
import { parseDelivery } from "./parse.js";

/** Headers naming a push, and each forge's push, without a delivery id. */
const pushes: Record<ForgeName, { headers: Headers; payload: unknown }> = {
  github: { headers: { "x-github-event": "push" }, payload: githubPush() },
  gitea: { headers: { "x-gitea-event": "push" }, payload: giteaPush() },
  gitlab: { headers: { "x-gitlab-event": "Push Hook" }, payload: gitlabPush() },
  bitbucket: { headers: { "x-event-key": "repo:push" }, payload: bitbucketPush() },
};

const invalidArgument = (pattern: RegExp) => (error: unknown) =>
  error instanceof DomainError && error.kind === "invalid_argument" && pattern.test(error.message);

describe("parseDelivery, for every forge", () => {
  for (const forge of FORGE_NAMES) {
    const { headers, payload } = pushes[forge];

    it(`${forge}: a body that is not JSON is an invalid argument that says so`, () => {
      for (const body of ["{", "", "ref=refs/heads/main", '{"ref": "refs/heads/main",}']) {
        assert.throws(
          () => parseDelivery(forge, headers, Buffer.from(body)),
          invalidArgument(/delivery is not valid JSON/),
          body,
        );
      }
    });

    it(`${forge}: JSON that is not an object is refused`, () => {
      for (const body of ["[]", "null", '"push"', "42"]) {
        assert.throws(
          () => parseDelivery(forge, headers, Buffer.from(body)),
          invalidArgument(/is not a JSON object/),
          body,
        );
      }
    });

    it(`${forge}: a delivery without its event header is refused, naming the header`, () => {
      assert.throws(
        () => parseDelivery(forge, {}, bodyOf(payload)),
        invalidArgument(/has no X-[\w-]+ (or X-[\w-]+ )?header/),
      );
    });

    it(`${forge}: without a delivery id header, the id is the body's SHA-256`, () => {
      const body = bodyOf(payload);
      const event = parseDelivery(forge, headers, body);
      assert.equal(event.kind, "push");
      assert.equal(event.forge, forge);
      assert.equal(event.deliveryId, createHash("sha256").update(body).digest("hex"));
    });
  }

  it("a missing field is an invalid argument naming the field and the delivery", () => {
    const { ref: _, ...noRef } = githubPush();
    assert.throws(
      () => parseDelivery("github", { "x-github-event": "push" }, bodyOf(noRef)),
      invalidArgument(/^the GitHub "push" delivery has no usable "ref" \(expected a string\)/),
    );
  });

  it("reads form-encoded deliveries (GitHub's and Gitea's other content type)", () => {
    const form = new URLSearchParams({ payload: JSON.stringify(githubPush()) }).toString();
    const headers = {
      "x-github-event": "push",
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    };
    const event = parseDelivery("github", headers, Buffer.from(form));
    assert.equal(event.kind === "push" && event.branch, "feature/login");
    assert.throws(
      () => parseDelivery("github", headers, Buffer.from("other=1")),
      invalidArgument(/form-encoded but has no "payload" field/),
    );
  });

  it("reads headers whatever the case of their names, and the first of a repeated one", () => {
    const event = parseDelivery(
      "github",
      { "X-GitHub-Event": "push", "X-GitHub-Delivery": ["first", "second"] },
      bodyOf(githubPush()),
    );
    assert.equal(event.kind, "push");
    assert.equal(event.deliveryId, "first");
  });

  it("isForgeName knows the four forges and nothing else", () => {
    for (const name of FORGE_NAMES) assert.equal(isForgeName(name), true);
    for (const name of ["GitHub", "forgejo", "", "toString", "__proto__"]) {
      assert.equal(isForgeName(name), false, name);
    }
  });
});
