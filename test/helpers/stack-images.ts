/**
 * Every image of the production stack, built once per machine and reused by content:
 * - the services' images (deploy/images/*) by scripts/stack-images.sh, FROM the Debian base it
 *   makes from Debian's archive (scripts/base-image.sh);
 * - a Node.js base for the platform's image: that Debian base plus this machine's node and npm
 *   (the same Debian release, so the same libraries), so that the Dockerfile's apt-get step can
 *   install git for the builder;
 * - the platform's image from the repository's Dockerfile (test/helpers/image.ts: production
 *   dependencies installed here, `DEPS=context`).
 * Each is tagged with a hash of what it is built from, and not built again while that tag exists.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { buildImage, docker, installModules, REPO_ROOT } from "./image.js";

const run = promisify(execFile);

export interface StackImages {
  /** Service image (etcd, postgres, haproxy, redis, caddy, prometheus, alertmanager) → content id. */
  ids: Record<string, string>;
  /** The platform's image's content id. */
  obiente: string;
  /** The Debian base made from Debian's archive. */
  base: string;
  /** How long making sure of all of them took (about a second when they exist). */
  ms: number;
}

async function exists(tag: string): Promise<boolean> {
  return docker(["image", "inspect", "-f", "{{.Id}}", tag]).then(
    () => true,
    () => false,
  );
}

async function imageId(tag: string): Promise<string> {
  return docker(["image", "inspect", "-f", "{{.Id}}", tag]);
}

function sha(parts: Array<string | Buffer>): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex").slice(0, 16);
}

/** FROM the Debian base, this machine's node binary and npm. */
async function nodeBase(base: string): Promise<string> {
  const node = await realpath(process.execPath);
  const npmCli = await realpath(
    (await run("sh", ["-c", "command -v npm"])).stdout.trim() || "/usr/bin/npm",
  );
  const npmDir = dirname(dirname(npmCli));
  const tag = `obiente-base/node:${sha([await imageId(base), await readFile(node), npmDir, process.version])}`;
  if (await exists(tag)) return tag;
  const context = await mkdtemp(join(tmpdir(), "obiente-node-base-"));
  try {
    await mkdir(join(context, "rootfs/usr/local/bin"), { recursive: true });
    await mkdir(join(context, "rootfs/usr/local/lib/node_modules"), { recursive: true });
    await cp(node, join(context, "rootfs/usr/local/bin/node"));
    await cp(npmDir, join(context, "rootfs/usr/local/lib/node_modules/npm"), { recursive: true });
    await symlink(
      "../lib/node_modules/npm/bin/npm-cli.js",
      join(context, "rootfs/usr/local/bin/npm"),
    );
    await writeFile(
      join(context, "Dockerfile"),
      [
        `FROM ${base}`,
        "COPY rootfs/ /",
        // The official node images' user, whose uid the platform's image runs as.
        "RUN groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node",
        'CMD ["node"]',
        "",
      ].join("\n"),
    );
    await run("docker", ["build", "-q", "-t", tag, context], { timeout: 300_000 });
    return tag;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** The platform's image, tagged by the hash of the repository's files and the node base. */
async function obienteImage(nodeImage: string): Promise<string> {
  const { stdout } = await run(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--deduplicate"],
    { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  // What the image holds: the Dockerfile leaves tests, benchmarks, scripts, docs and the stack's
  // own files out (deploy/ is not read by the platform), so editing them builds nothing.
  const outside = ["node_modules", "test/", "bench/", "scripts/", "docs/", "deploy/", ".ci/"];
  const files = stdout
    .split("\0")
    .filter((f) => f.length > 0 && !outside.some((prefix) => f.startsWith(prefix)))
    .sort();
  const parts: Array<string | Buffer> = [await imageId(nodeImage)];
  for (const file of files) {
    parts.push(file);
    parts.push(await readFile(join(REPO_ROOT, file)).catch(() => Buffer.from("(missing)")));
  }
  const tag = `obiente-stack/obiente:${sha(parts)}`;
  if (await exists(tag)) return imageId(tag);
  const modules = await installModules(600_000);
  try {
    const built = await buildImage({
      tag,
      modules: modules.dir,
      buildArgs: { NODE_IMAGE: nodeImage, DEPS: "context", INSTALL_GIT: "true" },
      timeoutMs: 1_200_000,
    });
    return built.id;
  } finally {
    modules.remove();
  }
}

export async function stackImages(): Promise<StackImages> {
  const started = Date.now();
  // STACK_BASE_IMAGE: another Debian base (a fresh one builds every image from scratch, which
  // is how the cold-cache time in docs/benchmarks.md was measured).
  const base =
    process.env.STACK_BASE_IMAGE ||
    (
      await run("bash", [join(REPO_ROOT, "scripts/base-image.sh")], { timeout: 600_000 })
    ).stdout.trim();
  const { stdout } = await run(
    "bash",
    [join(REPO_ROOT, "scripts/stack-images.sh"), "--base", base],
    { timeout: 1_800_000, maxBuffer: 1024 * 1024 },
  );
  const ids: Record<string, string> = {};
  for (const line of stdout.trim().split("\n")) {
    const [name = "", , id = ""] = line.split("\t");
    ids[name] = id;
  }
  const obiente = await obienteImage(await nodeBase(base));
  return { ids, obiente, base, ms: Date.now() - started };
}
