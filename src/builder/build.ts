/**
 * One build: a shallow clone of the branch (at its head, or at the commit asked for), the build
 * plan (the repo's Dockerfile or a generated one), then an image built through Docker's build API,
 * tagged `obiente/<deployment>:<sha12>` and referred to by its content id from then on. Everything
 * it writes on disk lives in `<workRoot>/<buildId>`, removed at the end whatever happens; a failed,
 * timed-out or cancelled build also removes every image and container it made.
 */
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import {
  DomainError,
  failedPrecondition,
  invalidArgument,
  LABEL_PREFIX,
  LABELS,
  unavailable,
  uuid,
  branch as validBranch,
  gitRepo as validGitRepo,
} from "../domain/index.js";
import { stopReason } from "./abort.js";
import type { DetectOptions } from "./base-images.js";
import { type BuildMessage, LineSplitter, readBuildStream } from "./build-stream.js";
import { measureTree } from "./disk-usage.js";
import { checkDockerfile } from "./dockerfile-rules.js";
import {
  type CommitInfo,
  cloneShallow,
  type HttpCredential,
  redactUrl,
  type SshKey,
  validCommitSha,
} from "./git.js";
import { BoundedLog, guardLog, type LogSink } from "./log-sink.js";
import type { BuildKind, BuildPlan } from "./plan.js";
import { packPlan, planCheckout } from "./plan-source.js";
import { formatBytes, formatSeconds } from "./units.js";

export const BUILD_ID_LABEL = LABELS.buildId;
export const DEPLOYMENT_ID_LABEL = LABELS.deploymentId;

export interface BuildLimits {
  /** The whole build: clone, context upload and docker build. */
  timeoutMs: number;
  /** The most the checkout may take on disk. */
  maxRepoBytes: number;
  /** The most files and folders the checkout may hold (empty files weigh nothing in bytes). */
  maxRepoFiles?: number;
  /**
   * The most disk the build may use: its work folder, and each step's container layer in the
   * engine while the step runs.
   */
  maxDiskBytes?: number;
  /** CPU cores each step may use (the engine's cpuquota over cpuperiod). */
  cpus?: number;
  /** Memory of each step, swap included (the engine's memory and memswap). */
  memoryBytes?: number;
  /** The build log's size: about three quarters as it comes, the last quarter at the end. */
  maxLogChars?: number;
}

/** What a build may use when the caller says nothing (the platform passes its configuration). */
export const DEFAULT_BUILD_LIMITS = {
  maxRepoFiles: 100_000,
  maxDiskBytes: 10 * 1024 * 1024 * 1024,
  cpus: 1,
  memoryBytes: 2 * 1024 * 1024 * 1024,
  maxLogChars: 256 * 1024,
} as const satisfies Partial<BuildLimits>;

/** The engine's CFS period: cpuquota is CPUs times this. */
const CPU_PERIOD_US = 100_000;
/** How often the disk a build uses is measured while it runs. */
const DISK_CHECK_INTERVAL_MS = 2_000;

/**
 * Labels that would give a built image's containers a route at the edge (Traefik's and
 * caddy-docker-proxy's Docker providers read every container's labels): a tenant's Dockerfile
 * must not carry them, since containers inherit their image's labels.
 */
export const ROUTING_LABEL = /^(?:traefik\.|caddy)/i;

