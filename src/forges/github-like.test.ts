import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bodyOf,
  giteaPullRequest,
  giteaPush,
  githubPing,
  githubPullRequest,
  githubPush,
  SHA_HEAD,
  SHA_PR_HEAD,
  ZERO,
} from "./fixtures.js";
import type { Headers } from "./forge.js";
import { parseDelivery } from "./parse.js";

const DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const github = (event: string, payload: unknown, headers: Headers = {}) =>
  parseDelivery(
    "github",
    { "x-github-event": event, "x-github-delivery": DELIVERY, ...headers },
    bodyOf(payload),
  );
const gitea = (event: string, payload: unknown, headers: Headers = {}) =>
  parseDelivery(
    "gitea",
    { "x-gitea-event": event, "x-gitea-delivery": DELIVERY, ...headers },
    bodyOf(payload),
  );

const GITHUB_URLS = [
  "https://github.com/acme/shop.git",
  "git@github.com:acme/shop.git",
  "git://github.com/acme/shop.git",
  "https://github.com/acme/shop",
];

describe("GitHub deliveries", () => {
  it("a push to a branch: the branch, the sha, the head commit and every URL", () => {
    assert.deepEqual(github("push", githubPush()), {
      kind: "push",
      forge: "github",
      deliveryId: DELIVERY,
      repository: { fullName: "acme/shop", urls: GITHUB_URLS },
      branch: "feature/login",
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

  it("a deleted branch: deleted, the zero sha, no head commit", () => {
    const payload = { ...githubPush(), after: ZERO, deleted: true, head_commit: null, commits: [] };
    const event = github("push", payload);
    assert.equal(event.kind, "push");
    if (event.kind !== "push") return;
    assert.equal(event.deleted, true);
    assert.equal(event.after, ZERO);
    assert.equal(event.headCommit, undefined);
  });

  it("a push to a tag, or to another ref, is ignored", () => {
    const tag = github("push", { ...githubPush(), ref: "refs/tags/v1.2.0" });
    assert.equal(tag.kind, "ignored");
    assert.match(tag.kind === "ignored" ? tag.reason : "", /tag v1\.2\.0/);
    assert.equal(github("push", { ...githubPush(), ref: "refs/notes/commits" }).kind, "ignored");
  });

  it("a sha-256 repository's 64-hex shas are read; upper case is lowered", () => {
    const sha256 = "ab".repeat(32);
    const payload = { ...githubPush(), after: sha256.toUpperCase(), head_commit: null };
    const event = github("push", payload);
    assert.equal(event.kind === "push" && event.after, sha256);
  });

  it("ping", () => {
    assert.deepEqual(github("ping", githubPing()), {
      kind: "ping",
      forge: "github",
      deliveryId: DELIVERY,
    });
  });

  it("pull request opened, reopened, synchronized, closed", () => {
    const cases = [
      ["opened", "opened"],
      ["reopened", "opened"],
      ["synchronize", "updated"],
      ["closed", "closed"],
    ] as const;
    for (const [action, expected] of cases) {
      const event = github("pull_request", githubPullRequest(action));
      assert.deepEqual(
        event,
        {
          kind: "pull_request",
          forge: "github",
          deliveryId: DELIVERY,
          repository: { fullName: "acme/shop", urls: GITHUB_URLS },
          number: 42,
          action: expected,
          branch: "feature/login",
          baseBranch: "main",
          sha: SHA_PR_HEAD,
          title: "Login form",
        },
        action,
      );
    }
  });

  it("pull request actions that change no code are ignored", () => {
    for (const action of ["labeled", "edited", "assigned", "review_requested", "constructor"]) {
      const event = github("pull_request", githubPullRequest(action));
      assert.equal(event.kind, "ignored", action);
      assert.match(event.kind === "ignored" ? event.reason : "", new RegExp(`"${action}"`));
    }
  });

  it("a pull request from a fork names the fork, with its own URLs", () => {
    const event = github("pull_request", githubPullRequest("opened", true));
    assert.equal(event.kind, "pull_request");
    if (event.kind !== "pull_request") return;
    assert.equal(event.repository.fullName, "acme/shop");
    assert.deepEqual(event.headRepository, {
      fullName: "grace/shop",
      urls: [
        "https://github.com/grace/shop.git",
        "git@github.com:grace/shop.git",
        "git://github.com/grace/shop.git",
        "https://github.com/grace/shop",
      ],
    });
  });

  it("a pull request whose fork was deleted has no head repository", () => {
    const payload = githubPullRequest("closed", true);
    payload.pull_request.head.repo = null;
    const event = github("pull_request", payload);
    assert.equal(event.kind === "pull_request" && event.headRepository, undefined);
  });

  it("other events are ignored, naming the event", () => {
    const event = github("issues", { action: "opened", issue: { number: 1 } });
    assert.deepEqual(event, {
      kind: "ignored",
      forge: "github",
      deliveryId: DELIVERY,
      reason: 'GitHub "issues" events are not acted on',
    });
  });

  it("a push without the fields it needs is refused, naming the field", () => {
    const { repository: _, ...noRepository } = githubPush();
    assert.throws(() => github("push", noRepository), /no usable "repository"/);
    assert.throws(() => github("push", { ...githubPush(), after: "main" }), /"after".*commit sha/);
    const payload = githubPullRequest("opened");
    payload.pull_request.head.sha = "";
    assert.throws(() => github("pull_request", payload), /"pull_request\.head\.sha"/);
  });
});

describe("Gitea and Forgejo deliveries", () => {
  const URLS = [
    "https://git.example.org/acme/shop.git",
    "ssh://git@git.example.org:2222/acme/shop.git",
    "https://git.example.org/acme/shop",
  ];

  it("a push: the branch, the sha, the head commit", () => {
    assert.deepEqual(gitea("push", giteaPush()), {
      kind: "push",
      forge: "gitea",
      deliveryId: DELIVERY,
      repository: { fullName: "acme/shop", urls: URLS },
      branch: "main",
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

  it("Gitea sends no `deleted`: the zero sha means the branch was deleted", () => {
    const payload = { ...giteaPush(), after: ZERO, head_commit: null, commits: [] };
    const event = gitea("push", payload);
    assert.equal(event.kind === "push" && event.deleted, true);
  });

  it("Forgejo's own headers are read as well", () => {
    const event = parseDelivery(
      "gitea",
      { "x-forgejo-event": "push", "x-forgejo-delivery": "fj-1" },
      bodyOf(giteaPush()),
    );
    assert.equal(event.kind, "push");
    assert.equal(event.deliveryId, "fj-1");
  });

  it("pull request actions: synchronized is new commits; label and assignee changes are ignored", () => {
    const cases = [
      ["opened", "opened"],
      ["reopened", "opened"],
      ["synchronized", "updated"],
      ["closed", "closed"],
    ] as const;
    for (const [action, expected] of cases) {
      const event = gitea("pull_request", giteaPullRequest(action));
      assert.equal(event.kind === "pull_request" && event.action, expected, action);
    }
    for (const action of ["label_updated", "assigned", "edited", "synchronize"]) {
      assert.equal(gitea("pull_request", giteaPullRequest(action)).kind, "ignored", action);
    }
  });

  it("a pull request: head branch and sha, base branch, the fork when there is one", () => {
    const same = gitea("pull_request", giteaPullRequest("opened"));
    assert.equal(same.kind, "pull_request");
    if (same.kind !== "pull_request") return;
    assert.equal(same.number, 7);
    assert.equal(same.branch, "feature/login");
    assert.equal(same.baseBranch, "main");
    assert.equal(same.sha, SHA_PR_HEAD);
    assert.equal(same.headRepository, undefined);
    const fork = gitea("pull_request", giteaPullRequest("opened", true));
    assert.equal(fork.kind === "pull_request" && fork.headRepository?.fullName, "grace/shop");
  });
});
