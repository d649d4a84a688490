/**
 * The static server stage: Caddy serving a folder on $PORT, with clean URLs (`/about` finds
 * about.html or about/index.html), the site's own 404.html for missing paths, and for single-page
 * apps a fallback page for every path that matches no file (their client-side routes).
 */
import { APP_PORT, GENERATED_DIR, type PlanFile } from "./plan.js";

export const CADDYFILE = `${GENERATED_DIR}/Caddyfile`;
const SITE_ROOT = "/srv";

/** Caddy's configuration: no admin API, no automatic HTTPS (the platform's edge terminates TLS). */
export function caddyfile(fallback: string | undefined): string {
  const lookup =
    fallback === undefined
      ? "try_files {path} {path}.html {path}/index.html"
      : `try_files {path} {path}.html {path}/index.html /${fallback}`;
  return [
    "{",
    "\tadmin off",
    "\tauto_https off",
    "}",
    "",
    `:{$PORT:${APP_PORT}} {`,
    `\troot * ${SITE_ROOT}`,
    "\tencode gzip",
    `\t${lookup}`,
    "\tfile_server",
    "\thandle_errors {",
    "\t\t@missing expression `{err.status_code} == 404`",
    "\t\thandle @missing {",
    "\t\t\trewrite * /404.html",
    "\t\t\tfile_server",
    "\t\t}",
    "\t}",
    "}",
    "",
  ].join("\n");
}

/**
 * The final stage's lines: `copySite` puts the site in SITE_ROOT (from a build stage, or from the
 * context), the Caddyfile comes from the builder's files.
 */
export function staticStage(image: string, copySite: (root: string) => string): string[] {
  return [
    `FROM ${image}`,
    `COPY ${CADDYFILE} /etc/caddy/Caddyfile`,
    copySite(SITE_ROOT),
    `ENV PORT=${APP_PORT}`,
    `EXPOSE ${APP_PORT}`,
    `CMD ${JSON.stringify(STATIC_COMMAND)}`,
  ];
}

export const STATIC_COMMAND = [
  "caddy",
  "run",
  "--config",
  "/etc/caddy/Caddyfile",
  "--adapter",
  "caddyfile",
];

export function caddyfileOf(fallback: string | undefined): PlanFile {
  return { path: CADDYFILE, contents: caddyfile(fallback) };
}
