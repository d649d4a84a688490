/**
 * The web dashboard, served by the api role on the API's own origin: the files Vite built into
 * web/dist, with a strict Content-Security-Policy, the app's paths answered with index.html (the
 * app routes in the browser), hashed assets cached for a year, and the public OIDC settings the
 * app needs to sign people in (GET /api/v1/auth/config).
 *
 * The files are read once into memory (a few hundred KB) and compressed on first request (Brotli
 * or gzip, in the thread pool). When web/dist is missing (a checkout without `npm install`'s
 * prepare step), the app is built in the background with Vite, and app paths answer 503 with a
 * page that reloads itself until it is ready.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

export interface DashboardOptions {
  /** The public OIDC settings the app signs in with; without both, only API tokens. */
  oidc?: { issuer?: string | undefined; clientId?: string | undefined; scope?: string | undefined };
  /** The built app. Default: web/dist of this repository. */
  root?: string;
  /** Build the app with Vite when `root` has no index.html. Default true. */
  buildIfMissing?: boolean;
}

/** The app's public OIDC settings, as GET /api/v1/auth/config answers them. */
export interface AuthConfigResponse {
  issuer: string | null;
  clientId: string | null;
  scope: string;
}

export const AUTH_CONFIG_PATH = "/api/v1/auth/config";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEFAULT_DASHBOARD_ROOT = join(REPO_ROOT, "web", "dist");

/** Paths that belong to the API: never answered with the app. */
const API_PATHS = /^\/(obiente\.cloud\.|grpc\.|api\/|health(\/|$)|metrics(\/|$))/;
const YEAR = 365 * 24 * 3600;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt"]);

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
  compressible: boolean;
  br?: Promise<Buffer>;
  gzip?: Promise<Buffer>;
}

/**
 * The dashboard's policy: scripts, styles, fonts and data only from this origin (and the OIDC
 * issuer, which the browser asks for its discovery document and tokens); no inline script or
 * style, no plugins, no framing, no <base>; DOM sinks (innerHTML and the like) refuse strings.
 */
export function dashboardCsp(issuer?: string): string {
  let issuerOrigin = "";
  if (issuer) {
    try {
      issuerOrigin = ` ${new URL(issuer).origin}`;
    } catch {
      issuerOrigin = "";
    }
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${issuerOrigin}`,
    "manifest-src 'self'",
    "worker-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; ");
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Reads the built app into memory, by URL path. */
export async function loadDashboardFiles(root: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  for (const path of await walk(root)) {
    const url = `/${relative(root, path).split(sep).join("/")}`;
    const ext = extname(path).toLowerCase();
    const body = await readFile(path);
    const hashed = url.startsWith("/assets/");
    files.set(url, {
      body,
      type: TYPES[ext] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      // Vite names assets after their content: they never change. index.html is checked on
      // every load, so that a new version is picked up at once.
      cacheControl: hashed
        ? `public, max-age=${YEAR}, immutable`
        : url === "/index.html"
          ? "no-cache"
          : "public, max-age=3600",
      compressible: COMPRESSIBLE.has(ext) && body.length > 512,
    });
  }
  return files;
}

/** Builds the app with Vite into `outDir`, through a temporary folder (another process may build too). */
export async function buildDashboard(outDir = DEFAULT_DASHBOARD_ROOT): Promise<void> {
  const webDir = join(REPO_ROOT, "web");
  const { build } = await import("vite");
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await build({
      root: webDir,
      configFile: join(webDir, "vite.config.ts"),
      configLoader: "runner",
      logLevel: "warn",
      build: { outDir: tmp, emptyOutDir: true },
    });
    await rename(tmp, outDir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished first: keep its build.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

const BUILDING_PAGE = Buffer.from(
  `<!doctype html><html lang="en"><meta charset="utf-8"><meta http-equiv="refresh" content="3"><title>Obiente Cloud</title><body><p>The dashboard is being built; this page reloads itself in a few seconds.</p></body></html>`,
);
const missingPage = (detail: string) =>
  Buffer.from(
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>Obiente Cloud</title><body><p>The dashboard is not built: ${escapeHtml(detail)}. Run <code>npm run build:web</code> and restart.</p></body></html>`,
  );

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}

