import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bodyOf,
  gitlabMergeRequest,
  gitlabPush,
  gitlabTagPush,
  SHA_BEFORE,
  SHA_HEAD,
  SHA_PR_HEAD,
  ZERO,
} from "./fixtures.js";
import type { Headers } from "./forge.js";
import { parseDelivery } from "./parse.js";

const EVENT_UUID = "8b1f4c52-2f4e-4b11-9e0a-3b9c5b0f7d21";
const gitlab = (event: string, payload: unknown, headers: Headers = {}) =>
  parseDelivery(
    "gitlab",
    { "x-gitlab-event": event, "x-gitlab-event-uuid": EVENT_UUID, ...headers },
    bodyOf(payload),
  );

const URLS = [
  "https://gitlab.example.com/acme/platform/shop.git",
  "git@gitlab.example.com:acme/platform/shop.git",
  "https://gitlab.example.com/acme/platform/shop",
];

describe("GitLab deliveries", () => {
  it("a push: the project's full path and URLs, the branch, the head commit among `commits`", () => {
    assert.deepEqual(gitlab("Push Hook", gitlabPush()), {
      kind: "push",
      forge: "gitlab",
      deliveryId: EVENT_UUID,
      repository: { fullName: "acme/platform/shop", urls: URLS },
      branch: "main",
      after: SHA_HEAD,
      deleted: false,
      headCommit: {
        sha: SHA_HEAD,
        message: "Add the login form\n\nWith a remember-me box.",
        authorName: "Ada Lovelace",
        authorEmail: "ada@example.com",
        timestamp: new Date("2025-05-20T12:03:11Z"),
      },
    });
  });

  it("the head commit is absent when `commits` does not list it (GitLab lists twenty at most)", () => {
    const payload = { ...gitlabPush(), commits: gitlabPush().commits.slice(0, 1) };
    const event = gitlab("Push Hook", payload);
    assert.equal(event.kind, "push");
    assert.equal(event.kind === "push" && event.headCommit, undefined);
    assert.equal(payload.commits[0]?.id, SHA_BEFORE);
  });

  it("a deleted branch: `after` is the zero sha", () => {
    const payload = { ...gitlabPush(), after: ZERO, checkout_sha: null, commits: [] };
    const event = gitlab("Push Hook", payload);
    assert.equal(event.kind === "push" && event.deleted, true);
    assert.equal(event.kind === "push" && event.headCommit, undefined);
  });

  it("a tag push is ignored", () => {
    const event = gitlab("Tag Push Hook", gitlabTagPush());
    assert.equal(event.kind, "ignored");
    assert.match(event.kind === "ignored" ? event.reason : "", /tag v1\.2\.0/);
  });

  it("Idempotency-Key, the same on a retry, is the delivery id when GitLab sends it", () => {
    const event = gitlab("Push Hook", gitlabPush(), { "idempotency-key": "retry-stable-key" });
    assert.equal(event.deliveryId, "retry-stable-key");
  });

  it("merge request actions: open, reopen, update with new commits, close, merge", () => {
    const cases = [
      ["open", undefined, "opened"],
      ["reopen", undefined, "opened"],
      ["update", SHA_BEFORE, "updated"],
      ["close", undefined, "closed"],
      ["merge", undefined, "closed"],
    ] as const;
    for (const [action, oldrev, expected] of cases) {
      const event = gitlab("Merge Request Hook", gitlabMergeRequest(action, { oldrev }));
      assert.deepEqual(
        event,
        {
          kind: "pull_request",
          forge: "gitlab",
          deliveryId: EVENT_UUID,
          repository: { fullName: "acme/platform/shop", urls: URLS },
          number: 12,
          action: expected,
          branch: "feature/login",
          baseBranch: "main",
          sha: SHA_PR_HEAD,
          title: "Draft: Login form",
        },
        action,
      );
    }
  });

  it("an update without `oldrev` (title, labels, assignees) changes no code: ignored", () => {
    const event = gitlab("Merge Request Hook", gitlabMergeRequest("update"));
    assert.equal(event.kind, "ignored");
    assert.match(event.kind === "ignored" ? event.reason : "", /without new commits/);
    for (const action of ["approved", "unapproved", "approval"]) {
      assert.equal(gitlab("Merge Request Hook", gitlabMergeRequest(action)).kind, "ignored");
    }
  });

  it("a merge request from a fork names the source project", () => {
    const event = gitlab("Merge Request Hook", gitlabMergeRequest("open", { fork: true }));
    assert.equal(event.kind, "pull_request");
    if (event.kind !== "pull_request") return;
    assert.equal(event.repository.fullName, "acme/platform/shop");
    assert.deepEqual(event.headRepository, {
      fullName: "grace/shop",
      urls: [
        "https://gitlab.example.com/grace/shop.git",
        "git@gitlab.example.com:grace/shop.git",
        "https://gitlab.example.com/grace/shop",
      ],
    });
  });

  it("other hooks are ignored; a merge request without its commit is refused", () => {
    assert.equal(gitlab("Issue Hook", { object_kind: "issue" }).kind, "ignored");
    const payload = gitlabMergeRequest("open") as { object_attributes: Record<string, unknown> };
    delete payload.object_attributes.last_commit;
    assert.throws(
      () => gitlab("Merge Request Hook", payload),
      /GitLab "Merge Request Hook" delivery has no usable "object_attributes\.last_commit\.id"/,
    );
  });
});
