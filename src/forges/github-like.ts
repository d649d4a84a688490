/**
 * GitHub's deliveries, and Gitea's and Forgejo's, which follow GitHub's payloads: `push` with
 * `ref`, `after`, `head_commit` and `repository`; `pull_request` with `action` and the pull
 * request's `head` and `base`. They differ in their headers and in the names of the actions.
 */
import {
  branchOfRef,
  commitOf,
  type ForgeParser,
  ignored,
  isZeroSha,
  notABranch,
  sameRepositoryObject,
  urlList,
} from "./delivery.js";
import type { EventBase, ForgeEvent, RepositoryRef } from "./forge.js";
import type { Payload } from "./payload.js";

type PullRequestAction = "opened" | "updated" | "closed";

interface Dialect {
  readonly title: string;
  readonly eventHeaders: readonly string[];
  readonly deliveryHeaders: readonly string[];
  /** The pull request actions that change what a preview runs; every other one is ignored. */
  readonly pullRequestActions: ReadonlyMap<string, PullRequestAction>;
}

/** `X-GitHub-Event`: push, pull_request, ping; `X-GitHub-Delivery`: the delivery's GUID. */
export const GITHUB: ForgeParser = gitHubLike({
  title: "GitHub",
  eventHeaders: ["X-GitHub-Event"],
  deliveryHeaders: ["X-GitHub-Delivery"],
  pullRequestActions: new Map([
    ["opened", "opened"],
    ["reopened", "opened"],
    ["synchronize", "updated"],
    ["closed", "closed"],
  ]),
});

/**
 * Gitea and Forgejo: `X-Gitea-Event` (Forgejo: `X-Forgejo-Event`), `X-Gitea-Delivery`
 * (`X-Forgejo-Delivery`). Gitea sends label, assignee, milestone and review-request changes as
 * `pull_request` events too, told apart by their action; new commits are `synchronized`.
 */
export const GITEA: ForgeParser = gitHubLike({
  title: "Gitea",
  eventHeaders: ["X-Gitea-Event", "X-Forgejo-Event"],
  deliveryHeaders: ["X-Gitea-Delivery", "X-Forgejo-Delivery"],
  pullRequestActions: new Map([
    ["opened", "opened"],
    ["reopened", "opened"],
    ["synchronized", "updated"],
    ["closed", "closed"],
  ]),
});

function gitHubLike(dialect: Dialect): ForgeParser {
  return {
    title: dialect.title,
    eventHeaders: dialect.eventHeaders,
    deliveryHeaders: dialect.deliveryHeaders,
    parse(event, payload, base) {
      switch (event) {
        case "ping":
          return { kind: "ping", ...base };
        case "push":
          return push(payload, base);
        case "pull_request":
          return pullRequest(dialect, payload, base);
        default:
          return ignored(base, `${dialect.title} "${event}" events are not acted on`);
      }
    },
  };
}

function push(payload: Payload, base: EventBase): ForgeEvent {
  const ref = payload.string("ref");
  const branch = branchOfRef(ref);
  if (branch === undefined) return notABranch(base, ref);
  const after = payload.commitSha("after");
  // GitHub says `deleted`; Gitea may not, and gives the zero sha as `after` instead.
  const deleted = payload.optionalBoolean("deleted") === true || isZeroSha(after);
  const head = deleted ? undefined : payload.optionalObject("head_commit");
  return {
    kind: "push",
    ...base,
    repository: repositoryOf(payload.object("repository")),
    branch,
    after,
    deleted,
    ...(head ? { headCommit: commitOf(head) } : {}),
  };
}

function pullRequest(dialect: Dialect, payload: Payload, base: EventBase): ForgeEvent {
  const action = payload.string("action");
  const kind = dialect.pullRequestActions.get(action);
  if (kind === undefined) {
    return ignored(base, `pull request action "${action}" changes no code`);
  }
  const pr = payload.object("pull_request");
  const head = pr.object("head");
  const target = pr.object("base");
  const repository = payload.object("repository");
  const headRepo = head.optionalObject("repo");
  const fork = headRepo !== undefined && !sameRepositoryObject(headRepo, repository, "id");
  return {
    kind: "pull_request",
    ...base,
    repository: repositoryOf(repository),
    number: pr.positiveInteger("number"),
    action: kind,
    branch: head.nonEmptyString("ref"),
    baseBranch: target.nonEmptyString("ref"),
    sha: head.commitSha("sha"),
    title: pr.string("title"),
    ...(fork ? { headRepository: repositoryOf(headRepo) } : {}),
  };
}

function repositoryOf(repo: Payload): RepositoryRef {
  return {
    fullName: repo.nonEmptyString("full_name"),
    urls: urlList(
      repo.optionalString("clone_url"),
      repo.optionalString("ssh_url"),
      repo.optionalString("git_url"),
      repo.optionalString("html_url"),
    ),
  };
}