function negotiate(req: FastifyRequest): "br" | "gzip" | undefined {
  const accept = String(req.headers["accept-encoding"] ?? "");
  if (/\bbr\b/.test(accept)) return "br";
  if (/\bgzip\b/.test(accept)) return "gzip";
  return undefined;
}

/** Registers the dashboard's routes; call from the api role's `extraRoutes`. */
export async function registerDashboard(
  app: FastifyInstance,
  options: DashboardOptions = {},
): Promise<void> {
  const root = options.root ?? DEFAULT_DASHBOARD_ROOT;
  const csp = dashboardCsp(options.oidc?.issuer);
  const authConfig: AuthConfigResponse = {
    issuer: options.oidc?.issuer && options.oidc.clientId ? options.oidc.issuer : null,
    clientId: options.oidc?.issuer && options.oidc.clientId ? options.oidc.clientId : null,
    scope: options.oidc?.scope ?? "openid email profile",
  };

  let files: Map<string, StaticFile> | undefined;
  let unavailable: Buffer | undefined;
  const load = async () => {
    files = await loadDashboardFiles(root);
    unavailable = undefined;
  };
  if (await exists(join(root, "index.html"))) {
    await load();
  } else if (options.buildIfMissing ?? true) {
    unavailable = BUILDING_PAGE;
    app.log.info({ root }, "the dashboard is not built: building it now");
    const started = Date.now();
    buildDashboard(root)
      .then(load)
      .then(() => app.log.info({ ms: Date.now() - started }, "dashboard built"))
      .catch((error: unknown) => {
        const detail =
          error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
        unavailable = missingPage(detail);
        app.log.error({ err: error }, "building the dashboard failed");
      });
  } else {
    unavailable = missingPage(`${root} has no index.html`);
  }

  app.get(AUTH_CONFIG_PATH, async (_req, reply) => {
    return reply.header("cache-control", "no-cache").send(authConfig);
  });

  const send = async (req: FastifyRequest, reply: FastifyReply, file: StaticFile, status = 200) => {
    reply
      .status(status)
      .header("content-type", file.type)
      .header("cache-control", file.cacheControl)
      .header("etag", file.etag)
      .header("content-security-policy", csp)
      .header("vary", "accept-encoding");
    if (status === 200 && req.headers["if-none-match"] === file.etag) {
      return reply.status(304).send();
    }
    let body = file.body;
    const encoding = file.compressible ? negotiate(req) : undefined;
    if (encoding === "br") {
      file.br ??= brotli(file.body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 11,
          [constants.BROTLI_PARAM_SIZE_HINT]: file.body.length,
        },
      });
      body = await file.br;
      reply.header("content-encoding", "br");
    } else if (encoding === "gzip") {
      file.gzip ??= gzipAsync(file.body, { level: 9 });
      body = await file.gzip;
      reply.header("content-encoding", "gzip");
    }
    reply.header("content-length", body.length);
    return req.method === "HEAD" ? reply.send() : reply.send(body);
  };

  app.setNotFoundHandler(async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split("?")[0] ?? "/");
    } catch {
      return reply.status(400).send({ code: "invalid_argument", message: "malformed URL" });
    }
    const isRead = req.method === "GET" || req.method === "HEAD";
    if (!isRead || API_PATHS.test(path)) {
      return reply
        .status(404)
        .send({ code: "not_found", message: `no route for ${req.method} ${path}` });
    }
    if (!files) {
      return reply
        .status(503)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("retry-after", "3")
        .header("content-security-policy", csp)
        .send(unavailable ?? BUILDING_PAGE);
    }
    const file = files.get(path);
    if (file) return send(req, reply, file);
    // A missing file (an old asset, a typo) is a 404, not the app: a script tag must not get HTML.
    if (path.startsWith("/assets/") || extname(path) !== "") {
      return reply
        .status(404)
        .header("content-type", "text/plain; charset=utf-8")
        .send("not found");
    }
    const index = files.get("/index.html");
    if (!index) return reply.status(404).send({ code: "not_found", message: "no index.html" });
    return send(req, reply, index);
  });
}
