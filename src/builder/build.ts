/**
 * One build: a shallow clone of the branch, the build plan (the repo's Dockerfile or a generated
 * one), then an image built through Docker's build API, tagged `obiente/<deployment>:<sha12>` and
 * referred to by its content id from then on. Everything it writes on disk lives in
 * `<workRoot>/<buildId>`, removed at the end whatever happens; a failed, timed-out or cancelled
 * build also removes every image and container it made.
 */
import { lstat, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import { DomainError, failedPrecondition, invalidArgument, unavailable } from "../domain/errors.js";
import { uuid, branch as validBranch, gitRepo as validGitRepo } from "../domain/validation.js";
import { stopReason } from "./abort.js";
import { packContext } from "./context.js";
import { type BuildKind, type BuildPlan, type DetectOptions, detectBuild } from "./detect.js";
import { checkDockerfile, checkDockerfileFile } from "./dockerfile-rules.js";
import { cloneShallow, redactUrl } from "./git.js";
import { guardLog, type LogSink } from "./log-sink.js";
import { formatSeconds } from "./units.js";

export const BUILD_ID_LABEL = "cloud.obiente.build_id";
export const DEPLOYMENT_ID_LABEL = "cloud.obiente.deployment_id";

export interface BuildLimits {
  /** The whole build: clone, context upload and docker build. */
  timeoutMs: number;
  /** The most the checkout may take on disk. */
  maxRepoBytes: number;
}

export interface BuildImageOptions {
  docker: Dockerode;
  /** A UUID; names the work folder and labels the image. */
  buildId: string;
  /** A UUID; names the image's repository. */
  deploymentId: string;
  gitRepo: string;
  branch: string;
  /** Where builds work; each gets `<workRoot>/<buildId>`, removed when it ends. */
  workRoot: string;
  limits: BuildLimits;
  /** Base images (and the static command) of generated Dockerfiles. */
  images: DetectOptions;
  /** Whether file:// repositories are allowed (the platform's GIT_ALLOW_FILE). */
  allowFile: boolean;
  /** Each line of the build's output: git, the plan, Docker's steps, the outcome. */
  onLog?: LogSink;
  /** Cancels the build; it then rejects with the signal's reason (or "the build was cancelled"). */
  signal?: AbortSignal;
  /**
   * The network of RUN steps (Docker's networkmode): the platform's build network, under the
   * isolation rules (BUILD_NETWORK); "none" builds offline. Docker's default when absent.
   */
  networkMode?: string;
}

export interface BuiltImage {
  /** The content id, `sha256:…`: what deployments refer to. */
  imageId: string;
  /** `obiente/<deploymentId>:<first 12 characters of the commit>`. */
  tag: string;
  commitSha: string;
  kind: BuildKind;
  /** The port the app listens on: the image's exposed TCP port, else the plan's. */
  port: number;
}

const MAX_PACKAGE_JSON_BYTES = 1024 * 1024;

export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  // Every input is checked before anything is written or started.
  const buildId = uuid("build_id", options.buildId);
  const deploymentId = uuid("deployment_id", options.deploymentId);
  const repo = validGitRepo(options.gitRepo, { allowFile: options.allowFile });
  const branch = validBranch(options.branch);
  const { timeoutMs, maxRepoBytes } = options.limits;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw invalidArgument("the build time limit must be a positive number of milliseconds");
  }
  if (!(maxRepoBytes > 0)) throw invalidArgument("the repository size limit must be positive");
  if (options.signal?.aborted) throw stopReason(options.signal);

  const { docker } = options;
  const log = guardLog(options.onLog);
  const workDir = join(resolve(options.workRoot), buildId);

  // One signal for the whole build: the deadline or the caller's cancellation, with the reason.
  const controller = new AbortController();
  const { signal } = controller;
  const timer = setTimeout(
    () =>
      controller.abort(
        new DomainError("deadline_exceeded", `build timed out after ${formatSeconds(timeoutMs)}`),
      ),
    timeoutMs,
  );
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(stopReason(outer as AbortSignal));
  outer?.addEventListener("abort", onOuterAbort, { once: true });

  const trace = new BuildTrace(log);
  try {
    // A folder left by a crashed attempt of this very build is stale: start afresh.
    await rm(workDir, { recursive: true, force: true });
    const home = join(workDir, "home");
    const checkout = join(workDir, "checkout");
    await mkdir(home, { recursive: true });

    log(`cloning ${redactUrl(repo)}, branch ${branch}`);
    const { commitSha } = await cloneShallow({
      repo,
      branch,
      dir: checkout,
      allowFile: options.allowFile,
      timeoutMs,
      maxBytes: maxRepoBytes,
      signal,
      onLog: log,
      homeDir: home,
    });
    log(`cloned commit ${commitSha}`);
    throwIfAborted(signal);

    const plan = detectBuild(await describeRoot(checkout), options.images);
    log(describePlan(plan));
    if (plan.kind === "dockerfile") {
      await checkDockerfileFile(join(checkout, plan.dockerfileName), plan.dockerfileName);
    } else checkDockerfile(plan.dockerfile, plan.dockerfileName);
    const context = await packContext({
      dir: checkout,
      extraFiles:
        plan.kind === "dockerfile"
          ? []
          : [{ name: plan.dockerfileName, contents: plan.dockerfile }],
      alwaysInclude: [plan.dockerfileName],
    });
    throwIfAborted(signal);

    const tag = `obiente/${deploymentId}:${commitSha.slice(0, 12)}`;
    log(`building ${tag}`);
    try {
      await runDockerBuild(docker, context.stream, trace, signal, {
        t: tag,
        labels: { [BUILD_ID_LABEL]: buildId, [DEPLOYMENT_ID_LABEL]: deploymentId },
        dockerfile: plan.dockerfileName,
        rm: true,
        forcerm: true,
        pull: false,
        ...(options.networkMode === undefined ? {} : { networkmode: options.networkMode }),
      });
    } finally {
      context.stream.destroy();
    }
    throwIfAborted(signal);

    const image = await docker.getImage(tag).inspect();
    // The tag could have moved to a concurrent build of the same commit: the label tells.
    if (image.Config?.Labels?.[BUILD_ID_LABEL] !== buildId) {
      throw new DomainError("internal", `build failed: ${tag} does not carry this build's label`);
    }
    throwIfAborted(signal);
    const port = exposedPort(image, plan.port);
    log(`built ${tag} as ${image.Id}`);
    return { imageId: image.Id, tag, commitSha, kind: plan.kind, port };
  } catch (error) {
    const failure = signal.aborted ? stopReason(signal) : asDomainError(error);
    log(failure.message);
    await removeLeftovers(docker, buildId, trace, log);
    throw failure;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
    await rm(workDir, { recursive: true, force: true });
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw stopReason(signal);
}

