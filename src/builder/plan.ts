/**
 * A build plan: how a source tree is turned into an image, written so that a person can read it
 * before anything is built (`obiente plan`, the PlanBuild RPC) and the builder follows it to the
 * letter (the same plan, the same Dockerfile).
 */

/** What the image runs: the repository's own Dockerfile, or one the builder wrote for a stack. */
export type BuildKind = "dockerfile" | "node" | "static" | "python" | "go";

/** The port generated images listen on (and tell the app through $PORT). */
export const APP_PORT = 8080;

/**
 * The folder of the files the builder adds to the build context (its Dockerfile, the static
 * server's configuration, the build's CA bundle). Generated build stages remove it after copying
 * the sources, so that none of it reaches an image.
 */
export const GENERATED_DIR = ".obiente-build";
export const GENERATED_DOCKERFILE = `${GENERATED_DIR}/Dockerfile`;
/** Where BUILD_CA_BUNDLE goes in the context. */
export const CA_BUNDLE_FILE = `${GENERATED_DIR}/ca.pem`;

/** One decision and the file that made it, e.g. `package-lock.json`: "npm lockfile: npm ci". */
export interface PlanReason {
  /** The file (or setting) that decided, relative to the build context; "" for a default. */
  file: string;
  detail: string;
}

export interface PlanFile {
  /** Its path in the build context, under GENERATED_DIR. */
  path: string;
  contents: string;
}

export interface BuildPlan {
  kind: BuildKind;
  /** What was recognised, for people: "Vite (static output)", "Django", "Next.js (standalone)". */
  stack: string;
  /** Why, file by file, in the order the decisions were made. */
  reasons: PlanReason[];
  /** The Dockerfile the build uses, as it will be used. */
  dockerfile: string;
  /**
   * Its path in the build context: the repository's own (e.g. `Dockerfile`, `docker/web`), or
   * GENERATED_DOCKERFILE.
   */
  dockerfilePath: string;
  /** Whether the builder wrote the Dockerfile (and so also owns the files below). */
  generated: boolean;
  /** Files the builder adds to the context, besides a generated Dockerfile. */
  files: PlanFile[];
  /** The port to route to when the image exposes none (generated images expose this one). */
  port: number;
  /** What the container runs, exec form; empty for the repository's own Dockerfile. */
  command: string[];
}

/** The plan as text for a terminal: the stack, the reasons, then the Dockerfile. */
export function formatPlan(plan: BuildPlan): string {
  const lines = [`stack: ${plan.stack}`, "reasons:"];
  for (const reason of plan.reasons) {
    lines.push(`  - ${reason.file === "" ? "" : `${reason.file}: `}${reason.detail}`);
  }
  if (plan.command.length > 0) lines.push(`runs: ${JSON.stringify(plan.command)}`);
  lines.push(`port: ${plan.port}`);
  lines.push(
    plan.generated
      ? "Dockerfile (written by the builder):"
      : `Dockerfile (the repository's own, ${plan.dockerfilePath}):`,
  );
  lines.push(
    ...plan.dockerfile
      .replace(/\n$/, "")
      .split("\n")
      .map((line) => `  ${line}`),
  );
  for (const file of plan.files) {
    lines.push(`${file.path}:`);
    lines.push(
      ...file.contents
        .replace(/\n$/, "")
        .split("\n")
        .map((line) => `  ${line}`),
    );
  }
  return `${lines.join("\n")}\n`;
}
