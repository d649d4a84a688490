/**
 * Apps as people write them, built without a Dockerfile by the real builder: each project tree of
 * test/fixtures/apps (the output of the framework's own scaffolding tool, with the lockfile its
 * package manager wrote) is committed to a real git repository, built by the real Docker engine
 * from the plan detection writes, run, and must answer 200 with its own content.
 *
 * Node.js apps install their real dependencies from the npm registry during the build: on these
 * machines HTTPS from containers passes through a TLS-intercepting proxy whose CA the host trusts,
 * and BUILD_CA_BUNDLE (the host's bundle here) is how the build stages trust it. Python and Go
 * apps build offline (no package index is reachable) on base images made from Debian's archive
 * (scripts/app-test-images.sh), which carry Flask, Django, FastAPI, gunicorn, uvicorn and Go.
 *
 * Each image this file builds is removed at the end; the build stages' layers stay in the engine
 * as Docker's build cache (`noprune`), so that a second run installs nothing again.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import {
  BUILD_ID_LABEL,
  type BuildImageOptions,
  type BuiltImage,
  buildImage,
  type DetectOptions,
} from "../src/builder/index.js";
import { DomainError } from "../src/domain/errors.js";
import { eventually, requestByHost, type SimpleResponse } from "./helpers/caddy.js";
import { BUSYBOX_IMAGE, CADDY_IMAGE } from "./helpers/git-fixtures.js";
import { gitEnv } from "./helpers/repo.js";

const run = promisify(execFile);
const docker = new Dockerode();
const here = fileURLToPath(new URL(".", import.meta.url));
const FIXTURES = join(here, "fixtures", "apps");
const RUN_LABEL = "cloud.obiente.test-run";
const runId = randomUUID();
/** The trust store of the host, which holds the npm proxy's CA: BUILD_CA_BUNDLE of these builds. */
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

interface Repo {
  url: string;
  dir: string;
}

type Get = (path: string) => Promise<SimpleResponse>;

interface AppCase {
  /** The folder under test/fixtures/apps. */
  fixture: string;
  kind: BuiltImage["kind"];
  /** What the plan's reasons must name (checked in the build log). */
  planned: RegExp;
  /** Whether its build needs the npm registry; the others build with no network at all. */
  npm?: true;
  /** Requests against the running container, each asserting what it gets. */
  check(get: Get): Promise<void>;
}

const ok = (response: SimpleResponse, body: RegExp, what: string) => {
  assert.equal(response.status, 200, `${what}: HTTP ${response.status} ${response.body}`);
  assert.match(response.body, body, what);
};

const APPS: AppCase[] = [
  {
    // create-vite's vanilla template: no start script, a build that writes dist/.
    fixture: "vite",
    kind: "static",
    planned: /Vite \(static output\)/,
    npm: true,
    async check(get) {
      const index = await get("/");
      ok(index, /<title>vite-app<\/title>/, "the page vite build wrote");
      const script = /src="(\/assets\/index-[\w-]+\.js)"/.exec(index.body)?.[1];
      assert.ok(script, `the built page loads its bundle: ${index.body}`);
      ok(await get(script), /./, "the bundle");
      ok(await get("/some/client/route"), /<div id="app">/, "the SPA fallback");
    },
  },
  {
    // create-next-app's App Router template with output: "standalone".
    fixture: "next",
    kind: "node",
    planned: /Next\.js \(standalone server\)/,
    npm: true,
    async check(get) {
      const page = await get("/");
      ok(page, /To get started, edit the/, "the page Next.js rendered");
      const chunk = /(\/_next\/static\/[^"]+\.js)"/.exec(page.body)?.[1];
      assert.ok(chunk, "the page loads Next.js's client chunks");
      ok(await get(chunk), /./, ".next/static is copied beside the standalone server");
      ok(await get("/next.svg"), /<svg/, "public/ is copied beside the standalone server");
    },
  },
  {
    // express-generator --no-view: npm start runs ./bin/www, which reads $PORT.
    fixture: "express",
    kind: "node",
    planned: /Express/,
    npm: true,
    async check(get) {
      ok(await get("/"), /Welcome to Express/, "public/index.html through express.static");
      ok(await get("/users"), /respond with a resource/, "a route of the app");
    },
  },
  {
    // django-admin startproject mysite . and a requirements.txt.
    fixture: "django",
    kind: "python",
    planned: /Django project "mysite": gunicorn mysite\.wsgi/,
    async check(get) {
      ok(await get("/"), /The install worked successfully/, "Django's start page");
    },
  },
  {
    fixture: "flask",
    kind: "python",
    planned: /Flask app "app:app"/,
    async check(get) {
      ok(await get("/"), /Hello from Flask!/, "the Flask route");
    },
  },
  {
    fixture: "fastapi",
    kind: "python",
    planned: /FastAPI app "main:app": uvicorn main:app/,
    async check(get) {
      ok(await get("/"), /\{"Hello":"FastAPI"\}/, "the FastAPI route");
    },
  },
  {
    fixture: "go",
    kind: "go",
    planned: /package main at the root: go build \./,
    async check(get) {
      ok(await get("/hello"), /Hello from Go at \/hello/, "the Go handler");
    },
  },
  {
    fixture: "static",
    kind: "static",
    planned: /a static site, served from the root/,
    async check(get) {
      ok(await get("/"), /A plain static site/, "index.html");
      ok(await get("/about"), /About this site/, "a clean URL finds about.html");
      ok(await get("/style.css"), /font-family/, "a stylesheet");
      const missing = await get("/no/such/page");
      assert.equal(missing.status, 404, "a missing page is a 404");
      assert.match(missing.body, /This page is not here/, "the site's own 404.html");
    },
  },
];

/** A fixture folder (or several, each at its own path) committed to a fresh repository. */
async function commitRepo(
  root: string,
  parts: Record<string, string>,
  extra: Record<string, string> = {},
): Promise<Repo> {
  const dir = await mkdtemp(join(root, "repo-"));
  for (const [at, fixture] of Object.entries(parts)) {
    await cp(join(FIXTURES, fixture), join(dir, at), { recursive: true });
  }
  for (const [path, contents] of Object.entries(extra)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), contents);
  }
  const env = gitEnv(dir);
  const git = (...args: string[]) =>
    run("git", ["-c", "commit.gpgsign=false", ...args], { cwd: dir, env });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "scaffolded");
  return { dir, url: pathToFileURL(dir).href };
}

