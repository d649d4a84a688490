/**
 * What a webhook delivery from a git forge means, whichever forge sent it: the forges' names, the
 * events the platform acts on, and the header lookup every forge's code shares.
 */

/** Every forge whose deliveries are understood, as `ForgeName` spells them. */
export const FORGE_NAMES = ["github", "gitlab", "gitea", "bitbucket"] as const;

/** The forges whose deliveries are understood. `gitea` covers Forgejo as well. */
export type ForgeName = (typeof FORGE_NAMES)[number];

export function isForgeName(s: string): s is ForgeName {
  return (FORGE_NAMES as readonly string[]).includes(s);
}

/** Request headers as node gives them: lower-cased names; a repeated header as an array. */
export type Headers = Record<string, string | string[] | undefined>;

export interface CommitInfo {
  sha: string;
  message: string;
  /** Empty when the forge did not say. */
  authorName: string;
  /** Empty when the forge did not say (Bitbucket gives only `Name <email>`, sometimes less). */
  authorEmail: string;
  /** Absent when the forge gave none or an unreadable one. */
  timestamp?: Date;
}

export interface RepositoryRef {
  /** `owner/name` (GitLab: the full path with subgroups, `group/sub/project`). */
  fullName: string;
  /**
   * Every URL the payload gives for the repository, each once: clone (https), ssh, git, web page.
   * Compare them with the project's remote through `sameRepository`.
   */
  urls: string[];
}

/** Fields every event carries. */
export interface EventBase {
  forge: ForgeName;
  /**
   * The forge's id for this delivery, the same when the forge retries it: the key to drop a
   * delivery already handled. When the forge sent none, the hex SHA-256 of the body, which is the
   * same for a retried delivery too.
   */
  deliveryId: string;
}

export type ForgeEvent =
  | (EventBase & {
      kind: "push";
      repository: RepositoryRef;
      /** The branch's name, without `refs/heads/`. */
      branch: string;
      /** The 40- or 64-hex sha the branch now points at; all zeros when it was deleted. */
      after: string;
      deleted: boolean;
      /** The commit the branch now points at, when the forge described it (not on deletion). */
      headCommit?: CommitInfo;
    })
  | (EventBase & {
      kind: "pull_request";
      /** The repository the pull request was opened in (its base). */
      repository: RepositoryRef;
      /** The pull request's number in its repository (GitLab: the merge request's iid). */
      number: number;
      /**
       * `opened` (opened or reopened), `updated` (new commits on its head) or `closed` (closed or
       * merged). Actions that change no code are `ignored` events instead.
       */
      action: "opened" | "updated" | "closed";
      /** The head (source) branch. */
      branch: string;
      /** The branch it asks to merge into (the base, or target, branch). */
      baseBranch: string;
      /**
       * The head commit's sha, lower-case hex. Bitbucket's pull request deliveries carry an
       * abbreviated one (12 hex): resolve it against the head branch before using it as a
       * commit's full name.
       */
      sha: string;
      title: string;
      /**
       * The head repository when it is another one (a fork), with its own URLs to fetch the head
       * from. Absent when the head is in the repository itself, or when the fork was deleted (the
       * forge then gives no head repository).
       */
      headRepository?: RepositoryRef;
    })
  | (EventBase & { kind: "ping" })
  | (EventBase & {
      kind: "ignored";
      /** Why nothing is to be done, for a log line or the delivery's answer. */
      reason: string;
    });

/**
 * A header's value by name, whatever the case of the names in `headers`. A repeated header gives
 * its first value here; `verifyDelivery` refuses a repeated signature instead (see there).
 */
export function headerValue(headers: Headers, name: string): string | undefined {
  const values = headerValues(headers, name);
  return values[0];
}

/** Every value of a header, trimmed, empty ones left out; `[]` when it is absent. */
export function headerValues(headers: Headers, name: string): string[] {
  const wanted = name.toLowerCase();
  let value = headers[wanted];
  if (value === undefined) {
    for (const [key, v] of Object.entries(headers)) {
      if (key.toLowerCase() === wanted) {
        value = v;
        break;
      }
    }
  }
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return values.map((v) => v.trim()).filter((v) => v !== "");
}
