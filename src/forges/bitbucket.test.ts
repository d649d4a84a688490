import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bitbucketBranch,
  bitbucketChange,
  bitbucketPullRequest,
  bitbucketPush,
  bodyOf,
  SHA_BEFORE,
  SHA_HEAD,
  SHA_PR_HEAD,
  ZERO,
} from "./fixtures.js";
import type { Headers } from "./forge.js";
import { parseDelivery } from "./parse.js";

const REQUEST = "{e3a1a8f4-5a1c-4d6e-8c0b-2f7d9b3e1a55}";
const bitbucket = (event: string, payload: unknown, headers: Headers = {}) =>
  parseDelivery(
    "bitbucket",
    { "x-event-key": event, "x-request-uuid": REQUEST, ...headers },
    bodyOf(payload),
  );

const URLS = [
  "https://bitbucket.org/acme/shop.git",
  "git@bitbucket.org:acme/shop.git",
  "https://bitbucket.org/acme/shop",
];

describe("Bitbucket Cloud deliveries", () => {
  it("a push: the branch, the new target, its author from `raw`, clone URLs from the full name", () => {
    assert.deepEqual(bitbucket("repo:push", bitbucketPush()), {
      kind: "push",
      forge: "bitbucket",
      deliveryId: REQUEST,
      repository: { fullName: "acme/shop", urls: URLS },
      branch: "feature/login",
      after: SHA_HEAD,
      deleted: false,
      headCommit: {
        sha: SHA_HEAD,
        message: "Add the login form\n",
        authorName: "Ada Lovelace",
        authorEmail: "ada@example.com",
        timestamp: new Date("2025-05-20T12:03:11Z"),
      },
    });
  });

  it("a deleted branch: `new` is null", () => {
    const payload = bitbucketPush([bitbucketChange(bitbucketBranch("old-work", SHA_BEFORE), null)]);
    const event = bitbucket("repo:push", payload);
    assert.equal(event.kind, "push");
    if (event.kind !== "push") return;
    assert.equal(event.branch, "old-work");
    assert.equal(event.deleted, true);
    assert.equal(event.after, ZERO);
    assert.equal(event.headCommit, undefined);
  });

  it("several changes in one push: the first branch change, tags skipped", () => {
    const payload = bitbucketPush([
      bitbucketChange(null, { type: "tag", name: "v1.2.0" }),
      bitbucketChange(bitbucketBranch("main", SHA_BEFORE), bitbucketBranch("main", SHA_HEAD)),
      bitbucketChange(null, bitbucketBranch("other", SHA_BEFORE)),
    ]);
    const event = bitbucket("repo:push", payload);
    assert.equal(event.kind === "push" && event.branch, "main");
  });

  it("a push of tags only is ignored", () => {
    const payload = bitbucketPush([bitbucketChange(null, { type: "tag", name: "v1.2.0" })]);
    assert.equal(bitbucket("repo:push", payload).kind, "ignored");
  });

  it("an author without an address keeps the name", () => {
    const payload = bitbucketPush();
    const target = payload.push.changes[0]?.new as ReturnType<typeof bitbucketBranch>;
    target.target.author.raw = "build-bot";
    const event = bitbucket("repo:push", payload);
    assert.equal(event.kind === "push" && event.headCommit?.authorName, "build-bot");
    assert.equal(event.kind === "push" && event.headCommit?.authorEmail, "");
  });

  it("pull request created, updated, fulfilled (merged), rejected (declined)", () => {
    const cases = [
      ["pullrequest:created", "opened"],
      ["pullrequest:updated", "updated"],
      ["pullrequest:fulfilled", "closed"],
      ["pullrequest:rejected", "closed"],
    ] as const;
    for (const [key, expected] of cases) {
      assert.deepEqual(
        bitbucket(key, bitbucketPullRequest()),
        {
          kind: "pull_request",
          forge: "bitbucket",
          deliveryId: REQUEST,
          repository: { fullName: "acme/shop", urls: URLS },
          number: 5,
          action: expected,
          branch: "feature/login",
          baseBranch: "main",
          // Bitbucket abbreviates the head commit in pull request deliveries.
          sha: SHA_PR_HEAD.slice(0, 12),
          title: "Login form",
        },
        key,
      );
    }
  });

  it("a pull request from a fork names the fork", () => {
    const event = bitbucket("pullrequest:created", bitbucketPullRequest(true));
    assert.equal(event.kind === "pull_request" && event.headRepository?.fullName, "grace/shop");
    assert.deepEqual(event.kind === "pull_request" && event.headRepository?.urls, [
      "https://bitbucket.org/grace/shop.git",
      "git@bitbucket.org:grace/shop.git",
      "https://bitbucket.org/grace/shop",
    ]);
  });

  it("approvals, comments and Data Center's events are ignored", () => {
    for (const key of [
      "pullrequest:approved",
      "pullrequest:comment_created",
      "repo:refs_changed",
    ]) {
      assert.equal(bitbucket(key, bitbucketPullRequest()).kind, "ignored", key);
    }
  });

  it("the webhook's X-Hook-UUID is not a delivery id: without X-Request-UUID, the body's hash is", () => {
    const event = parseDelivery(
      "bitbucket",
      { "x-event-key": "repo:push", "x-hook-uuid": "{webhook}" },
      bodyOf(bitbucketPush()),
    );
    assert.match(event.deliveryId, /^[0-9a-f]{64}$/);
  });

  it("a push without `push.changes` is refused", () => {
    assert.throws(
      () => bitbucket("repo:push", { ...bitbucketPush(), push: {} }),
      /no usable "push\.changes" \(expected an array\)/,
    );
  });
});
