/**
 * Shallow clone of one branch with the git CLI, at its head or at a given commit of it. Never
 * through a shell: git gets an argument array, with `--` before the user's values, which are
 * validated again here (defence in depth). The environment is built from scratch, so that neither
 * the platform's secrets nor the machine's git configuration reach git, its remote helpers or ssh.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  DomainError,
  failedPrecondition,
  invalidArgument,
  unavailable,
  branch as validBranch,
  gitRepo as validGitRepo,
} from "../domain/index.js";
import { stopReason } from "./abort.js";
import { LineSplitter } from "./build-stream.js";
import { measureTree, type TreeSize } from "./disk-usage.js";
import { guardLog, type LogSink } from "./log-sink.js";
import { formatBytes, formatSeconds } from "./units.js";

export interface CloneOptions {
  /** The remote: https, ssh or git URL (file:// only with allowFile). */
  repo: string;
  branch: string;
  /**
   * The commit to check out, by its full object name (40 or 64 lowercase hex digits): fetched at
   * depth 1 after the branch when the branch's head is another one. The branch's head when absent.
   */
  commit?: string;
  /** Where the checkout goes: must not exist, or be empty. Removed again when the clone fails. */
  dir: string;
  /** Whether file:// remotes are allowed (the platform's GIT_ALLOW_FILE). */
  allowFile: boolean;
  timeoutMs: number;
  /** The most the checkout (working tree and .git) may take on disk. */
  maxBytes: number;
  /** The most files and folders the checkout (working tree and .git) may hold; no limit when absent. */
  maxFiles?: number;
  /**
   * The deployment's own key for ssh remotes. Without one, ssh offers no key at all: never the
   * service user's (~/.ssh of its passwd entry), nor an agent's.
   */
  sshKey?: SshKey;
  /** The deployment's own credential for https remotes; git gets it from an askpass helper. */
  httpCredential?: HttpCredential;
  /**
   * The known_hosts file ssh checks and extends (first contact: the host's key is accepted and
   * recorded; a changed key is refused). In the private HOME, so forgotten after the clone, when
   * absent.
   */
  knownHostsFile?: string;
  /** Aborting kills git; the clone rejects with the signal's reason when it is a DomainError. */
  signal?: AbortSignal;
  /** Each line git writes to stderr, credentials in URLs masked. */
  onLog?: LogSink;
  /**
   * HOME for git and ssh (known_hosts lands there). A private temporary folder, removed afterwards,
   * when absent.
   */
  homeDir?: string;
}

export interface SshKey {
  /** An OpenSSH or PEM private key, without a passphrase. */
  privateKeyPem: string;
}

export interface HttpCredential {
  username: string;
  /** A password or token. */
  password: string;
}

export interface CloneResult {
  /** The full object name of the checked-out commit (commit.sha). */
  commitSha: string;
  commit: CommitInfo;
}

/** The checked-out commit, as git records it. */
export interface CommitInfo {
  /** The full object name. */
  sha: string;
  /** The whole message (subject and body), trimmed, at most MAX_COMMIT_MESSAGE_CHARS characters. */
  message: string;
  authorName: string;
  authorEmail: string;
  /**
   * When the author made the commit; the committer's time when git cannot read the author's, and
   * the Unix epoch when it can read neither.
   */
  authoredAt: Date;
}

/** The longest commit message reported; the rest is cut. */
export const MAX_COMMIT_MESSAGE_CHARS = 2_000;

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * A commit's full object name: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits. Nothing shorter,
 * since an abbreviation can be ambiguous and git cannot fetch one.
 */
export function validCommitSha(value: string): string {
  if (!FULL_SHA.test(value)) {
    throw invalidArgument(
      `commit "${value.slice(0, 80)}" is invalid: give the full commit id, 40 or 64 lowercase hexadecimal digits`,
    );
  }
  return value;
}

/** How often the checkout is measured while git writes it. */
const SIZE_CHECK_INTERVAL_MS = 500;

