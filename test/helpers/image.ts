/**
 * Builds the repository's Dockerfile through the local engine, without a registry inside the
 * build: the context is a tar of the repository's files (tracked and untracked, as git sees them,
 * so that ignored files such as dist, web/dist and .obiente stay out) plus a node_modules
 * installed here by `npm ci` from the lockfile (npm's cache, or the registry that answers this
 * machine but not the build's containers; devDependencies included, which the image's build
 * stage compiles with and then prunes), built with `--build-arg DEPS=context`.
 * The context is streamed to `docker build -`.
 */
import { execFile, spawn } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface BuildOptions {
  tag: string;
  /** A node_modules folder to put in the context (installModules()). */
  modules: string;
  buildArgs: Record<string, string>;
  timeoutMs: number;
}

export interface BuildResult {
  /** The image's content id (sha256:…). */
  id: string;
  /** The builder's output, for failure messages. */
  log: string;
}

/** The repository's files as git lists them, without node_modules (added from the install). */
async function contextFiles(): Promise<string[]> {
  const { stdout } = await run(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--deduplicate"],
    { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split("\0")
    .filter((file) => file.length > 0 && file !== "node_modules" && file !== ".dockerignore")
    .filter((file) => !file.startsWith("node_modules/"));
}

export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const files = await contextFiles();
  // Archived under the name node_modules, keeping the links inside it (.bin) as links.
  const modules = realpathSync(options.modules);
  const tarArgs = [
    "-c",
    "-f",
    "-",
    "--null",
    "-C",
    REPO_ROOT,
    "-T",
    "-",
    "-C",
    dirname(modules),
    `--transform=s,^${basename(modules)}\\(/\\|$\\),node_modules\\1,`,
    basename(modules),
  ];
  const args = ["build", "-t", options.tag, "-f", "Dockerfile"];
  for (const [key, value] of Object.entries(options.buildArgs)) {
    args.push("--build-arg", `${key}=${value}`);
  }
  args.push("-");

  const tar = spawn("tar", tarArgs, { stdio: ["pipe", "pipe", "pipe"] });
  const docker = spawn("docker", args, { stdio: ["pipe", "pipe", "pipe"] });
  tar.stdin.end(`${files.join("\0")}\0`);
  tar.stdout.pipe(docker.stdin);
  let log = "";
  let tarErrors = "";
  docker.stdout.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  docker.stderr.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  tar.stderr.on("data", (chunk: Buffer) => {
    tarErrors += chunk.toString();
  });
  const timer = setTimeout(() => docker.kill("SIGTERM"), options.timeoutMs);
  try {
    const [tarCode, dockerCode] = await Promise.all([exitCode(tar), exitCode(docker)]);
    if (tarCode !== 0) throw new Error(`tar exited ${tarCode}: ${tarErrors}`);
    if (dockerCode !== 0)
      throw new Error(`docker build exited ${dockerCode}:\n${log.slice(-4000)}`);
  } finally {
    clearTimeout(timer);
  }
  const { stdout } = await run("docker", ["image", "inspect", "-f", "{{.Id}}", options.tag]);
  return { id: stdout.trim(), log };
}

function exitCode(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
}

/** `docker …` with its stdout, trimmed; throws with stderr on failure. */
export async function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run("docker", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

export interface InstalledModules {
  /** The node_modules folder. */
  dir: string;
  remove(): void;
}

/**
 * `npm ci --ignore-scripts` of this repository's lockfile, in a folder of its own: what the
 * Dockerfile's build stage installs with DEPS=npm.
 */
export async function installModules(timeoutMs: number): Promise<InstalledModules> {
  const root = mkdtempSync(join(tmpdir(), "obiente-modules-"));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    copyFileSync(join(REPO_ROOT, "package.json"), join(root, "package.json"));
    copyFileSync(join(REPO_ROOT, "package-lock.json"), join(root, "package-lock.json"));
    await run("npm", ["ci", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], {
      cwd: root,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { dir: join(root, "node_modules"), remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** Every native add-on (`*.node`) under a folder, following the symlinked node_modules. */
function nativeAddons(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) nativeAddons(path, found);
    else if (entry.isFile() && entry.name.endsWith(".node")) found.push(path);
  }
  return found;
}

/**
 * A base image for the build: `from` (a minimal image with only node's own libraries, like
 * obiente-test/node) plus the shared libraries the installed native add-ons link against (rollup's
 * librt, for the web build), copied from this machine at the same paths. Official node images
 * have them already. Returns the new image's tag; remove it after use.
 */
export async function buildBaseWithAddonLibraries(
  from: string,
  tag: string,
  modules: string,
): Promise<string> {
  const libraries = new Set<string>();
  for (const addon of nativeAddons(modules)) {
    const listed = await run("ldd", [addon]).then(
      (r) => r.stdout,
      () => "", // a musl build on a glibc machine: not loadable here, not needed
    );
    for (const match of listed.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) {
      if (match[1] && statSync(match[1], { throwIfNoEntry: false })?.isFile()) {
        libraries.add(match[1]);
      }
    }
  }
  const context = mkdtempSync(join(tmpdir(), "obiente-base-"));
  try {
    for (const library of libraries) {
      const target = join(context, "rootfs", library);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(realpathSync(library), target);
    }
    writeFileSync(join(context, "Dockerfile"), `FROM ${from}\nCOPY rootfs/ /\n`);
    await run("docker", ["build", "-q", "-t", tag, context], { timeout: 120_000 });
    return tag;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}
