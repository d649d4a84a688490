/**
 * What every forge's parser shares: the shape of a parser, refs to branches, deleted refs, a
 * repository's URLs, commits as three of the four forges write them.
 */
import type { CommitInfo, EventBase, ForgeEvent } from "./forge.js";
import type { Payload } from "./payload.js";

/** How one forge's deliveries are read. */
export interface ForgeParser {
  /** The forge's name for people (`GitHub`), for messages. */
  readonly title: string;
  /** The headers that name the event (any case: lookups ignore it), the first one present wins. */
  readonly eventHeaders: readonly string[];
  /** The headers that carry the delivery's id, the first one present wins. */
  readonly deliveryHeaders: readonly string[];
  /** The event of a delivery named `event` (the event header's value). */
  parse(event: string, payload: Payload, base: EventBase): ForgeEvent;
}

export function ignored(base: EventBase, reason: string): ForgeEvent {
  return { kind: "ignored", ...base, reason };
}

const BRANCH_PREFIX = "refs/heads/";

/** The branch a ref names (`refs/heads/feature/x` → `feature/x`); undefined for any other ref. */
export function branchOfRef(ref: string): string | undefined {
  return ref.startsWith(BRANCH_PREFIX) && ref.length > BRANCH_PREFIX.length
    ? ref.slice(BRANCH_PREFIX.length)
    : undefined;
}

/** Why a push to a ref that is no branch (a tag, a note) is ignored. */
export function notABranch(base: EventBase, ref: string): ForgeEvent {
  return ignored(
    base,
    ref.startsWith("refs/tags/")
      ? `a push to the tag ${ref.slice("refs/tags/".length)}, not to a branch`
      : `a push to ${ref}, which is not a branch`,
  );
}

/** The sha git writes for a ref that does not exist: the ref was created from, or deleted to, it. */
export function isZeroSha(sha: string): boolean {
  return /^0+$/.test(sha);
}

export const ZERO_SHA = "0".repeat(40);

/** The URLs given, each once, without the empty or absent ones. */
export function urlList(...urls: (string | undefined)[]): string[] {
  return [...new Set(urls.map((u) => u?.trim()).filter((u): u is string => !!u))];
}

/**
 * A commit as GitHub, Gitea and GitLab describe one: `id`, `message`, `timestamp` and
 * `author{name, email}`.
 */
export function commitOf(commit: Payload): CommitInfo {
  const timestamp = commit.optionalDate("timestamp");
  return {
    sha: commit.commitSha("id"),
    message: commit.optionalString("message") ?? "",
    authorName: commit.optionalString("author.name") ?? "",
    authorEmail: commit.optionalString("author.email") ?? "",
    ...(timestamp ? { timestamp } : {}),
  };
}

/**
 * Whether two repository objects of a payload are the same repository: by their `idField` when
 * both have one, by full name (which the forge keeps unique) otherwise.
 */
export function sameRepositoryObject(a: Payload, b: Payload, idField: string): boolean {
  const idA = a.optionalId(idField);
  const idB = b.optionalId(idField);
  if (idA !== undefined && idB !== undefined) return idA === idB;
  return (
    a.nonEmptyString("full_name").toLowerCase() === b.nonEmptyString("full_name").toLowerCase()
  );
}