/** Settings given on the command line, which win over any configuration file. */
const HARDENING = [
  ["protocol.ext.allow", "never"],
  ["core.hooksPath", "/dev/null"],
  // An empty value resets the list of credential helpers: nothing may ask for or store secrets.
  ["credential.helper", ""],
  // No hook or other template is copied into the new repository.
  ["init.templateDir", ""],
].flatMap(([key, value]) => ["-c", `${key}=${value}`]);

/** Variables passed through from the platform's environment: how to reach the network. */
const PASS_THROUGH = [
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "all_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "GIT_SSL_CAINFO",
];

/**
 * `git clone --depth 1 --single-branch --no-tags --branch <branch> -- <repo> <dir>`; when a commit
 * is wanted and the branch's head is another one, `git fetch --depth 1 --no-tags -- origin
 * <commit>` and `git checkout --detach <commit>`; then `git log -1` for the commit's metadata. All
 * of it bounded by one time limit, and the checkout by the size limits. Failures become
 * DomainErrors that say what went wrong: a missing branch, repository or commit
 * (failed_precondition), an unreachable host (unavailable), a checkout over the size limit
 * (failed_precondition), the time limit (deadline_exceeded).
 *
 * A wanted commit is fetched by its name, so any commit the server hands out is built (with
 * protocol v2, any it holds); that it is an ancestor of the branch's head is not checked, which
 * would take the branch's whole history.
 */
export async function cloneShallow(options: CloneOptions): Promise<CloneResult> {
  const repo = validGitRepo(options.repo, { allowFile: options.allowFile });
  const branch = validBranch(options.branch);
  const wanted = options.commit === undefined ? undefined : validCommitSha(options.commit);
  const { dir, timeoutMs, maxBytes, signal } = options;
  const maxFiles = options.maxFiles ?? Number.POSITIVE_INFINITY;
  if (!(timeoutMs > 0)) throw invalidArgument("the clone's time limit must be positive");
  if (!(maxBytes > 0)) throw invalidArgument("the clone's size limit must be positive");
  if (!(maxFiles > 0)) throw invalidArgument("the clone's file count limit must be positive");
  if (signal?.aborted) throw stopReason(signal);
  // The folder is removed when the clone fails: it must hold nothing of anyone else's.
  if ((await entriesOf(dir)).length > 0) {
    throw invalidArgument(`the clone's folder ${dir} exists and is not empty`);
  }

  const shownRepo = redactUrl(repo);
  const home = options.homeDir ?? (await mkdtemp(join(tmpdir(), "obiente-git-home-")));
  try {
    await mkdir(home, { recursive: true, mode: 0o700 });
    const env = gitEnvironment(home, options.allowFile);
    Object.assign(env, await sshEnvironment(home, options));
    Object.assign(env, await askpassEnvironment(home, repo, options.httpCredential));
    const deadline = Date.now() + timeoutMs;
    const timeoutMessage = `cloning ${shownRepo} timed out after ${formatSeconds(timeoutMs)}`;
    const tooLarge = (size: TreeSize) =>
      size.bytes > maxBytes
        ? failedPrecondition(`the repository is larger than the limit of ${formatBytes(maxBytes)}`)
        : failedPrecondition(
            `the repository holds more than the limit of ${maxFiles} files and folders (BUILD_MAX_FILES)`,
          );
    const limits = { maxBytes, maxFiles };
    const watchDir = (stop: (error: DomainError) => void) =>
      watchSize(dir, limits, (size) => stop(tooLarge(size)));
    /** git in the checkout, within what is left of the time limit. */
    const inCheckout = (args: string[], run: Pick<RunOptions, "onStderrLine" | "watch"> = {}) =>
      runGit([...HARDENING, "-C", dir, ...args], {
        env,
        timeoutMs: Math.max(1, deadline - Date.now()),
        timeoutMessage,
        signal,
        ...run,
      });

    const clone = await runGit(
      [
        ...HARDENING,
        "clone",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
        "--branch",
        branch,
        "--",
        repo,
        dir,
      ],
      {
        env,
        timeoutMs,
        timeoutMessage,
        signal,
        onStderrLine: options.onLog,
        watch: watchDir,
      },
    );
    if (clone.code !== 0) throw cloneError(clone.stderr, { repo: shownRepo, branch });
    const size = await measure(dir, limits);
    if (isOver(size, limits)) throw tooLarge(size);

    let commit = parseCommit(await inCheckout(LOG_HEAD), shownRepo);
    if (wanted !== undefined && commit.sha !== wanted) {
      const where = { repo: shownRepo, branch, commit: wanted };
      const fetch = await inCheckout(
        ["fetch", "--depth", "1", "--no-tags", "--", "origin", wanted],
        { onStderrLine: options.onLog, watch: watchDir },
      );
      if (fetch.code !== 0) throw fetchError(fetch.stderr, where);
      const checkout = await inCheckout(["checkout", "--quiet", "--detach", wanted], {
        onStderrLine: options.onLog,
        watch: watchDir,
      });
      if (checkout.code !== 0) throw checkoutError(checkout.stderr, where);
      const fetched = await measure(dir, limits);
      if (isOver(fetched, limits)) throw tooLarge(fetched);
      commit = parseCommit(await inCheckout(LOG_HEAD), shownRepo);
      if (commit.sha !== wanted) {
        throw new DomainError(
          "internal",
          `the checkout of ${shownRepo} is at ${commit.sha}, not at the commit asked for, ${wanted}`,
        );
      }
    }
    return { commitSha: commit.sha, commit };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    if (options.homeDir === undefined) await rm(home, { recursive: true, force: true });
  }
}

