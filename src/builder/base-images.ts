/**
 * The base images of generated Dockerfiles, one per stack, configurable (NODE_BASE_IMAGE, …) so
 * that an operator can point them at a mirror and tests at local images. A template may hold a
 * placeholder the plan fills in: `{major}` (Node.js) or `{version}` (Python, Go).
 */
import { invalidArgument } from "../domain/index.js";

export interface DetectOptions {
  /** Node.js stages, `{major}` → the Node.js major version, e.g. node:{major}-bookworm-slim. */
  nodeImage: string;
  /** The static server stage: an image with Caddy 2 on its PATH, e.g. caddy:2-alpine. */
  staticImage: string;
  /** Python stages, `{version}` → e.g. 3.12. Default python:{version}-slim. */
  pythonImage?: string | undefined;
  /** The Go build stage, `{version}` → e.g. 1.23. Default golang:{version}. */
  goImage?: string | undefined;
  /** What a Go binary runs on. Default gcr.io/distroless/static-debian12. */
  goRuntimeImage?: string | undefined;
  /** Bun apps' stages. Default oven/bun:1. */
  bunImage?: string | undefined;
  /** The Node.js major version when the app names none. Default 22. */
  nodeMajor?: number | undefined;
  /** Whether the build adds a CA bundle (BUILD_CA_BUNDLE) that build stages must trust. */
  caBundle?: boolean | undefined;
}

/** The official images; what users get unless the operator configures others. */
export const DEFAULT_IMAGES = {
  nodeImage: "node:{major}-bookworm-slim",
  staticImage: "caddy:2-alpine",
  pythonImage: "python:{version}-slim",
  goImage: "golang:{version}",
  goRuntimeImage: "gcr.io/distroless/static-debian12",
  bunImage: "oven/bun:1",
} as const;

export const DEFAULT_NODE_MAJOR = 22;
export const DEFAULT_PYTHON_VERSION = "3.11";
/** The oldest Go a build uses: a go.mod that asks for less is built with this one. */
export const DEFAULT_GO_VERSION = "1.22";

/**
 * The reference after FROM, its placeholder filled in. Checked as one word of the characters
 * image references use, so that neither a setting nor a repository's file can add a line.
 */
export function baseImage(
  what: string,
  template: string,
  values: { major?: number; version?: string } = {},
): string {
  const filled = template
    .replaceAll("{major}", values.major === undefined ? "{major}" : String(values.major))
    .replaceAll("{version}", values.version ?? "{version}");
  if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(filled)) {
    throw invalidArgument(`${what} "${template}" is not a valid image reference`);
  }
  return filled;
}
