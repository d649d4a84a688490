import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DomainError } from "../domain/errors.js";
import {
  type DetectInput,
  type DetectOptions,
  detectBuild,
  GENERATED_DOCKERFILE,
} from "./detect.js";

const images: DetectOptions = { nodeImage: "node:20-alpine", staticImage: "busybox" };

const nodeApp = (packageJson: unknown, extra: string[] = []): DetectInput => ({
  files: ["package.json", ...extra],
  packageJson,
});

describe("detectBuild", () => {
  const cases: {
    name: string;
    input: DetectInput;
    options?: Partial<DetectOptions>;
    kind: "dockerfile" | "node" | "static";
    dockerfileName?: string;
    /** Lines the generated Dockerfile must hold, in this order. */
    lines?: string[];
    /** Text it must not hold. */
    absent?: string[];
  }[] = [
    {
      name: "the repo's own Dockerfile wins over everything",
      input: { files: ["Dockerfile", "package.json", "index.html"], packageJson: {} },
      kind: "dockerfile",
      dockerfileName: "Dockerfile",
    },
    {
      name: "a lowercase dockerfile, as Docker's CLI accepts it",
      input: { files: ["dockerfile", "index.html"] },
      kind: "dockerfile",
      dockerfileName: "dockerfile",
    },
    {
      name: "Node.js with a lockfile, a build and a start script",
      input: nodeApp({ scripts: { build: "tsc", start: "node dist/main.js" } }, [
        "package-lock.json",
      ]),
      kind: "node",
      lines: [
        "FROM node:20-alpine",
        "WORKDIR /app",
        "COPY package*.json ./",
        "RUN npm ci --no-audit --no-fund",
        "COPY . .",
        "RUN npm run build",
        "ENV NODE_ENV=production PORT=8080",
        "EXPOSE 8080",
        'CMD ["npm","start"]',
      ],
    },
    {
      name: "Node.js without a lockfile installs, and skips the build it does not have",
      input: nodeApp({ scripts: { start: "node server.js" } }),
      kind: "node",
      lines: ["RUN npm install --no-audit --no-fund", 'CMD ["npm","start"]'],
      absent: ["npm ci", "npm run build"],
    },
    {
      name: "npm-shrinkwrap.json counts as a lockfile and is copied with the manifests",
      input: nodeApp({ scripts: { start: "node ." } }, ["npm-shrinkwrap.json"]),
      kind: "node",
      lines: ["COPY package*.json npm-shrinkwrap.json ./", "RUN npm ci --no-audit --no-fund"],
    },
    {
      name: "Node.js without a start script runs main",
      input: nodeApp({ main: "lib/app.js", scripts: { test: "node --test" } }),
      kind: "node",
      lines: ['CMD ["node","lib/app.js"]'],
    },
    {
      name: "Node.js with neither falls back to server.js",
      input: nodeApp({ name: "x" }, ["server.js", "index.js"]),
      kind: "node",
      lines: ['CMD ["node","server.js"]'],
    },
    {
      name: "then to index.js",
      input: nodeApp({}, ["index.js"]),
      kind: "node",
      lines: ['CMD ["node","index.js"]'],
    },
    {
      name: "a main with quotes and newlines stays inside one JSON string",
      input: nodeApp({ main: 'a"b\nRUN evil' }),
      kind: "node",
      lines: ['CMD ["node","a\\"b\\nRUN evil"]'],
      absent: ["\nRUN evil"],
    },
    {
      name: "a static site with the default busybox command",
      input: { files: ["index.html", "style.css"] },
      kind: "static",
      lines: [
        "FROM busybox",
        "COPY . /www",
        "EXPOSE 8080",
        'CMD ["busybox","httpd","-f","-p","8080","-h","/www"]',
      ],
    },
    {
      name: "a static site with the operator's own server",
      input: { files: ["index.html"] },
      options: {
        staticImage: "nginx:1.27-alpine",
        staticRoot: "/usr/share/nginx/html",
        staticCommand: ["nginx", "-g", "daemon off;"],
        staticPort: 80,
      },
      kind: "static",
      lines: [
        "FROM nginx:1.27-alpine",
        "COPY . /usr/share/nginx/html",
        "EXPOSE 80",
        'CMD ["nginx","-g","daemon off;"]',
      ],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const plan = detectBuild(c.input, { ...images, ...c.options });
      assert.equal(plan.kind, c.kind);
      if (plan.kind === "dockerfile") {
        assert.equal(plan.dockerfileName, c.dockerfileName);
        assert.equal(plan.port, 8080);
        return;
      }
      assert.equal(plan.dockerfileName, GENERATED_DOCKERFILE);
      assert.equal(plan.port, c.options?.staticPort ?? 8080);
      const lines = plan.dockerfile.split("\n");
      let from = 0;
      for (const line of c.lines ?? []) {
        const at = lines.indexOf(line, from);
        assert.ok(
          at >= 0,
          `expected line ${JSON.stringify(line)} after line ${from} in:\n${plan.dockerfile}`,
        );
        from = at + 1;
      }
      for (const text of c.absent ?? []) assert.ok(!plan.dockerfile.includes(text), text);
    });
  }

  const failures: {
    name: string;
    input: DetectInput;
    options?: Partial<DetectOptions>;
    kind: string;
    message: RegExp;
  }[] = [
    {
      name: "nothing recognisable",
      input: { files: ["README.md", "main.go"] },
      kind: "failed_precondition",
      message: /no Dockerfile, no package\.json .* and no index\.html/,
    },
    {
      name: "package.json that is not an object",
      input: nodeApp([1, 2]),
      kind: "failed_precondition",
      message: /package\.json must hold a JSON object/,
    },
    {
      name: "scripts that are not an object",
      input: nodeApp({ scripts: "npm start" }),
      kind: "failed_precondition",
      message: /"scripts" must be an object/,
    },
    {
      name: "no way to start the app",
      input: nodeApp({ scripts: { build: "tsc" } }),
      kind: "failed_precondition",
      message: /no "start" script and no "main"/,
    },
    {
      name: "a base image that would break the FROM line",
      input: nodeApp({ scripts: { start: "x" } }),
      options: { nodeImage: "node:20\nRUN touch /pwned" },
      kind: "invalid_argument",
      message: /not a valid image reference/,
    },
    {
      name: "a static root with spaces",
      input: { files: ["index.html"] },
      options: { staticRoot: "/www /etc" },
      kind: "invalid_argument",
      message: /static root/,
    },
    {
      name: "an empty static command",
      input: { files: ["index.html"] },
      options: { staticCommand: [] },
      kind: "invalid_argument",
      message: /static command must not be empty/,
    },
  ];

  for (const c of failures) {
    it(`refuses ${c.name}`, () => {
      assert.throws(
        () => detectBuild(c.input, { ...images, ...c.options }),
        (error: unknown) => {
          assert.ok(error instanceof DomainError);
          assert.equal(error.kind, c.kind);
          assert.match(error.message, c.message);
          return true;
        },
      );
    });
  }
});