/** The root's entry names, and package.json parsed when there is one. */
async function describeRoot(dir: string): Promise<{ files: string[]; packageJson?: unknown }> {
  const files = (await readdir(dir)).filter((name) => name !== ".git");
  if (!files.includes("package.json")) return { files };
  const path = join(dir, "package.json");
  const stats = await lstat(path);
  if (!stats.isFile()) throw failedPrecondition("package.json must be a regular file");
  if (stats.size > MAX_PACKAGE_JSON_BYTES) throw failedPrecondition("package.json is over 1 MB");
  try {
    return { files, packageJson: JSON.parse(await readFile(path, "utf8")) };
  } catch (error) {
    throw failedPrecondition(`package.json is not valid JSON: ${(error as Error).message}`);
  }
}

function describePlan(plan: BuildPlan): string {
  switch (plan.kind) {
    case "dockerfile":
      return `building with the repository's ${plan.dockerfileName}`;
    case "node":
      return `no Dockerfile; package.json found: building a Node.js app with a generated ${plan.dockerfileName}`;
    case "static":
      return `no Dockerfile or package.json; index.html found: building a static site with a generated ${plan.dockerfileName}`;
  }
}

/** Sends the context, follows Docker's JSON progress to the end, and fails on its error. */
async function runDockerBuild(
  docker: Dockerode,
  context: Readable,
  trace: BuildTrace,
  signal: AbortSignal,
  options: Dockerode.ImageBuildOptions,
): Promise<void> {
  const output = (await docker.buildImage(context, {
    ...options,
    abortSignal: signal,
  })) as Readable;
  await new Promise<void>((resolvePromise, reject) => {
    // Closing the connection makes the engine cancel the build; the clean-up does the rest.
    const onAbort = () => {
      output.destroy();
      reject(stopReason(signal));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    docker.modem.followProgress(
      output,
      (error) => {
        signal.removeEventListener("abort", onAbort);
        trace.flush();
        if (error) reject(error);
        else if (trace.error) reject(trace.error);
        else resolvePromise();
      },
      (event: unknown) => trace.onEvent(event),
    );
  });
}

/**
 * Reads the classic builder's output as it comes: forwards each line, and keeps what the clean-up
 * and the error message need (the current step, the containers and images this build made).
 */
class BuildTrace {
  /** The current step, e.g. "3/5 RUN false". */
  private step: string | undefined;
  private stepIsFrom = false;
  private stepCached = false;
  private partial = "";
  /** Step containers ("Running in …"). */
  readonly containers: string[] = [];
  /** Images committed by this build's steps (not the base images, not cache hits). */
  readonly createdImages: string[] = [];
  error: DomainError | undefined;

  constructor(private readonly log: LogSink) {}

  onEvent(event: unknown): void {
    if (typeof event !== "object" || event === null) return;
    const { stream, error, errorDetail } = event as {
      stream?: unknown;
      error?: unknown;
      errorDetail?: { message?: unknown };
    };
    if (typeof stream === "string") this.onText(stream);
    const message =
      typeof errorDetail?.message === "string"
        ? errorDetail.message
        : typeof error === "string"
          ? error
          : undefined;
    if (message !== undefined && this.error === undefined) {
      this.flush();
      this.error = buildFailure(this.step, message);
    }
  }

  flush(): void {
    if (this.partial.length > 0) this.onLine(this.partial);
    this.partial = "";
  }

  private onText(text: string): void {
    const lines = (this.partial + text).split(/\r?\n/);
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.onLine(line);
  }

  private onLine(line: string): void {
    if (line.trim().length === 0) return;
    this.log(line);
    const step = /^Step (\d+\/\d+) : (.*)$/.exec(line);
    if (step) {
      const instruction = step[2] ?? "";
      this.step = `${step[1]} ${instruction}`;
      this.stepIsFrom = /^FROM\s/i.test(instruction);
      this.stepCached = false;
      return;
    }
    if (line === " ---> Using cache") {
      this.stepCached = true;
      return;
    }
    const container = /^ ---> Running in ([0-9a-f]{12,64})$/.exec(line)?.[1];
    if (container !== undefined) {
      this.containers.push(container);
      return;
    }
    const image = /^ ---> ([0-9a-f]{12,64})$/.exec(line)?.[1];
    if (image !== undefined && !this.stepIsFrom && !this.stepCached) this.createdImages.push(image);
  }
}

function buildFailure(step: string | undefined, message: string): DomainError {
  const where = step === undefined ? undefined : `step ${clip(step)}`;
  const code = /returned a non-zero code: (\d+)/.exec(message)?.[1];
  if (where !== undefined && code !== undefined) {
    return failedPrecondition(`build failed: ${where} returned ${code}`);
  }
  return failedPrecondition(`build failed: ${where === undefined ? "" : `${where}: `}${message}`);
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The image's exposed TCP port: the plan's when it is one of them, else the lowest. */
function exposedPort(image: Dockerode.ImageInspectInfo, fallback: number): number {
  const ports = Object.keys(image.Config?.ExposedPorts ?? {})
    .map((key) => /^(\d+)\/tcp$/.exec(key)?.[1])
    .filter((port): port is string => port !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return ports.includes(fallback) ? fallback : (ports[0] ?? fallback);
}

function asDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  const message = error instanceof Error ? error.message : String(error);
  // The engine's socket, not a file of ours: connect() failed, or the engine hung up.
  if (syscall === "connect" || code === "ECONNREFUSED" || code === "ECONNRESET") {
    return unavailable(`the Docker engine is not reachable: ${message}`, error);
  }
  // dockerode's errors read "(HTTP code 400) unexpected - <the engine's message>".
  const engineMessage = message.replace(/^\(HTTP code \d+\)[^-]*- /, "").trim();
  const status = (error as { statusCode?: number } | undefined)?.statusCode;
  // A 4xx is the engine refusing what it was given (a Dockerfile it cannot parse): the repo's fault.
  const kind =
    status !== undefined && status >= 400 && status < 500 ? "failed_precondition" : "internal";
  return new DomainError(kind, `build failed: ${engineMessage}`, { cause: error });
}

/**
 * Removes what a failed build made: its step containers, its labelled image (and so the tag), and
 * the intermediate images of its steps. Images another build still uses are kept (Docker refuses
 * with a conflict); other clean-up failures are logged, and the build's own error is what the
 * caller sees.
 */
async function removeLeftovers(
  docker: Dockerode,
  buildId: string,
  trace: BuildTrace,
  log: LogSink,
): Promise<void> {
  const attempt = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404 || status === 409) return; // gone already, or still used elsewhere
      log(`clean-up: could not remove ${what}: ${(error as Error).message}`);
    }
  };
  for (const id of trace.containers) {
    await attempt(`container ${id}`, () => docker.getContainer(id).remove({ force: true }));
  }
  await attempt(`the images of build ${buildId}`, async () => {
    const images = await docker.listImages({
      all: true,
      filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] },
    });
    for (const image of images) {
      await attempt(`image ${image.Id}`, () => docker.getImage(image.Id).remove({ force: true }));
    }
  });
  for (const id of [...trace.createdImages].reverse()) {
    await attempt(`image ${id}`, () => docker.getImage(id).remove());
  }
}