async function appImages(): Promise<Record<string, string>> {
  const script = join(here, "..", "scripts", "app-test-images.sh");
  const { stdout } = await run("bash", [script, "node", "python", "golang"], {
    maxBuffer: 1024 * 1024,
    timeout: 15 * 60_000,
  });
  return Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t") as [string, string]),
  );
}

describe("apps as people write them: built without a Dockerfile, each answers 200", () => {
  let root: string;
  let workRoot: string;
  let images: DetectOptions;
  let caBundle: string;
  const buildIds: string[] = [];
  const timings: string[] = [];

  before(async () => {
    for (const image of [CADDY_IMAGE, BUSYBOX_IMAGE]) {
      await docker
        .getImage(image)
        .inspect()
        .catch(() => assert.fail(`${image} is missing: run scripts/test-images.sh`));
    }
    const started = Date.now();
    const tags = await appImages();
    timings.push(`base images ready in ${Date.now() - started} ms`);
    images = {
      nodeImage: tags.node as string,
      staticImage: CADDY_IMAGE,
      pythonImage: tags.python as string,
      goImage: tags.golang as string,
      // The stand-in of distroless/static: a static Go binary needs nothing of the image.
      goRuntimeImage: BUSYBOX_IMAGE,
    };
    caBundle = await readFile(HOST_CA_BUNDLE, "utf8");
    root = await mkdtemp(join(tmpdir(), "obiente-frameworks-test-"));
    workRoot = join(root, "work");
    await mkdir(workRoot);
  });

  after(async () => {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${RUN_LABEL}=${runId}`] },
    });
    for (const c of containers) await docker.getContainer(c.Id).remove({ force: true });
    for (const buildId of buildIds) {
      const built = await docker.listImages({
        filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] },
      });
      // noprune: the untagged layers under it stay as the build cache of the next run.
      for (const image of built) await docker.getImage(image.Id).remove({ noprune: true });
    }
    if (root !== undefined) await rm(root, { recursive: true, force: true });
    if (timings.length > 0) console.log(`# ${timings.join("; ")}`);
  });

  async function build(
    repo: Repo,
    overrides: Partial<BuildImageOptions> = {},
  ): Promise<{ built: BuiltImage; logs: string[] }> {
    const buildId = randomUUID();
    buildIds.push(buildId);
    const logs: string[] = [];
    const built = await buildImage({
      docker,
      buildId,
      deploymentId: randomUUID(),
      gitRepo: repo.url,
      branch: "main",
      workRoot,
      // Both cores of the machine: these tests run alone (--test-concurrency=1).
      limits: { timeoutMs: 15 * 60_000, maxRepoBytes: 50 * 1024 * 1024, cpus: 2 },
      images,
      caBundle,
      allowFile: true,
      onLog: (line) => logs.push(line),
      ...overrides,
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${logs.slice(-40).join("\n")}`, {
        cause: error,
      });
    });
    return { built, logs };
  }

  /** Runs the image on a random loopback port and hands `check` a GET that waits for it. */
  async function serve(built: BuiltImage, check: (get: Get) => Promise<void>): Promise<void> {
    const port = `${built.port}/tcp`;
    const container = await docker.createContainer({
      Image: built.imageId,
      Labels: { [RUN_LABEL]: runId },
      ExposedPorts: { [port]: {} },
      HostConfig: { PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] } },
    });
    try {
      await container.start();
      const info = await container.inspect();
      const hostPort = Number(info.NetworkSettings.Ports[port]?.[0]?.HostPort);
      assert.ok(hostPort > 0, "a published host port");
      // The first answer may take the app's start; later ones are asked once.
      await eventually(
        () =>
          requestByHost(hostPort, "127.0.0.1", "/", { timeoutMs: 5_000 }).then((r) =>
            r.status > 0 ? r : undefined,
          ),
        60_000,
        `the app's first answer on 127.0.0.1:${hostPort}`,
        200,
      ).catch(async (error: unknown) => {
        const logs = await container.logs({ stdout: true, stderr: true, tail: 40 });
        throw new Error(`${(error as Error).message}\n${logs.toString("utf8")}`, {
          cause: error,
        });
      });
      await check((path) => requestByHost(hostPort, `127.0.0.1:${hostPort}`, path));
    } finally {
      await container.remove({ force: true });
    }
  }

  for (const app of APPS) {
    it(`${app.fixture}: detected, built and serving`, async () => {
      const repo = await commitRepo(root, { ".": app.fixture });
      const started = Date.now();
      const { built, logs } = await build(repo, app.npm ? {} : { networkMode: "none" });
      timings.push(`${app.fixture} built in ${Date.now() - started} ms`);
      assert.equal(built.kind, app.kind);
      assert.equal(built.port, 8080, "generated images listen on 8080 ($PORT)");
      assert.ok(
        logs.some((line) => app.planned.test(line)),
        `the plan in the log names ${app.planned}:\n${logs.slice(0, 30).join("\n")}`,
      );
      await serve(built, app.check);
      // The CA bundle is for the build stages only: the image the app runs in has none of it.
      const config = (await docker.getImage(built.imageId).inspect()).Config;
      assert.ok(
        !(config?.Env ?? []).some((variable) => /NODE_EXTRA_CA_CERTS|SSL_CERT_FILE/.test(variable)),
        `no CA variable in the image: ${config?.Env?.join(" ")}`,
      );
    });
  }

  it("a monorepo: a root directory per deployment, and a Dockerfile outside it", async () => {
    const siteDockerfile = [
      `FROM ${BUSYBOX_IMAGE}`,
      "COPY . /www/",
      "EXPOSE 8080",
      'CMD ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]',
      "",
    ].join("\n");
    const repo = await commitRepo(
      root,
      { web: "vite", api: "go", site: "static" },
      { "docker/site.Dockerfile": siteDockerfile, "README.md": "# a monorepo\n" },
    );

    // The Vite app in web/: the same plan (and, from the test above, the same cached layers).
    const web = await build(repo, { rootDirectory: "web" });
    assert.equal(web.built.kind, "static");
    await serve(web.built, async (get) => {
      ok(await get("/"), /<title>vite-app<\/title>/, "web/ built as the Vite app");
    });

    // The Go module in api/, offline.
    const api = await build(repo, { rootDirectory: "api", networkMode: "none" });
    assert.equal(api.built.kind, "go");
    await serve(api.built, async (get) => {
      ok(await get("/x"), /Hello from Go at \/x/, "api/ built as the Go app");
    });

    // site/ with the Dockerfile the deployment names, from outside its root directory.
    const site = await build(repo, {
      rootDirectory: "site",
      dockerfilePath: "docker/site.Dockerfile",
      networkMode: "none",
    });
    assert.equal(site.built.kind, "dockerfile");
    assert.ok(
      site.logs.some((line) => /docker\/site\.Dockerfile/.test(line)),
      "the plan names the deployment's Dockerfile",
    );
    await serve(site.built, async (get) => {
      ok(await get("/about.html"), /About this site/, "site/ is the build context");
      const readme = await get("/README.md");
      assert.equal(readme.status, 404, "the repository's root is not in the context");
    });
  });

  it("refuses what it cannot build, saying what it looked for, and builds nothing", async () => {
    const repo = await commitRepo(root, {}, { "notes/todo.txt": "nothing to build\n" });
    const refused = async (overrides: Partial<BuildImageOptions>, message: RegExp) => {
      const buildId = randomUUID();
      await assert.rejects(
        buildImage({
          docker,
          buildId,
          deploymentId: randomUUID(),
          gitRepo: repo.url,
          branch: "main",
          workRoot,
          limits: { timeoutMs: 60_000, maxRepoBytes: 50 * 1024 * 1024 },
          images,
          allowFile: true,
          networkMode: "none",
          ...overrides,
        }),
        (error: unknown) => {
          assert.ok(error instanceof DomainError, String(error));
          assert.equal(error.kind, "failed_precondition", error.message);
          assert.match(error.message, message);
          return true;
        },
      );
      assert.deepEqual(
        await docker.listImages({
          all: true,
          filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] },
        }),
        [],
      );
    };
    await refused(
      {},
      /no Dockerfile, no package\.json \(Node\.js\), no requirements\.txt, pyproject\.toml or Pipfile \(Python\), no go\.mod \(Go\) and no index\.html/,
    );
    await refused({ rootDirectory: "apps/web" }, /root_directory "apps\/web" does not exist/);
    await refused({ rootDirectory: "notes/todo.txt" }, /is not a folder/);
    await refused({ dockerfilePath: "docker/Dockerfile" }, /dockerfile_path "docker\/Dockerfile"/);
    assert.deepEqual(await readdir(workRoot), [], "no work folder is left");
  });
});
