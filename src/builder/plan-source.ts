/**
 * A checkout's plan and build context: the deployment's root directory and Dockerfile found
 * (and checked) in the checkout, its files read, the plan decided, and the context packed with
 * the files the plan adds. The builder, the PlanBuild RPC and `obiente plan` all go through
 * `planCheckout`, so that what is shown is what is built.
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { failedPrecondition } from "../domain/index.js";
import type { DetectOptions } from "./base-images.js";
import { type BuildContext, type ExtraFile, packContext } from "./context.js";
import { detectBuild } from "./detect.js";
import { type BuildPlan, CA_BUNDLE_FILE, GENERATED_DOCKERFILE } from "./plan.js";
import { readSourceTree } from "./read-source.js";
import {
  dockerfilePath as validDockerfilePath,
  rootDirectory as validRootDirectory,
} from "./source-path.js";
import { MAX_READ_BYTES } from "./source-tree.js";

export interface SourceSelection {
  /** The build context inside the repository ("" or absent: its root). */
  rootDirectory?: string | undefined;
  /** The Dockerfile, from the repository's root; absent: the context's own, or a generated one. */
  dockerfilePath?: string | undefined;
}

export interface CheckoutPlan {
  plan: BuildPlan;
  /** The folder that is the build context. */
  contextDir: string;
}

export async function planCheckout(
  checkout: string,
  selection: SourceSelection,
  options: DetectOptions,
): Promise<CheckoutPlan> {
  const root = validRootDirectory(selection.rootDirectory ?? "");
  const dockerfile = validDockerfilePath(selection.dockerfilePath ?? "");
  const contextDir = root === "" ? checkout : join(checkout, root);
  if (root !== "") await expectInside(checkout, root, "folder", "root_directory");

  let own: { path: string; contents: string; contextPath?: string } | undefined;
  if (dockerfile !== "") {
    await expectInside(checkout, dockerfile, "file", "dockerfile_path");
    const stats = await lstat(join(checkout, dockerfile));
    if (stats.size > MAX_READ_BYTES)
      throw failedPrecondition(`dockerfile_path "${dockerfile}" is over 1 MB`);
    const inside =
      root === ""
        ? dockerfile
        : dockerfile.startsWith(`${root}/`)
          ? dockerfile.slice(root.length + 1)
          : undefined;
    own = {
      path: dockerfile,
      contents: await readFile(join(checkout, dockerfile), "utf8"),
      ...(inside === undefined ? {} : { contextPath: inside }),
    };
  }
  const plan = detectBuild(
    { tree: await readSourceTree(contextDir), dockerfile: own, rootDirectory: root },
    options,
  );
  return { plan, contextDir };
}

/**
 * The context for Docker's build API: the context folder, with the Dockerfile the plan uses
 * (written by the builder, or the deployment's from outside the root directory), the files the
 * plan adds and, for generated Dockerfiles, the CA bundle their build stages trust.
 */
export function packPlan(
  { plan, contextDir }: CheckoutPlan,
  caBundle: string | undefined,
): Promise<BuildContext> {
  const extraFiles: ExtraFile[] = plan.files.map((file) => ({
    name: file.path,
    contents: file.contents,
  }));
  if (plan.dockerfilePath === GENERATED_DOCKERFILE) {
    extraFiles.push({ name: GENERATED_DOCKERFILE, contents: plan.dockerfile });
  }
  if (plan.generated && caBundle !== undefined)
    extraFiles.push({ name: CA_BUNDLE_FILE, contents: caBundle });
  return packContext({ dir: contextDir, extraFiles, alwaysInclude: [plan.dockerfilePath] });
}

/** Each segment an entry of its kind, none a symlink: the path stays inside the checkout. */
async function expectInside(
  checkout: string,
  path: string,
  kind: "folder" | "file",
  field: string,
): Promise<void> {
  const segments = path.split("/");
  for (let i = 1; i <= segments.length; i++) {
    const partial = segments.slice(0, i).join("/");
    let stats: Awaited<ReturnType<typeof lstat>>;
    try {
      stats = await lstat(join(checkout, partial));
    } catch (error) {
      if (
        (error as NodeJS.ErrnoException).code === "ENOENT" ||
        (error as NodeJS.ErrnoException).code === "ENOTDIR"
      ) {
        throw failedPrecondition(`${field} "${path}" does not exist in the repository`);
      }
      throw error;
    }
    if (stats.isSymbolicLink())
      throw failedPrecondition(`${field} "${path}" goes through the symlink ${partial}`);
    const last = i === segments.length;
    const expected = last && kind === "file" ? stats.isFile() : stats.isDirectory();
    if (!expected)
      throw failedPrecondition(`${field} "${path}": ${partial} is not a ${last ? kind : "folder"}`);
  }
}
