/**
 * Pieces every generated Dockerfile shares. Generated Dockerfiles never use `ADD` (no URL is ever
 * fetched by the engine) and hold no value from a repository outside a JSON string (exec form)
 * or a path checked by `contextPath`.
 */
import { failedPrecondition } from "../domain/index.js";
import { CA_BUNDLE_FILE, GENERATED_DIR } from "./plan.js";

/** The first line: what the file is and where its reasons are. */
export function header(stack: string): string {
  return `# Written by Obiente Cloud for ${oneLine(stack)}: \`obiente plan\` shows why.`;
}

/** Exec form: a JSON array of strings, which no newline or quote can break out of. */
export function execForm(command: readonly string[]): string {
  return JSON.stringify(command);
}

/** Where the build stage keeps the CA bundle (outside /app, so that no COPY takes it along). */
const CA_DIR = "/usr/local/share/obiente-build";

/**
 * Lines that make a build stage trust BUILD_CA_BUNDLE: Node.js adds it to its roots
 * (NODE_EXTRA_CA_CERTS); tools that take one bundle (pip, requests, curl, git, Go, uv) get the
 * system's roots with it appended. Build stages only: the final stage starts from a fresh base,
 * so neither the file nor the variables reach the image the app runs in.
 */
export function caBundleLines(enabled: boolean): string[] {
  if (!enabled) return [];
  const extra = `${CA_DIR}/ca.pem`;
  const all = `${CA_DIR}/all.pem`;
  return [
    `COPY ${CA_BUNDLE_FILE} ${extra}`,
    `RUN cat /etc/ssl/certs/ca-certificates.crt ${extra} > ${all} 2>/dev/null || cp ${extra} ${all}`,
    envLine({
      NODE_EXTRA_CA_CERTS: extra,
      SSL_CERT_FILE: all,
      PIP_CERT: all,
      REQUESTS_CA_BUNDLE: all,
      CURL_CA_BUNDLE: all,
      GIT_SSL_CAINFO: all,
    }),
  ];
}

/** One ENV instruction, a variable per line. */
export function envLine(env: Record<string, string>): string {
  return `ENV ${Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join(" \\\n    ")}`;
}

/** After `COPY . .`: the builder's own files leave the sources before anything can copy them. */
export const REMOVE_GENERATED = `RUN rm -rf ${GENERATED_DIR}`;

/**
 * A path from a repository's configuration (an output folder, a start file), for a COPY line:
 * relative, plain characters, no `..`. Anything else is refused with what was found.
 */
export function contextPath(value: string, what: string, file: string): string {
  const cleaned = value.replace(/^\.\//, "").replace(/\/+$/, "");
  const segments = cleaned.split("/");
  if (
    cleaned.length === 0 ||
    cleaned.length > 200 ||
    !/^[A-Za-z0-9._@+-]+(?:\/[A-Za-z0-9._@+-]+)*$/.test(cleaned) ||
    segments.some((segment) => segment === "." || segment === "..")
  ) {
    throw failedPrecondition(
      `${file}: ${what} "${oneLine(value).slice(0, 80)}" is not a plain relative path inside the repository`,
    );
  }
  return cleaned;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
