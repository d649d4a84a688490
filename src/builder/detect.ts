/**
 * Decides how to build a repository from what sits at its root: its own Dockerfile, or a Dockerfile
 * the builder writes for the stack it recognises (Node.js, static site). Pure: the caller lists the
 * files and parses package.json.
 */
import { failedPrecondition, invalidArgument } from "../domain/errors.js";

export type BuildKind = "dockerfile" | "node" | "static";

/** The port generated images listen on (and tell the app through $PORT). */
export const APP_PORT = 8080;
/** The name the generated Dockerfile gets in the build context. */
export const GENERATED_DOCKERFILE = "Dockerfile.obiente";
export const DEFAULT_STATIC_ROOT = "/www";

export interface DetectOptions {
  /** Base image of generated Node.js Dockerfiles (node and npm on its PATH), e.g. node:20-alpine. */
  nodeImage: string;
  /** Base image of generated static-site Dockerfiles, e.g. busybox. */
  staticImage: string;
  /**
   * The static image's command, exec form, serving `staticRoot` on `staticPort`. Defaults to
   * `busybox httpd -f -p <port> -h <root>`; an nginx or caddy image needs its own.
   */
  staticCommand?: readonly string[] | undefined;
  /** Where the site's files are copied in the static image. Default /www. */
  staticRoot?: string | undefined;
  /** The port the static command listens on. Default 8080. */
  staticPort?: number | undefined;
}

export interface DetectInput {
  /** Names of the entries at the repository's root. */
  files: readonly string[];
  /** package.json, parsed, when the root has one. */
  packageJson?: unknown;
}

export type BuildPlan =
  | {
      kind: "dockerfile";
      /** The repository's Dockerfile, by its name in the build context. */
      dockerfileName: string;
      /** The port to assume when the image exposes none. */
      port: number;
    }
  | {
      kind: "node" | "static";
      dockerfileName: typeof GENERATED_DOCKERFILE;
      /** The Dockerfile the builder wrote. */
      dockerfile: string;
      port: number;
    };

export function defaultStaticCommand(root: string, port: number): string[] {
  return ["busybox", "httpd", "-f", "-p", String(port), "-h", root];
}

export function detectBuild(input: DetectInput, options: DetectOptions): BuildPlan {
  const files = new Set(input.files);
  // Docker's own lookup: Dockerfile, then dockerfile.
  const own = ["Dockerfile", "dockerfile"].find((name) => files.has(name));
  if (own !== undefined) return { kind: "dockerfile", dockerfileName: own, port: APP_PORT };
  if (files.has("package.json")) {
    return {
      kind: "node",
      dockerfileName: GENERATED_DOCKERFILE,
      dockerfile: nodeDockerfile(files, input.packageJson, options.nodeImage),
      port: APP_PORT,
    };
  }
  if (files.has("index.html")) {
    const port = options.staticPort ?? APP_PORT;
    return {
      kind: "static",
      dockerfileName: GENERATED_DOCKERFILE,
      dockerfile: staticDockerfile(options, port),
      port,
    };
  }
  throw failedPrecondition(
    "cannot tell how to build this repository: its root has no Dockerfile, no package.json (Node.js) and no index.html (static site)",
  );
}

interface PackageJson {
  scripts: Record<string, unknown>;
  main: unknown;
}

function nodeDockerfile(files: Set<string>, packageJson: unknown, image: string): string {
  const pkg = asPackageJson(packageJson);
  const hasScript = (name: string) => typeof pkg.scripts[name] === "string";
  const lockfiles = ["package-lock.json", "npm-shrinkwrap.json"].filter((name) => files.has(name));
  const manifests = files.has("npm-shrinkwrap.json")
    ? "package*.json npm-shrinkwrap.json"
    : "package*.json";
  const install = lockfiles.length > 0 ? "npm ci" : "npm install";
  return [
    "# Written by Obiente Cloud for a Node.js app (package.json).",
    `FROM ${imageReference("node image", image)}`,
    "WORKDIR /app",
    // Builds stay offline-friendly and quiet: no update check against the registry.
    "ENV NPM_CONFIG_UPDATE_NOTIFIER=false",
    // Dependencies first, so that the install layer is reused while they do not change.
    `COPY ${manifests} ./`,
    `RUN ${install} --no-audit --no-fund`,
    "COPY . .",
    ...(hasScript("build") ? ["RUN npm run build"] : []),
    `ENV NODE_ENV=production PORT=${APP_PORT}`,
    `EXPOSE ${APP_PORT}`,
    `CMD ${JSON.stringify(nodeCommand(files, pkg, hasScript("start")))}`,
    "",
  ].join("\n");
}

function nodeCommand(files: Set<string>, pkg: PackageJson, hasStart: boolean): string[] {
  if (hasStart) return ["npm", "start"];
  if (typeof pkg.main === "string" && pkg.main.trim().length > 0) return ["node", pkg.main.trim()];
  // What npm start itself falls back to, then node's own default entry point.
  for (const entry of ["server.js", "index.js"]) {
    if (files.has(entry)) return ["node", entry];
  }
  throw failedPrecondition(
    'package.json has no "start" script and no "main", and there is no server.js or index.js: add a start script that runs the app',
  );
}

function asPackageJson(value: unknown): PackageJson {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw failedPrecondition("package.json must hold a JSON object");
  }
  const record = value as Record<string, unknown>;
  const scripts = record.scripts ?? {};
  if (typeof scripts !== "object" || scripts === null || Array.isArray(scripts)) {
    throw failedPrecondition('package.json "scripts" must be an object');
  }
  return { scripts: scripts as Record<string, unknown>, main: record.main };
}

function staticDockerfile(options: DetectOptions, port: number): string {
  const root = options.staticRoot ?? DEFAULT_STATIC_ROOT;
  if (!/^\/[A-Za-z0-9._/-]*$/.test(root)) {
    throw invalidArgument(`static root "${root}" must be an absolute path of plain characters`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw invalidArgument(`static port ${port} must be between 1 and 65535`);
  }
  const command = options.staticCommand ?? defaultStaticCommand(root, port);
  if (command.length === 0) throw invalidArgument("the static command must not be empty");
  return [
    "# Written by Obiente Cloud for a static site (index.html).",
    `FROM ${imageReference("static image", options.staticImage)}`,
    `COPY . ${root}`,
    `EXPOSE ${port}`,
    // Exec form: JSON strings cannot break out of the line.
    `CMD ${JSON.stringify(command)}`,
    "",
  ].join("\n");
}

/** An image reference as it may appear after FROM: one word of the characters references use. */
function imageReference(what: string, value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(value)) {
    throw invalidArgument(`${what} "${value}" is not a valid image reference`);
  }
  return value;
}
