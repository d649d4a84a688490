/**
 * The plan of a remote branch, without building it: a shallow clone with the builder's clone
 * code, rules and limits (cloneShallow), then planCheckout, in a work folder of its own that is
 * removed whatever happens.
 */
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DetectOptions } from "./base-images.js";
import { cloneShallow, type HttpCredential, type SshKey } from "./git.js";
import type { BuildPlan } from "./plan.js";
import { planCheckout, type SourceSelection } from "./plan-source.js";

export interface PlanRepositoryOptions {
  repo: string;
  branch: string;
  /** Where plans clone; each gets `<workRoot>/<random id>`, removed when it ends. */
  workRoot: string;
  /** Whether file:// repositories are allowed (the platform's GIT_ALLOW_FILE). */
  allowFile: boolean;
  limits: { timeoutMs: number; maxRepoBytes: number; maxRepoFiles?: number };
  images: DetectOptions;
  selection?: SourceSelection;
  httpCredential?: HttpCredential | undefined;
  /** The project's deploy key for ssh remotes (the only key ssh may offer); none when absent. */
  sshKey?: SshKey | undefined;
  /** The platform's known_hosts for ssh remotes. */
  knownHostsFile?: string | undefined;
  signal?: AbortSignal | undefined;
}

export async function planRepository(
  options: PlanRepositoryOptions,
): Promise<{ plan: BuildPlan; commitSha: string }> {
  const workDir = join(resolve(options.workRoot), randomUUID());
  try {
    const home = join(workDir, "home");
    const checkout = join(workDir, "checkout");
    await mkdir(home, { recursive: true });
    const { commitSha } = await cloneShallow({
      repo: options.repo,
      branch: options.branch,
      dir: checkout,
      allowFile: options.allowFile,
      timeoutMs: options.limits.timeoutMs,
      maxBytes: options.limits.maxRepoBytes,
      ...(options.limits.maxRepoFiles === undefined
        ? {}
        : { maxFiles: options.limits.maxRepoFiles }),
      homeDir: home,
      ...(options.httpCredential === undefined ? {} : { httpCredential: options.httpCredential }),
      ...(options.sshKey === undefined ? {} : { sshKey: options.sshKey }),
      ...(options.knownHostsFile === undefined ? {} : { knownHostsFile: options.knownHostsFile }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const { plan } = await planCheckout(checkout, options.selection ?? {}, options.images);
    return { plan, commitSha };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
