/**
 * GitLab's deliveries: `X-Gitlab-Event` names the hook (`Push Hook`, `Merge Request Hook`,
 * `Tag Push Hook`…). The payload names the repository `project`, with `path_with_namespace` and
 * its URLs; a push lists up to twenty `commits`; a merge request's fields are in
 * `object_attributes`.
 */
import {
  branchOfRef,
  commitOf,
  type ForgeParser,
  ignored,
  isZeroSha,
  notABranch,
  urlList,
} from "./delivery.js";
import type { EventBase, ForgeEvent, RepositoryRef } from "./forge.js";
import type { Payload } from "./payload.js";

export const GITLAB: ForgeParser = {
  title: "GitLab",
  eventHeaders: ["X-Gitlab-Event"],
  // Idempotency-Key (GitLab 17.4 and later) stays the same when GitLab sends a delivery again,
  // which is what dropping a repeated one needs; X-Gitlab-Event-UUID names the event.
  deliveryHeaders: ["Idempotency-Key", "X-Gitlab-Event-UUID"],
  parse(event, payload, base) {
    switch (event) {
      case "Push Hook":
      case "Tag Push Hook":
        return push(payload, base);
      case "Merge Request Hook":
        return mergeRequest(payload, base);
      default:
        return ignored(base, `GitLab "${event}" events are not acted on`);
    }
  },
};

function push(payload: Payload, base: EventBase): ForgeEvent {
  const ref = payload.string("ref");
  const branch = branchOfRef(ref);
  if (branch === undefined) return notABranch(base, ref);
  // For a branch, `checkout_sha` is `after` (it differs for annotated tags only).
  const after = payload.commitSha("after");
  const deleted = isZeroSha(after);
  const head = deleted
    ? undefined
    : payload.objects("commits").find((c) => c.optionalString("id")?.toLowerCase() === after);
  return {
    kind: "push",
    ...base,
    repository: projectOf(payload.object("project")),
    branch,
    after,
    deleted,
    ...(head ? { headCommit: commitOf(head) } : {}),
  };
}

function mergeRequest(payload: Payload, base: EventBase): ForgeEvent {
  const attributes = payload.object("object_attributes");
  const action = attributes.string("action");
  let kind: "opened" | "updated" | "closed";
  switch (action) {
    case "open":
    case "reopen":
      kind = "opened";
      break;
    case "update":
      // An update carries `oldrev` only when the source branch got new commits; a new title,
      // label or assignee is an update too, and changes no code.
      if (attributes.optionalString("oldrev") === undefined) {
        return ignored(base, "merge request updated without new commits");
      }
      kind = "updated";
      break;
    case "close":
    case "merge":
      kind = "closed";
      break;
    default:
      return ignored(base, `merge request action "${action}" changes no code`);
  }
  const sourceId = attributes.optionalId("source_project_id");
  const targetId = attributes.optionalId("target_project_id");
  const source = attributes.optionalObject("source");
  const fork =
    source !== undefined &&
    sourceId !== undefined &&
    targetId !== undefined &&
    sourceId !== targetId;
  return {
    kind: "pull_request",
    ...base,
    repository: projectOf(payload.object("project")),
    number: attributes.positiveInteger("iid"),
    action: kind,
    branch: attributes.nonEmptyString("source_branch"),
    baseBranch: attributes.nonEmptyString("target_branch"),
    sha: attributes.commitSha("last_commit.id"),
    title: attributes.string("title"),
    ...(fork ? { headRepository: projectOf(source) } : {}),
  };
}

function projectOf(project: Payload): RepositoryRef {
  return {
    fullName: project.nonEmptyString("path_with_namespace"),
    urls: urlList(
      project.optionalString("git_http_url"),
      project.optionalString("git_ssh_url"),
      project.optionalString("web_url"),
      // The older names of the same URLs, still sent.
      project.optionalString("http_url"),
      project.optionalString("ssh_url"),
    ),
  };
}
