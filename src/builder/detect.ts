/**
 * Decides how to build a source tree: the repository's own Dockerfile, or a Dockerfile written
 * for the stack recognised — Node.js (servers, and frameworks whose build is a static site),
 * Python, Go, a plain static site. Pure: files in, plan out; read-source.ts reads the files.
 *
 * The order, each step with the files that decide it:
 *   1. a Dockerfile: the deployment's dockerfile_path, else Dockerfile / dockerfile at the root
 *   2. package.json: Node.js (a Python app with Node.js tooling only goes on to 3)
 *   3. requirements.txt, pyproject.toml, Pipfile, manage.py: Python
 *   4. go.mod: Go
 *   5. index.html at the root, in public/ or in dist/: a static site
 * A Procfile's web: line, when there is one, is how 2–4 start.
 */
import { DomainError, failedPrecondition } from "../domain/index.js";
import {
  baseImage,
  DEFAULT_IMAGES,
  DEFAULT_NODE_MAJOR,
  type DetectOptions,
} from "./base-images.js";
import { analyzeGo } from "./detect-go.js";
import { analyzeNode } from "./detect-node.js";
import { analyzePython, PYTHON_MARKERS } from "./detect-python.js";
import { goDockerfile } from "./dockerfile-go.js";
import { header } from "./dockerfile-lines.js";
import { nodeDockerfile } from "./dockerfile-node.js";
import { pythonDockerfile } from "./dockerfile-python.js";
import { caddyfileOf, STATIC_COMMAND, staticStage } from "./dockerfile-static.js";
import {
  APP_PORT,
  type BuildPlan,
  GENERATED_DIR,
  GENERATED_DOCKERFILE,
  type PlanReason,
} from "./plan.js";
import { webCommand } from "./procfile.js";
import type { SourceTree } from "./source-tree.js";

export type { DetectOptions } from "./base-images.js";

export interface DetectInput {
  /** The build context: the repository's root, or the deployment's root directory. */
  tree: SourceTree;
  /**
   * The deployment's dockerfile_path, read: its path as the deployment names it (from the
   * repository's root), its text, and its path in the build context when it lies inside it.
   */
  dockerfile?: { path: string; contents: string; contextPath?: string | undefined } | undefined;
  /** The deployment's root directory, when the context is not the repository's root: for messages. */
  rootDirectory?: string | undefined;
}

export function detectBuild(input: DetectInput, options: DetectOptions): BuildPlan {
  const { tree } = input;
  const files = new Set(tree.files);
  const reasons: PlanReason[] = [];

  if (input.dockerfile !== undefined) {
    const { path, contents, contextPath } = input.dockerfile;
    return ownDockerfile(contextPath ?? GENERATED_DOCKERFILE, contents, [
      {
        file: path,
        detail: `the deployment's dockerfile_path${contextPath === undefined ? " (outside the root directory: sent with the context)" : ""}`,
      },
    ]);
  }
  // Docker's own lookup: Dockerfile, then dockerfile.
  const own = ["Dockerfile", "dockerfile"].find((name) => files.has(name));
  if (own !== undefined) {
    return ownDockerfile(own, tree.contents.get(own) ?? "", [
      { file: own, detail: "the repository's own Dockerfile: built as it is" },
    ]);
  }

  const procfile = tree.contents.get("Procfile");
  const procfileWeb = procfile === undefined ? undefined : webCommand(procfile);
  const python = PYTHON_MARKERS.filter((file) => files.has(file));

  if (files.has("package.json")) {
    try {
      return nodePlan(tree, reasons, options, procfileWeb);
    } catch (error) {
      // package.json beside a Python app's manifests and nothing Node.js can start: Python's.
      const nothingToStart =
        error instanceof DomainError && /has no "start" script/.test(error.message);
      if (!nothingToStart || python.length === 0) throw error;
      reasons.length = 0;
      reasons.push({
        file: "package.json",
        detail: "nothing Node.js can start: the Node.js tooling of a Python app",
      });
    }
  }
  if (python.length > 0) {
    reasons.push({ file: python[0] as string, detail: "a Python app" });
    const app = analyzePython(tree, reasons, { procfileWeb });
    const stack = `Python ${app.version} · ${app.framework}`;
    const image = baseImage("Python image", options.pythonImage ?? DEFAULT_IMAGES.pythonImage, {
      version: app.version,
    });
    return generated(
      "python",
      stack,
      reasons,
      pythonDockerfile(app, image, stack, options.caBundle === true),
      [],
      app.command,
    );
  }
  if (files.has("go.mod")) {
    const app = analyzeGo(tree, reasons, { procfileWeb });
    const stack = `Go ${app.version}`;
    const dockerfile = goDockerfile(
      app,
      {
        build: baseImage("Go image", options.goImage ?? DEFAULT_IMAGES.goImage, {
          version: app.version,
        }),
        runtime: baseImage(
          "Go runtime image",
          options.goRuntimeImage ?? DEFAULT_IMAGES.goRuntimeImage,
        ),
      },
      stack,
      options.caBundle === true,
      files.has("vendor/modules.txt"),
    );
    return generated("go", stack, reasons, dockerfile, [], app.command);
  }
  const site = ["index.html", "public/index.html", "dist/index.html"].find((file) =>
    files.has(file),
  );
  if (site !== undefined) {
    const dir = site === "index.html" ? "." : site.slice(0, -"/index.html".length);
    reasons.push({
      file: site,
      detail: `a static site, served from ${dir === "." ? "the root" : `${dir}/`}`,
    });
    return staticPlan(dir, reasons, options);
  }
  if (procfileWeb !== undefined) {
    throw failedPrecondition(
      "the Procfile says how to start the app, but nothing says how to build it: no package.json, requirements.txt, pyproject.toml, Pipfile or go.mod (or add a Dockerfile)",
    );
  }
  throw failedPrecondition(
    `cannot tell how to build ${input.rootDirectory ? `root_directory "${input.rootDirectory}"` : "this repository"}: it has no Dockerfile, no package.json (Node.js), no requirements.txt, pyproject.toml or Pipfile (Python), no go.mod (Go) and no index.html (static site) at its root, in public/ or in dist/`,
  );
}

