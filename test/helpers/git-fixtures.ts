/**
 * A local git repository, made with the git CLI, holding one small app per branch for the builder
 * and deploy tests. Every branch is an orphan, so each app's tree holds only its own files.
 *
 *   dockerfile  its own Dockerfile (FROM obiente-test/busybox) serving "dockerfile app" on 8080
 *   node        package.json: `build` writes dist/message.txt, `start` serves "node app (…)" on $PORT;
 *               .dockerignore leaves out secret.txt and *.md; GET /files lists the app's folder
 *   static      index.html "static app"
 *   fails       a Dockerfile whose third step is `RUN false`
 *   slow        a Dockerfile with `RUN … sleep 30`
 *   echo        a Node.js app (no Dockerfile, no start script: `node server.js`) that logs a line
 *               when it listens and per request, and answers "echo app <message.txt>;
 *               GREETING=<$GREETING>"; for the lifecycle tests (redeploys change message.txt)
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const BUSYBOX_IMAGE = "obiente-test/busybox:latest";
export const NODE_IMAGE = "obiente-test/node:latest";
/** Caddy: the static server stage of generated Dockerfiles. */
export const CADDY_IMAGE = "obiente-test/caddy:latest";

export interface FixtureRepo {
  /** The repository's working folder. */
  dir: string;
  /** Its file:// URL (the builder needs allowFile). */
  url: string;
  /** Unique to this repository; in the `fails` and `slow` steps, so that Docker never caches them. */
  nonce: string;
  /** The commit each branch points at. */
  commits: Record<FixtureBranch, string>;
  cleanup(): Promise<void>;
}

export type FixtureBranch = "dockerfile" | "node" | "static" | "fails" | "slow" | "echo";

/** What each app answers on GET /. */
export const FIXTURE_CONTENT = {
  dockerfile: "dockerfile app",
  node: "node app",
  static: "static app",
  echo: "echo app",
} as const;

function branches(nonce: string): Record<FixtureBranch, Record<string, string>> {
  return {
    dockerfile: {
      Dockerfile: [
        `FROM ${BUSYBOX_IMAGE}`,
        "COPY site/ /www/",
        "EXPOSE 8080",
        'CMD ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]',
        "",
      ].join("\n"),
      "site/index.html": `<!doctype html><title>fixture</title><p>${FIXTURE_CONTENT.dockerfile}</p>\n`,
    },
    node: {
      "package.json": `${JSON.stringify(
        {
          name: "node-app",
          version: "1.0.0",
          private: true,
          scripts: { build: "node build.js", start: "node server.js" },
        },
        null,
        2,
      )}\n`,
      "package-lock.json": `${JSON.stringify(
        {
          name: "node-app",
          version: "1.0.0",
          lockfileVersion: 3,
          requires: true,
          packages: { "": { name: "node-app", version: "1.0.0" } },
        },
        null,
        2,
      )}\n`,
      "build.js": [
        'const fs = require("node:fs");',
        'fs.mkdirSync(__dirname + "/dist", { recursive: true });',
        'fs.writeFileSync(__dirname + "/dist/message.txt", "built by npm run build");',
        "",
      ].join("\n"),
      "server.js": [
        'const fs = require("node:fs");',
        'const http = require("node:http");',
        'const message = fs.readFileSync(__dirname + "/dist/message.txt", "utf8");',
        "http",
        "  .createServer((req, res) => {",
        '    if (req.url === "/files") return res.end(JSON.stringify(fs.readdirSync(__dirname).sort()));',
        `    res.end(\`${FIXTURE_CONTENT.node} (\${message})\`);`,
        "  })",
        '  .listen(Number(process.env.PORT), "0.0.0.0");',
        "",
      ].join("\n"),
      ".dockerignore": "# not for the image\nsecret.txt\n*.md\n",
      "secret.txt": "must not reach the image\n",
      "NOTES.md": "notes\n",
    },
    static: {
      "index.html": `<!doctype html><title>fixture</title><p>${FIXTURE_CONTENT.static}</p>\n`,
      "style.css": "p { color: teal; }\n",
    },
    fails: {
      Dockerfile: [`FROM ${BUSYBOX_IMAGE}`, `RUN echo ${nonce}`, "RUN false", ""].join("\n"),
    },
    slow: {
      Dockerfile: [`FROM ${BUSYBOX_IMAGE}`, `RUN echo ${nonce} && sleep 30`, ""].join("\n"),
    },
    echo: {
      "package.json": `${JSON.stringify({ name: "echo-app", version: "1.0.0", private: true, main: "server.js" }, null, 2)}\n`,
      "package-lock.json": `${JSON.stringify(
        {
          name: "echo-app",
          version: "1.0.0",
          lockfileVersion: 3,
          requires: true,
          packages: { "": { name: "echo-app", version: "1.0.0" } },
        },
        null,
        2,
      )}\n`,
      "message.txt": "v1\n",
      "server.js": [
        'const fs = require("node:fs");',
        'const http = require("node:http");',
        'const message = fs.readFileSync(__dirname + "/message.txt", "utf8").trim();',
        "const port = Number(process.env.PORT);",
        "const server = http.createServer((req, res) => {",
        `  console.log(\`echo app: \${req.method} \${req.url}\`);`,
        `  res.end(\`${FIXTURE_CONTENT.echo} \${message}; GREETING=\${process.env.GREETING ?? ""}\`);`,
        "});",
        "// BURN_CPU: an app that keeps a core about half busy (the metrics tests).",
        "if (process.env.BURN_CPU) {",
        "  setInterval(() => { const end = Date.now() + 50; while (Date.now() < end); }, 100);",
        "}",
        "// START_DELAY_MS: an app that takes a while to listen.",
        "setTimeout(",
        `  () => server.listen(port, "0.0.0.0", () => console.log(\`echo app \${message} listening on \${port}\`)),`,
        "  Number(process.env.START_DELAY_MS ?? 0),",
        ");",
        "",
      ].join("\n"),
    },
  };
}

export async function makeFixtureRepo(): Promise<FixtureRepo> {
  const dir = await mkdtemp(join(tmpdir(), "obiente-fixture-repo-"));
  const nonce = randomUUID().replaceAll("-", "");
  // Isolated from the machine's git configuration, with a fixed identity.
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    LANG: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Fixture",
    GIT_AUTHOR_EMAIL: "fixture@obiente.test",
    GIT_COMMITTER_NAME: "Fixture",
    GIT_COMMITTER_EMAIL: "fixture@obiente.test",
  };
  const git = async (...args: string[]) =>
    (await run("git", ["-c", "commit.gpgsign=false", ...args], { cwd: dir, env })).stdout.trim();
  try {
    await git("init", "-q", "-b", "main");
    await writeFile(join(dir, "README.md"), "Builder fixtures: one app per branch.\n");
    await git("add", "-A");
    await git("commit", "-q", "-m", "main");
    const commits = {} as Record<FixtureBranch, string>;
    for (const [branch, files] of Object.entries(branches(nonce)) as [
      FixtureBranch,
      Record<string, string>,
    ][]) {
      await git("switch", "-q", "--orphan", branch);
      for (const [name, contents] of Object.entries(files)) {
        await mkdir(dirname(join(dir, name)), { recursive: true });
        await writeFile(join(dir, name), contents);
      }
      await git("add", "-A");
      await git("commit", "-q", "-m", `${branch} app`);
      commits[branch] = await git("rev-parse", "HEAD");
    }
    await git("switch", "-q", "main");
    return {
      dir,
      url: pathToFileURL(dir).href,
      nonce,
      commits,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