export interface BuildImageOptions {
  docker: Dockerode;
  /** A UUID; names the work folder and labels the image. */
  buildId: string;
  /** A UUID; names the image's repository. */
  deploymentId: string;
  gitRepo: string;
  branch: string;
  /** The commit of the branch to build, by its full id (40 or 64 hex digits); its head when absent. */
  commitSha?: string;
  /** Where builds work; each gets `<workRoot>/<buildId>`, removed when it ends. */
  workRoot: string;
  limits: BuildLimits;
  /** Base images of generated Dockerfiles. */
  images: DetectOptions;
  /** The build context inside the repository (the deployment's root_directory); its root when absent. */
  rootDirectory?: string;
  /** The deployment's Dockerfile, from the repository's root (dockerfile_path). */
  dockerfilePath?: string;
  /** PEM certificates the build stages of generated Dockerfiles trust (BUILD_CA_BUNDLE's text). */
  caBundle?: string;
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
  /** The deployment's own SSH key for ssh:// and scp-like remotes; none when absent. */
  sshKey?: SshKey;
  /** The deployment's own credential for https remotes (kept out of the URL and argv). */
  httpCredential?: HttpCredential;
  /** The platform's known_hosts for ssh remotes (see CloneOptions.knownHostsFile). */
  knownHostsFile?: string;
}

export interface BuiltImage {
  /** The content id, `sha256:…`: what deployments refer to. */
  imageId: string;
  /** `obiente/<deploymentId>:<first 12 characters of the commit>`. */
  tag: string;
  commitSha: string;
  /** The built commit's id, message, author and time. */
  commit: CommitInfo;
  kind: BuildKind;
  /** The port the app listens on: the image's exposed TCP port, else the plan's. */
  port: number;
}

export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  // Every input is checked before anything is written or started.
  const buildId = uuid("build_id", options.buildId);
  const deploymentId = uuid("deployment_id", options.deploymentId);
  const repo = validGitRepo(options.gitRepo, { allowFile: options.allowFile });
  const branch = validBranch(options.branch);
  const wanted = options.commitSha === undefined ? undefined : validCommitSha(options.commitSha);
  const limits = checkLimits(options.limits);
  const { timeoutMs } = limits;
  if (options.signal?.aborted) throw stopReason(options.signal);

  const { docker } = options;
  const sink = guardLog(options.onLog);
  // Git's and the engine's output go through the bounded log; the platform's own few lines (the
  // outcome) are written after it closes, so that they always come last and are never cut.
  const output = new BoundedLog(sink, {
    headChars: Math.ceil((limits.maxLogChars * 3) / 4),
    tailChars: Math.floor(limits.maxLogChars / 4),
  });
  const log: LogSink = (line) => output.line(line);
  const workDir = join(resolve(options.workRoot), buildId);
  const startedAt = Date.now();

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

  const trace = new BuildTrace(output);
  let unwatchDisk: (() => void) | undefined;
  try {
    // A folder left by a crashed attempt of this very build is stale: start afresh.
    await rm(workDir, { recursive: true, force: true });
    const home = join(workDir, "home");
    const checkout = join(workDir, "checkout");
    await mkdir(home, { recursive: true });

    log(
      `cloning ${redactUrl(repo)}, branch ${branch}${wanted === undefined ? "" : `, commit ${wanted.slice(0, 7)}`}`,
    );
    const { commitSha, commit } = await cloneShallow({
      repo,
      branch,
      ...(wanted === undefined ? {} : { commit: wanted }),
      dir: checkout,
      allowFile: options.allowFile,
      timeoutMs,
      maxBytes: Math.min(limits.maxRepoBytes, limits.maxDiskBytes),
      maxFiles: limits.maxRepoFiles,
      signal,
      onLog: log,
      homeDir: home,
      ...(options.sshKey === undefined ? {} : { sshKey: options.sshKey }),
      ...(options.httpCredential === undefined ? {} : { httpCredential: options.httpCredential }),
      ...(options.knownHostsFile === undefined ? {} : { knownHostsFile: options.knownHostsFile }),
    });
    log(describeCommit(commit));
    throwIfAborted(signal);
    await checkWorkFolder(workDir, limits);

    const checkoutPlan = await planCheckout(checkout, options, {
      ...options.images,
      caBundle: options.caBundle !== undefined,
    });
    const { plan } = checkoutPlan;
    for (const line of describePlan(plan)) log(line);
    // The text the plan read (the repository's own Dockerfile too, also one from outside the
    // root directory), which is what Docker is given.
    checkDockerfile(plan.dockerfile, plan.dockerfilePath);
    const context = await packPlan(checkoutPlan, options.caBundle);
    throwIfAborted(signal);

    const tag = `obiente/${deploymentId}:${commitSha.slice(0, 12)}`;
    log(`building ${tag}`);
    unwatchDisk = watchStepDisk(docker, trace, limits.maxDiskBytes, startedAt, (error) =>
      controller.abort(error),
    );
    try {
      await runDockerBuild(docker, context.stream, trace, signal, {
        t: tag,
        labels: { [BUILD_ID_LABEL]: buildId, [DEPLOYMENT_ID_LABEL]: deploymentId },
        dockerfile: plan.dockerfilePath,
        rm: true,
        forcerm: true,
        pull: false,
        // Each step's container: CPU and memory bounded, no swap beyond the memory.
        cpuperiod: CPU_PERIOD_US,
        cpuquota: Math.max(1_000, Math.round(limits.cpus * CPU_PERIOD_US)),
        memory: limits.memoryBytes,
        memswap: limits.memoryBytes,
        ...(options.networkMode === undefined ? {} : { networkmode: options.networkMode }),
      });
    } finally {
      context.stream.destroy();
      unwatchDisk();
    }
    throwIfAborted(signal);

    const image = await docker.getImage(tag).inspect();
    // The tag could have moved to a concurrent build of the same commit: the label tells.
    if (image.Config?.Labels?.[BUILD_ID_LABEL] !== buildId) {
      throw new DomainError("internal", `build failed: ${tag} does not carry this build's label`);
    }
    refuseReservedLabels(image);
    throwIfAborted(signal);
    const port = exposedPort(image, plan.port);
    output.close();
    sink(`built ${tag} as ${image.Id}`);
    return { imageId: image.Id, tag, commitSha, commit, kind: plan.kind, port };
  } catch (error) {
    unwatchDisk?.();
    const failure = signal.aborted ? stopReason(signal) : asDomainError(error);
    output.close();
    sink(failure.message);
    await removeLeftovers(docker, buildId, trace, startedAt, sink);
    throw failure;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
    await rm(workDir, { recursive: true, force: true });
  }
}