function nodePlan(
  tree: SourceTree,
  reasons: PlanReason[],
  options: DetectOptions,
  procfileWeb: string | undefined,
): BuildPlan {
  const app = analyzeNode(tree, reasons, {
    defaultMajor: options.nodeMajor ?? DEFAULT_NODE_MAJOR,
    procfileWeb,
  });
  const { output } = app;
  if (output.kind === "static" && output.asIs === true)
    return staticPlan(output.dir, reasons, options);
  const bun = app.packageManager.name === "bun";
  const runtime = bun ? "Bun" : `Node.js ${app.major}`;
  const stack = `${runtime} · ${app.packageManager.name === "yarn-berry" ? "yarn (berry)" : app.packageManager.name} · ${app.framework}`;
  const build = bun
    ? baseImage("Bun image", options.bunImage ?? DEFAULT_IMAGES.bunImage)
    : baseImage("node image", options.nodeImage, { major: app.major as number });
  const { dockerfile, files } = nodeDockerfile(
    app,
    {
      build,
      static: output.kind === "static" ? baseImage("static image", options.staticImage) : "",
    },
    stack,
    options.caBundle === true,
  );
  const command = output.kind === "static" ? STATIC_COMMAND : output.command;
  return generated(
    output.kind === "static" ? "static" : "node",
    stack,
    reasons,
    dockerfile,
    files,
    command,
  );
}

/** A folder of the sources served as it is, by the static server. */
function staticPlan(dir: string, reasons: PlanReason[], options: DetectOptions): BuildPlan {
  const image = baseImage("static image", options.staticImage);
  const lines =
    dir === "."
      ? [
          // The builder's own files are in the context's root: a first stage leaves them out.
          `FROM ${image} AS site`,
          "COPY . /srv",
          `RUN rm -rf /srv/${GENERATED_DIR}`,
          "",
          ...staticStage(image, (root) => `COPY --from=site /srv ${root}`),
        ]
      : staticStage(image, (root) => `COPY ${dir}/ ${root}/`);
  const dockerfile = `${[header("a static site"), ...lines].join("\n")}\n`;
  return generated(
    "static",
    "static site",
    reasons,
    dockerfile,
    [caddyfileOf(undefined)],
    STATIC_COMMAND,
  );
}

function ownDockerfile(path: string, contents: string, reasons: PlanReason[]): BuildPlan {
  return {
    kind: "dockerfile",
    stack: "Dockerfile",
    reasons,
    dockerfile: contents,
    dockerfilePath: path,
    generated: false,
    files: [],
    port: APP_PORT,
    command: [],
  };
}

function generated(
  kind: BuildPlan["kind"],
  stack: string,
  reasons: PlanReason[],
  dockerfile: string,
  files: BuildPlan["files"],
  command: readonly string[],
): BuildPlan {
  return {
    kind,
    stack,
    reasons,
    dockerfile,
    dockerfilePath: GENERATED_DOCKERFILE,
    generated: true,
    files,
    port: APP_PORT,
    command: [...command],
  };
}