/**
 * The checked-out commit's metadata in one line of fields separated by NUL, which no name or
 * e-mail address of a commit git makes holds, the message last (a hand-made one may hold anything). The author's and the
 * committer's times as Unix seconds, which git prints for any date it can read at all. As the
 * commit records them: no signature check, no .mailmap; the message re-encoded to UTF-8.
 */
const LOG_HEAD = [
  "log",
  "-1",
  "--no-show-signature",
  "--no-use-mailmap",
  "--encoding=UTF-8",
  "--format=%H%x00%an%x00%ae%x00%at%x00%ct%x00%B",
  "HEAD",
  "--",
];

function parseCommit(log: RunResult, repo: string): CommitInfo {
  const [sha = "", authorName = "", authorEmail = "", authorTime = "", commitTime = "", ...rest] =
    log.stdout.split("\0");
  if (log.code !== 0 || !FULL_SHA.test(sha)) {
    throw new DomainError(
      "internal",
      `git log -1 failed in the checkout of ${repo}: ${lastMeaningful(log.stderr)}`,
    );
  }
  return {
    sha,
    // A NUL inside the message (only a hand-made commit holds one) is dropped: text columns refuse it.
    message: clipMessage(rest.join("").trim()),
    authorName,
    authorEmail,
    authoredAt: commitDate(authorTime) ?? commitDate(commitTime) ?? new Date(0),
  };
}

