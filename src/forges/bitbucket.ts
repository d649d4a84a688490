/**
 * Bitbucket Cloud's deliveries: `X-Event-Key` names the event (`repo:push`,
 * `pullrequest:created`…), `X-Request-UUID` the delivery. (Bitbucket Data Center sends other
 * payloads, under `repo:refs_changed` and `pr:*`: those are ignored.)
 *
 * A push lists its `push.changes`, one per ref, each with the ref's `old` and `new` state (`new`
 * null: the ref was deleted). The repository gives its web page only; the clone URLs are
 * Bitbucket Cloud's fixed forms of its full name.
 */
import { type ForgeParser, ignored, sameRepositoryObject, urlList, ZERO_SHA } from "./delivery.js";
import type { CommitInfo, EventBase, ForgeEvent, RepositoryRef } from "./forge.js";
import type { Payload } from "./payload.js";

const PULL_REQUEST_ACTIONS: ReadonlyMap<string, "opened" | "updated" | "closed"> = new Map([
  ["pullrequest:created", "opened"],
  // Sent for new commits and for a new title or description alike: the payload does not tell
  // them apart, so a preview may be asked again for a sha it already runs.
  ["pullrequest:updated", "updated"],
  ["pullrequest:fulfilled", "closed"],
  ["pullrequest:rejected", "closed"],
]);

export const BITBUCKET: ForgeParser = {
  title: "Bitbucket",
  eventHeaders: ["X-Event-Key"],
  // Not X-Hook-UUID: that names the webhook, the same on every one of its deliveries.
  deliveryHeaders: ["X-Request-UUID"],
  parse(event, payload, base) {
    if (event === "repo:push") return push(payload, base);
    const action = PULL_REQUEST_ACTIONS.get(event);
    if (action !== undefined) return pullRequest(action, payload, base);
    return ignored(base, `Bitbucket "${event}" events are not acted on`);
  },
};

/**
 * The first change of a branch in the push; a push of several branches at once (`git push --all`)
 * reports the others in the same delivery, and they are not returned. Tags are skipped.
 */
function push(payload: Payload, base: EventBase): ForgeEvent {
  const repository = repositoryOf(payload.object("repository"));
  for (const change of payload.requiredObjects("push.changes")) {
    const next = change.optionalObject("new");
    const previous = change.optionalObject("old");
    if (next?.optionalString("type") === "branch") {
      const target = next.object("target");
      return {
        kind: "push",
        ...base,
        repository,
        branch: next.nonEmptyString("name"),
        after: target.commitSha("hash"),
        deleted: false,
        headCommit: commitOf(target),
      };
    }
    if (next === undefined && previous?.optionalString("type") === "branch") {
      return {
        kind: "push",
        ...base,
        repository,
        branch: previous.nonEmptyString("name"),
        after: ZERO_SHA,
        deleted: true,
      };
    }
  }
  return ignored(base, "a push that changes no branch (tags only)");
}

function pullRequest(
  action: "opened" | "updated" | "closed",
  payload: Payload,
  base: EventBase,
): ForgeEvent {
  const pr = payload.object("pullrequest");
  const repository = payload.object("repository");
  const headRepo = pr.optionalObject("source.repository");
  const fork = headRepo !== undefined && !sameRepositoryObject(headRepo, repository, "uuid");
  return {
    kind: "pull_request",
    ...base,
    repository: repositoryOf(repository),
    number: pr.positiveInteger("id"),
    action,
    branch: pr.nonEmptyString("source.branch.name"),
    baseBranch: pr.nonEmptyString("destination.branch.name"),
    // Bitbucket gives the head commit abbreviated here (12 hex), unlike in a push.
    sha: pr.someCommitSha("source.commit.hash"),
    title: pr.string("title"),
    ...(fork ? { headRepository: repositoryOf(headRepo) } : {}),
  };
}

function repositoryOf(repo: Payload): RepositoryRef {
  const fullName = repo.nonEmptyString("full_name");
  return {
    fullName,
    urls: urlList(
      `https://bitbucket.org/${fullName}.git`,
      `git@bitbucket.org:${fullName}.git`,
      repo.optionalString("links.html.href"),
    ),
  };
}

/** A commit as Bitbucket describes one: `hash`, `message`, `date`, `author.raw` (`Name <email>`). */
function commitOf(commit: Payload): CommitInfo {
  const raw = commit.optionalString("author.raw") ?? "";
  const parts = /^(.*?)\s*<([^<>]*)>\s*$/.exec(raw);
  const timestamp = commit.optionalDate("date");
  return {
    sha: commit.commitSha("hash"),
    message: commit.optionalString("message") ?? "",
    authorName:
      (parts ? parts[1] : raw.trim()) || (commit.optionalString("author.user.display_name") ?? ""),
    authorEmail: parts?.[2]?.trim() ?? "",
    ...(timestamp ? { timestamp } : {}),
  };
}