type CheckedLimits = Required<BuildLimits>;

function checkLimits(limits: BuildLimits): CheckedLimits {
  const checked: CheckedLimits = {
    ...DEFAULT_BUILD_LIMITS,
    ...definedOnly(limits),
    timeoutMs: limits.timeoutMs,
    maxRepoBytes: limits.maxRepoBytes,
  };
  if (!(checked.timeoutMs > 0) || !Number.isFinite(checked.timeoutMs)) {
    throw invalidArgument("the build time limit must be a positive number of milliseconds");
  }
  for (const [name, value] of [
    ["repository size", checked.maxRepoBytes],
    ["repository file count", checked.maxRepoFiles],
    ["disk", checked.maxDiskBytes],
    ["CPU", checked.cpus],
    ["memory", checked.memoryBytes],
    ["log size", checked.maxLogChars],
  ] as const) {
    if (!(value > 0)) throw invalidArgument(`the build's ${name} limit must be positive`);
  }
  // The engine refuses less than 6 MB of memory for a container.
  if (checked.memoryBytes < 6 * 1024 * 1024) {
    throw invalidArgument("the build's memory limit must be at least 6 MB");
  }
  return checked;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The work folder (checkout, private HOME) against the disk limit, once the clone is done. */
async function checkWorkFolder(workDir: string, limits: CheckedLimits): Promise<void> {
  const { bytes } = await measureTree(workDir, { stopAboveBytes: limits.maxDiskBytes });
  if (bytes > limits.maxDiskBytes) throw overDisk(limits.maxDiskBytes);
}

function overDisk(maxDiskBytes: number): DomainError {
  return failedPrecondition(
    `the build uses more disk than its limit of ${formatBytes(maxDiskBytes)} (BUILD_MAX_DISK_MB)`,
  );
}

/**
 * Measures, every few seconds while the engine builds, the writable layer of the step container
 * running now, and stops the build once it is over the disk limit: the classic builder has no
 * storage option, and a step could otherwise fill the engine's disk.
 */
function watchStepDisk(
  docker: Dockerode,
  trace: BuildTrace,
  maxDiskBytes: number,
  startedAt: number,
  stop: (error: DomainError) => void,
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    const id = trace.containers[trace.containers.length - 1];
    if (busy || id === undefined) return;
    busy = true;
    // `size` asks the engine for the writable layer's size (SizeRw); dockerode's types omit both.
    const inspect = docker.getContainer(id).inspect({ size: true } as object) as Promise<
      Dockerode.ContainerInspectInfo & { SizeRw?: number }
    >;
    inspect
      .then((info) => {
        if (!isStepContainer(info, startedAt)) return;
        if ((info.SizeRw ?? 0) > maxDiskBytes) stop(overDisk(maxDiskBytes));
      })
      // The step may have ended and its container gone: the next measure looks at the next one.
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, DISK_CHECK_INTERVAL_MS);
  return () => clearInterval(timer);
}