/** Unix seconds as git prints them (empty for a date it cannot read), if a Date can hold them. */
function commitDate(seconds: string): Date | undefined {
  if (!/^-?\d{1,15}$/.test(seconds)) return undefined;
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** At most MAX_COMMIT_MESSAGE_CHARS UTF-16 units, never half of a surrogate pair. */
function clipMessage(message: string): string {
  if (message.length <= MAX_COMMIT_MESSAGE_CHARS) return message;
  const cut = message.slice(0, MAX_COMMIT_MESSAGE_CHARS);
  return (/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut).trimEnd();
}

async function entriesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Masks the user-info part of http(s) URLs (tokens are often put there). */
export function redactUrl(text: string): string {
  return text.replace(/(https?:\/\/)[^/\s?#]+@/gi, "$1***@");
}

function gitEnvironment(home: string, allowFile: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    TMPDIR: home,
    // Messages in English, so that cloneError can recognise them.
    LANG: "C",
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    // Empty: no askpass program either, so a remote that wants credentials fails at once.
    GIT_ASKPASS: "",
    SSH_ASKPASS: "",
    GIT_ALLOW_PROTOCOL: allowFile ? "https:ssh:git:file" : "https:ssh:git",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  for (const name of PASS_THROUGH) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

interface TreeLimits {
  maxBytes: number;
  maxFiles: number;
}

const measure = (dir: string, limits: TreeLimits) =>
  measureTree(dir, { stopAboveBytes: limits.maxBytes, stopAboveFiles: limits.maxFiles });
const isOver = (size: TreeSize, limits: TreeLimits) =>
  size.bytes > limits.maxBytes || size.files > limits.maxFiles;

/**
 * How git runs ssh. OpenSSH takes the home folder from the passwd entry, not from HOME: without
 * these options the service user's ~/.ssh/config, keys and known_hosts would be used, and any
 * organization could clone what only the operator's key may read. So: no configuration file, no
 * agent, no key but the deployment's own, and the platform's own known_hosts (first contact
 * accepted and recorded, a changed key refused). Every argument is the platform's (paths it
 * made), each quoted for the shell git runs the command with; the host and path come after, from
 * git, as separate arguments.
 */
async function sshEnvironment(home: string, options: CloneOptions): Promise<NodeJS.ProcessEnv> {
  let identity = "none";
  if (options.sshKey !== undefined) {
    identity = join(home, "ssh-key");
    const pem = options.sshKey.privateKeyPem.replace(/\r\n/g, "\n");
    await writeFile(identity, pem.endsWith("\n") ? pem : `${pem}\n`, { mode: 0o600 });
  }
  const knownHosts = options.knownHostsFile ?? join(home, "known_hosts");
  await mkdir(dirname(knownHosts), { recursive: true, mode: 0o700 });
  const args = [
    "ssh",
    "-F",
    "/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `IdentityFile=${identity}`,
    "-o",
    "IdentityAgent=none",
    "-o",
    "CertificateFile=none",
    "-o",
    "PKCS11Provider=none",
    "-o",
    "ForwardAgent=no",
    "-o",
    "ForwardX11=no",
    "-o",
    "ClearAllForwardings=yes",
    "-o",
    "PermitLocalCommand=no",
    "-o",
    "ProxyCommand=none",
    "-o",
    "ControlMaster=no",
    "-o",
    "ControlPath=none",
    "-o",
    "PasswordAuthentication=no",
    "-o",
    "KbdInteractiveAuthentication=no",
    "-o",
    "HostbasedAuthentication=no",
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "UpdateHostKeys=no",
    "-o",
    "ConnectTimeout=30",
  ];
  return { GIT_SSH_COMMAND: args.map(shellQuote).join(" "), GIT_SSH_VARIANT: "ssh" };
}

/** One shell word holding exactly `text`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * The https credential, out of the URL and of git's arguments: git asks an askpass helper, which
 * answers only for the repository's own origin (a redirect to another host gets nothing) and
 * reads the values from its environment.
 */
async function askpassEnvironment(
  home: string,
  repo: string,
  credential: HttpCredential | undefined,
): Promise<NodeJS.ProcessEnv> {
  if (credential === undefined) return {};
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    throw invalidArgument("a git credential is for https repositories only");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalidArgument("a git credential is for https repositories only");
  }
  const origin = `${url.protocol}//${url.host}`;
  const helper = join(home, "askpass");
  await writeFile(helper, ASKPASS_SCRIPT, { mode: 0o700 });
  await chmod(helper, 0o700);
  return {
    GIT_ASKPASS: helper,
    OBIENTE_GIT_USERNAME_PROMPT: `Username for '${origin}': `,
    // git names the user in its second question when there is one.
    OBIENTE_GIT_PASSWORD_PROMPT:
      credential.username === ""
        ? `Password for '${origin}': `
        : `Password for '${url.protocol}//${credential.username}@${url.host}': `,
    OBIENTE_GIT_USERNAME: credential.username,
    OBIENTE_GIT_PASSWORD: credential.password,
  };
}

/** Compares git's whole prompt with the expected ones: the values never reach the shell's parser. */
const ASKPASS_SCRIPT = `#!/bin/sh
if [ "$1" = "$OBIENTE_GIT_USERNAME_PROMPT" ]; then printf '%s\\n' "$OBIENTE_GIT_USERNAME"; exit 0; fi
if [ "$1" = "$OBIENTE_GIT_PASSWORD_PROMPT" ]; then printf '%s\\n' "$OBIENTE_GIT_PASSWORD"; exit 0; fi
exit 1
`;

/** Measures the checkout every so often while git writes it, and stops git past a limit. */
function watchSize(
  dir: string,
  limits: TreeLimits,
  onTooLarge: (size: TreeSize) => void,
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    measure(dir, limits)
      .then((size) => {
        if (isOver(size, limits)) onTooLarge(size);
      })
      // A failed measurement while git works is not fatal: the check after the clone decides.
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, SIZE_CHECK_INTERVAL_MS);
  return () => clearInterval(timer);
}

interface WantedCommit {
  repo: string;
  branch: string;
  commit: string;
}

/** Why the wanted commit could not be fetched, for a person; the transport's failures as cloneError's. */
function fetchError(stderr: string[], { repo, branch, commit }: WantedCommit): DomainError {
  const text = stderr.join("\n");
  const short = commit.slice(0, 7);
  // Protocol v2 serves any object the server holds: this one is not there (any more).
  if (/not our ref|couldn't find remote ref/i.test(text)) {
    return failedPrecondition(
      `commit ${short} is not on branch ${branch} any more (was the branch force-pushed?)`,
    );
  }
  // Protocol v0 without uploadpack.allowReachableSHA1InWant serves the advertised heads alone, so
  // this says as much for a commit the server has as for one it lacks.
  if (/does not allow request for unadvertised object/i.test(text)) {
    return failedPrecondition(
      `commit ${short} is not the head of branch ${branch} any more, and ${repo} serves only the heads of branches: it cannot be built (was the branch pushed to or force-pushed since?)`,
    );
  }
  return cloneError(stderr, { repo, branch }, `git fetch of commit ${short} from ${repo}`);
}

function checkoutError(stderr: string[], { repo, commit }: WantedCommit): DomainError {
  const short = commit.slice(0, 7);
  // The server handed out a tree or a blob of that name.
  if (/non-commit|is not a tree|not a commit/i.test(stderr.join("\n"))) {
    return failedPrecondition(`${short} is not a commit of ${repo}`);
  }
  return new DomainError(
    "internal",
    `git checkout of commit ${short} failed: ${lastMeaningful(stderr)}`,
  );
}

/** Turns git's stderr into an error a person can act on. */
function cloneError(
  stderr: string[],
  { repo, branch }: { repo: string; branch: string },
  what = `git clone of ${repo}`,
) {
  const text = stderr.join("\n");
  if (/Remote branch .* not found in upstream|Could not find remote branch/.test(text)) {
    return failedPrecondition(`branch '${branch}' does not exist in ${repo}`);
  }
  const transport = /transport '([^']+)' not allowed/.exec(text);
  if (transport) {
    return invalidArgument(
      `git_repo uses the ${transport[1]} protocol, which is not allowed here (allowed: https, ssh, git)`,
    );
  }
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text)) {
    return failedPrecondition(
      `the ssh host key of ${repo} is not the one recorded at the first clone from it (the platform's known_hosts): if the server's key really changed, the operator removes its line from DATA_DIR/ssh/known_hosts`,
    );
  }
  if (
    /Could not resolve host|Could not resolve hostname|Failed to connect|Couldn't connect|Connection refused|Connection timed out|Operation timed out|Network is unreachable|No route to host|unable to connect|Connection reset|SSL certificate problem|server certificate verification failed/i.test(
      text,
    )
  ) {
    return unavailable(`repository ${repo} is unreachable: ${lastMeaningful(stderr)}`);
  }
  if (
    /does not appear to be a git repository|repository '.*' not found|Repository not found|not found|Authentication failed|could not read Username|could not read Password|terminal prompts disabled|Permission denied|Could not read from remote repository/i.test(
      text,
    )
  ) {
    return failedPrecondition(
      `repository ${repo} was not found, or it needs credentials this platform does not have`,
    );
  }
  return unavailable(`${what} failed: ${lastMeaningful(stderr)}`);
}

