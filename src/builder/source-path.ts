/**
 * The two paths a deployment may name inside its repository: its root directory (the build
 * context, where detection looks: a monorepo's app) and its Dockerfile. Relative to the
 * repository's root, plain characters, no `.` or `..` segment: they reach the git checkout's
 * file system and a Dockerfile line, never a shell.
 */
import { invalidArgument } from "../domain/index.js";

const SEGMENT = /^[A-Za-z0-9._@+-]+$/;
const MAX_LENGTH = 255;

/** "" for the repository's root; else "apps/web" (a leading "./" and trailing "/" dropped). */
export function rootDirectory(value: string): string {
  const path = normalize(value).replace(/\/+$/, "");
  if (path === "" || path === ".") return "";
  return check("root_directory", value, path);
}

/** "" when the deployment names none; else "docker/web.Dockerfile". */
export function dockerfilePath(value: string): string {
  const path = normalize(value);
  if (path === "") return "";
  if (path.endsWith("/"))
    throw invalidArgument(`dockerfile_path "${clip(value)}" names a folder, not a file`);
  return check("dockerfile_path", value, path);
}

function normalize(value: string): string {
  return value.trim().replace(/^(\.\/)+/, "");
}

function check(field: string, original: string, path: string): string {
  const segments = path.split("/");
  if (
    path.length > MAX_LENGTH ||
    path.startsWith("/") ||
    segments.some((segment) => !SEGMENT.test(segment) || segment === "." || segment === "..")
  ) {
    throw invalidArgument(
      `${field} "${clip(original)}" must be a path inside the repository, relative to its root: letters, digits and . _ - @ + between slashes, no "." or ".." part, at most ${MAX_LENGTH} characters`,
    );
  }
  return path;
}

function clip(value: string): string {
  const line = value.replace(/[\u0000-\u001f\u007f]/g, "?");
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