/**
 * Whether a container named in the build's output is one of this build's step containers. The
 * output also carries whatever the steps print, so a step could name another tenant's container:
 * a step container was made after this build started, from an image id, and carries none of the
 * platform's labels.
 */
function isStepContainer(info: Dockerode.ContainerInspectInfo, startedAt: number): boolean {
  const created = Date.parse(info.Created);
  const labels = Object.keys(info.Config?.Labels ?? {});
  return (
    Number.isFinite(created) &&
    created >= startedAt - CLOCK_SKEW_MS &&
    (info.Config?.Image ?? "").startsWith("sha256:") &&
    !labels.some((label) => label.startsWith(LABEL_PREFIX))
  );
}

/** The engine's clock and ours may differ a little (a remote engine). */
const CLOCK_SKEW_MS = 5_000;

/**
 * Refuses an image whose labels would make the edge route to its containers, or that names
 * itself as something of the platform's (its `cloud.obiente.*` labels are the runtime's to set;
 * the build sets two of them itself, which win over the Dockerfile's).
 */
function refuseReservedLabels(image: Dockerode.ImageInspectInfo): void {
  const names = Object.keys(image.Config?.Labels ?? {});
  const routing = names.find((name) => ROUTING_LABEL.test(name));
  if (routing !== undefined) {
    throw failedPrecondition(
      `build refused: the image carries the label "${clip(routing)}"; labels starting with "traefik." or "caddy" would route traffic at the edge, which the platform alone decides (remove the LABEL from the Dockerfile or its base image)`,
    );
  }
  const own = new Set<string>([BUILD_ID_LABEL, DEPLOYMENT_ID_LABEL]);
  const reserved = names.find((name) => /^cloud\.obiente\./i.test(name) && !own.has(name));
  if (reserved !== undefined) {
    throw failedPrecondition(
      `build refused: the image carries the label "${clip(reserved)}"; labels starting with "cloud.obiente." are the platform's own (remove the LABEL from the Dockerfile or its base image)`,
    );
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw stopReason(signal);
}

/** "commit abc1234 by Name: subject", the subject cut to one short line. */
function describeCommit(commit: CommitInfo): string {
  const author = commit.authorName || commit.authorEmail || "an unnamed author";
  const subject = (commit.message.split("\n", 1)[0] ?? "").trim();
  return `commit ${commit.sha.slice(0, 7)} by ${clip(author)}${subject === "" ? "" : `: ${clip(subject)}`}`;
}

/** The plan in the build's log: the stack, then each reason. */
function describePlan(plan: BuildPlan): string[] {
  const how = plan.generated
    ? `building with a Dockerfile written for it (${plan.dockerfilePath})`
    : `building with ${plan.dockerfilePath}`;
  return [
    `plan: ${plan.stack}; ${how}`,
    ...plan.reasons.map((r) => `  ${r.file === "" ? "" : `${r.file}: `}${r.detail}`),
  ];
}

/** Sends the context, reads the engine's JSON messages to the end, and fails on its error. */
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
  // Closing the connection makes the engine cancel the build; the clean-up does the rest.
  const onAbort = () => output.destroy();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal.aborted) onAbort();
    await readBuildStream(output, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      onMessage: (message) => trace.onMessage(message),
      onSkipped: (bytes) => trace.onSkipped(bytes),
    });
  } catch (error) {
    if (signal.aborted) throw stopReason(signal);
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    trace.flush();
  }
  if (trace.error) throw trace.error;
}