/** The most telling line of git's output: the first fatal error, without git's prefixes. */
function lastMeaningful(stderr: string[]): string {
  const lines = stderr.map((line) => line.trim()).filter((line) => line.length > 0);
  const fatal = lines.find((line) => line.startsWith("fatal:") || line.startsWith("error:"));
  const line = fatal ?? lines[lines.length - 1] ?? "no message from git";
  return line
    .replace(/^(?:fatal|error):\s*/, "")
    .replace(/^unable to access '[^']*':\s*/, "")
    .slice(0, 300);
}

interface RunOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  timeoutMessage: string;
  signal?: AbortSignal | undefined;
  onStderrLine?: LogSink | undefined;
  /** Starts watching the run; calls stop to end it with an error; returns how to stop watching. */
  watch?: (stop: (error: DomainError) => void) => () => void;
}

interface RunResult {
  code: number | null;
  stdout: string;
  /** The last lines of stderr. */
  stderr: string[];
}

const MAX_STDOUT = 64 * 1024;
const STDERR_TAIL = 50;
const MAX_STDERR_LINE = 2_048;

/**
 * Runs git in its own process group, so that a time limit, an abort or the size watch kill git
 * and every helper it started (remote-https, index-pack, ssh). Resolves once all of them are gone.
 */
function runGit(args: string[], options: RunOptions): Promise<RunResult> {
  const { signal } = options;
  const log = guardLog(options.onStderrLine);
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stopped: DomainError | undefined;
    let settled = false;
    const stop = (error: DomainError) => {
      if (stopped !== undefined || settled) return;
      stopped = error;
      killGroup(child.pid);
    };
    const timer = setTimeout(
      () => stop(new DomainError("deadline_exceeded", options.timeoutMessage)),
      options.timeoutMs,
    );
    const onAbort = () => stop(stopReason(signal as AbortSignal));
    signal?.addEventListener("abort", onAbort, { once: true });
    const unwatch = options.watch?.(stop);

    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      if (stdout.length < MAX_STDOUT) stdout += chunk;
    });

    const stderr: string[] = [];
    // A remote's messages reach stderr too ("remote: …"): lines are cut, and only the last few kept.
    const lines = new LineSplitter(MAX_STDERR_LINE);
    const emit = (line: string) => {
      const shown = redactUrl(line);
      stderr.push(shown);
      if (stderr.length > STDERR_TAIL) stderr.shift();
      // "Cloning into '<work folder>'..." would only show the server's paths to the user.
      if (shown.trim().length > 0 && !shown.startsWith("Cloning into")) log(shown);
    };
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      // Progress lines end in a carriage return.
      for (const line of lines.lines(chunk.replace(/\r(?!\n)/g, "\n"))) emit(line);
    });

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      unwatch?.();
      outcome();
    };
    child.on("error", (error) => {
      killGroup(child.pid);
      finish(() => reject(unavailable(`could not run git: ${error.message}`, error)));
    });
    child.on("close", (code) => {
      const last = lines.flush();
      if (last !== undefined) emit(last);
      finish(() => {
        if (stopped !== undefined) reject(stopped);
        else resolve({ code, stdout, stderr });
      });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
