/** What the controller needs from an image builder: ImageBuilder implements it. */
import type { CommitInfo } from "./git.js";

export type { CommitInfo };

export interface BuildRequest {
  buildId: string;
  deploymentId: string;
  gitRepo: string;
  branch: string;
  /**
   * The commit of the branch to build, by its full id (40 or 64 lowercase hex digits); the
   * branch's head when absent or empty. Refused (failed_precondition) when the remote no longer
   * serves it, e.g. after a force-push.
   */
  commitSha?: string;
  /** The deployment's https credential, kept apart from gitRepo (never in a URL or argv). */
  httpCredential?: { username: string; password: string };
  /** The project's deploy key, for ssh remotes (the only key ssh may offer). */
  sshKey?: { privateKeyPem: string };
  /** The build context inside the repository; its root when empty. */
  rootDirectory?: string;
  /** The Dockerfile, from the repository's root; detected when empty. */
  dockerfilePath?: string;
  onLog(line: string): void;
  signal?: AbortSignal;
}

export interface BuildResult {
  imageId: string;
  commitSha: string;
  /** The built commit's id, message, author and time; absent from builders that do not report it. */
  commit?: CommitInfo;
  /** The port the app listens on inside the container. */
  port: number;
}

export interface BuilderPort {
  build(request: BuildRequest): Promise<BuildResult>;
  /**
   * Removes what a build that will never finish left behind (its work folder, its images): a
   * build the platform was killed in the middle of.
   */
  discard?(buildId: string): Promise<void>;
}