/** The longest JSON message of the engine read; its pieces of output are far shorter. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** The longest line of build output kept whole. */
export const MAX_LINE_CHARS = 4096;

/**
 * Reads the classic builder's output as it comes: passes each line to the build's bounded log,
 * and keeps what the clean-up and the error message need (the current step, the containers and
 * images this build made). Past the log's head, output is only scanned for the engine's own lines.
 */
class BuildTrace {
  /** The current step, e.g. "3/5 RUN false". */
  private step: string | undefined;
  private stepIsFrom = false;
  private stepCached = false;
  private readonly lines = new LineSplitter(MAX_LINE_CHARS);
  /** Step containers ("Running in …"). */
  readonly containers: string[] = [];
  /** Images committed by this build's steps (not the base images, not cache hits). */
  readonly createdImages: string[] = [];
  error: DomainError | undefined;

  constructor(private readonly log: BoundedLog) {}

  onMessage(message: BuildMessage): void {
    const { stream, error, errorDetail } = message;
    if (typeof stream === "string") this.onText(stream);
    const text =
      typeof errorDetail?.message === "string"
        ? errorDetail.message
        : typeof error === "string"
          ? error
          : undefined;
    if (text !== undefined && this.error === undefined) {
      this.flush();
      this.error = buildFailure(this.step, text.slice(0, MAX_LINE_CHARS));
    }
  }

  onSkipped(bytes: number): void {
    this.log.line(`[a message of ${bytes} bytes from the engine was left out]`);
  }

  flush(): void {
    const rest = this.lines.flush();
    if (rest !== undefined) this.onLine(rest);
  }

  private onText(text: string): void {
    if (this.log.full) {
      this.log.text(text);
      // The engine's own lines ("Step …", " ---> …") are all the trace needs from here on.
      if (!text.includes("Step ") && !text.includes("--->")) {
        this.lines.skip(text);
        return;
      }
      for (const line of this.lines.lines(text)) this.recognise(line);
      return;
    }
    for (const line of this.lines.lines(text)) this.onLine(line);
  }

  private onLine(line: string): void {
    if (line.trim().length === 0) return;
    this.log.line(line);
    this.recognise(line);
  }

  private recognise(line: string): void {
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
  startedAt: number,
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
  for (const id of new Set(trace.containers)) {
    await attempt(`container ${id}`, async () => {
      const container = docker.getContainer(id);
      if (isStepContainer(await container.inspect(), startedAt)) {
        await container.remove({ force: true });
      }
    });
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
  for (const id of [...new Set(trace.createdImages)].reverse()) {
    await attempt(`image ${id}`, async () => {
      // Named in the output, like the containers: only an image made since this build started,
      // and no other build's (which carries its own build label), is removed.
      const image = docker.getImage(id);
      const info = await image.inspect();
      const created = Date.parse(info.Created);
      const otherBuild = info.Config?.Labels?.[BUILD_ID_LABEL];
      if (!(created >= startedAt - CLOCK_SKEW_MS)) return;
      if (otherBuild !== undefined && otherBuild !== buildId) return;
      await image.remove();
    });
  }
}
