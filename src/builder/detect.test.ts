import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DomainError } from "../domain/errors.js";
import type { DetectOptions } from "./base-images.js";
import { type DetectInput, detectBuild } from "./detect.js";
import { formatPlan, GENERATED_DOCKERFILE } from "./plan.js";
import { treeOf } from "./source-tree.js";

const images: DetectOptions = {
  nodeImage: "node:{major}-bookworm-slim",
  staticImage: "caddy:2-alpine",
};

const pkg = (value: unknown) => JSON.stringify(value);
const input = (files: Record<string, string>): DetectInput => ({ tree: treeOf(files) });

interface Case {
  name: string;
  files: Record<string, string>;
  options?: Partial<DetectOptions>;
  kind: "dockerfile" | "node" | "static" | "python" | "go";
  stack?: RegExp;
  /** Lines the Dockerfile must hold, in this order (each compared trimmed). */
  lines?: string[];
  /** Text it must not hold. */
  absent?: string[];
  command?: string[];
  /** Text some reason must hold. */
  reason?: RegExp;
  /** Text the Caddyfile must hold. */
  caddy?: RegExp;
}

const cases: Case[] = [
  {
    name: "the repository's own Dockerfile wins over everything",
    files: { Dockerfile: "FROM scratch\n", "package.json": "{}", "index.html": "" },
    kind: "dockerfile",
    lines: ["FROM scratch"],
    reason: /the repository's own Dockerfile/,
  },
  {
    name: "a lowercase dockerfile, as Docker's CLI accepts it",
    files: { dockerfile: "FROM x\n", "index.html": "" },
    kind: "dockerfile",
  },
  // ----- Node.js: package managers and versions
  {
    name: "npm with a lockfile, a build and a start script",
    files: {
      "package.json": pkg({ scripts: { build: "tsc", start: "node dist/main.js" } }),
      "package-lock.json": "{}",
    },
    kind: "node",
    stack: /^Node\.js 22 · npm · Node\.js server$/,
    lines: [
      "FROM node:22-bookworm-slim AS build",
      "WORKDIR /app",
      "COPY package.json package-lock.json ./",
      "RUN npm ci",
      "COPY . .",
      "RUN rm -rf .obiente-build",
      "RUN npm run build",
      "FROM node:22-bookworm-slim",
      "ENV NODE_ENV=production \\",
      "PORT=8080",
      "COPY --from=build /app /app",
      "EXPOSE 8080",
      'CMD ["npm","start"]',
    ],
    command: ["npm", "start"],
  },
  {
    name: "npm without a lockfile installs, and skips the build it does not have",
    files: { "package.json": pkg({ scripts: { start: "node server.js" } }) },
    kind: "node",
    lines: ["COPY package.json ./", "RUN npm install"],
    absent: ["npm ci", "npm run build"],
    reason: /no lockfile/,
  },
  {
    name: "pnpm by its lockfile, its version from the lockfile's format",
    files: {
      "package.json": pkg({ scripts: { start: "node ." } }),
      "pnpm-lock.yaml": "lockfileVersion: '6.0'\n",
      ".npmrc": "engine-strict=true\n",
    },
    kind: "node",
    stack: /· pnpm ·/,
    lines: [
      "RUN npm install -g pnpm@8",
      "COPY package.json pnpm-lock.yaml .npmrc ./",
      "RUN pnpm install --frozen-lockfile",
    ],
  },
  {
    name: "packageManager pins the tool's version",
    files: {
      "package.json": pkg({ packageManager: "pnpm@9.12.3+sha512.abc", scripts: { start: "x" } }),
      "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    },
    kind: "node",
    lines: ["RUN npm install -g pnpm@9.12.3"],
    reason: /packageManager "pnpm@9\.12\.3"/,
  },
  {
    name: "yarn classic by a v1 lockfile, with the image's yarn",
    files: {
      "package.json": pkg({ scripts: { start: "x" } }),
      "yarn.lock": "# yarn lockfile v1\n",
    },
    kind: "node",
    stack: /· yarn ·/,
    lines: [
      "COPY package.json yarn.lock ./",
      "RUN yarn install --frozen-lockfile --non-interactive",
    ],
    absent: ["npm install -g"],
  },
  {
    name: "yarn berry by its lockfile's metadata: installed from the npm registry, node_modules",
    files: {
      "package.json": pkg({ scripts: { start: "x" } }),
      "yarn.lock": "__metadata:\n  version: 8\n",
      ".yarnrc.yml": "enableTelemetry: false\n",
    },
    kind: "node",
    stack: /yarn \(berry\)/,
    lines: [
      "YARN_NODE_LINKER=node-modules \\",
      "RUN npm install -g --force @yarnpkg/cli-dist@4",
      "COPY package.json yarn.lock .yarnrc.yml ./",
      "RUN yarn install --immutable",
    ],
  },
  {
    name: "yarn berry with its release in the repository uses it",
    files: {
      "package.json": pkg({ scripts: { start: "x" } }),
      "yarn.lock": "__metadata:\n",
      ".yarnrc.yml": "yarnPath: .yarn/releases/yarn-4.5.0.cjs\nnodeLinker: node-modules\n",
      ".yarn/releases/yarn-4.5.0.cjs": "",
    },
    kind: "node",
    lines: ["COPY package.json yarn.lock .yarnrc.yml ./", "COPY .yarn/releases ./.yarn/releases"],
    absent: ["@yarnpkg/cli-dist", "YARN_NODE_LINKER"],
    reason: /yarnPath/,
  },
  {
    name: "bun by its lockfile, on Bun's image",
    files: { "package.json": pkg({ scripts: { start: "bun run index.ts" } }), "bun.lock": "{}" },
    kind: "node",
    stack: /^Bun · bun ·/,
    lines: [
      "FROM oven/bun:1 AS build",
      "RUN bun install --frozen-lockfile",
      "FROM oven/bun:1",
      'CMD ["bun","run","start"]',
    ],
  },
  {
    name: "engines.node picks the default major when the range allows it",
    files: { "package.json": pkg({ engines: { node: ">=20" }, scripts: { start: "x" } }) },
    kind: "node",
    lines: ["FROM node:22-bookworm-slim AS build"],
    reason: /engines\.node ">=20": Node\.js 22/,
  },
  {
    name: "engines.node picks another major when the default is outside it",
    files: { "package.json": pkg({ engines: { node: "^20.11.0" }, scripts: { start: "x" } }) },
    kind: "node",
    lines: ["FROM node:20-bookworm-slim AS build", "FROM node:20-bookworm-slim"],
  },
  {
    name: ".nvmrc when there is no engines.node",
    files: { "package.json": pkg({ scripts: { start: "x" } }), ".nvmrc": "lts/iron\n" },
    kind: "node",
    lines: ["FROM node:20-bookworm-slim AS build"],
  },
  {
    name: "a base image without a placeholder is used as it is",
    files: { "package.json": pkg({ engines: { node: "18.x" }, scripts: { start: "x" } }) },
    options: { nodeImage: "registry.local/node:lts" },
    kind: "node",
    lines: ["FROM registry.local/node:lts AS build"],
  },
  {
    name: "install scripts need the whole source before the install",
    files: {
      "package.json": pkg({ scripts: { postinstall: "node setup.js", start: "x" } }),
      "package-lock.json": "",
    },
    kind: "node",
    lines: ["COPY . .", "RUN rm -rf .obiente-build", "RUN npm ci"],
    absent: ["COPY package.json"],
    reason: /postinstall script: the whole source/,
  },
  // ----- Node.js: start commands
  {
    name: "no start script runs main",
    files: { "package.json": pkg({ main: "lib/app.js", scripts: { test: "node --test" } }) },
    kind: "node",
    command: ["node", "lib/app.js"],
  },
  {
    name: "neither start nor main: server.js",
    files: { "package.json": pkg({ name: "x" }), "server.js": "", "index.js": "" },
    kind: "node",
    command: ["node", "server.js"],
  },
  {
    name: "a main with quotes and newlines stays inside one JSON string",
    files: { "package.json": pkg({ main: 'a"b\nRUN evil' }) },
    kind: "node",
    lines: ['CMD ["node","a\\"b\\nRUN evil"]'],
    absent: ["\nRUN evil"],
  },
  {
    name: "a Procfile's web: line starts the app, through sh",
    files: {
      "package.json": pkg({ scripts: { start: "x" } }),
      Procfile: "release: x\nweb: node web.js --port $PORT\n",
    },
    kind: "node",
    command: ["sh", "-c", "node web.js --port $PORT"],
    reason: /Procfile/,
  },
  {
    name: "fastify-cli is told to listen beyond localhost",
    files: {
      "package.json": pkg({
        scripts: { start: "fastify start -l info app.js" },
        dependencies: { fastify: "^5", "fastify-cli": "^8" },
      }),
    },
    kind: "node",
    stack: /Fastify \(fastify-cli\)/,
    lines: ["FASTIFY_ADDRESS=0.0.0.0"],
  },
  {
    name: "Express by its dependency",
    files: {
      "package.json": pkg({
        scripts: { start: "node ./bin/www" },
        dependencies: { express: "~4.16.1" },
      }),
    },
    kind: "node",
    stack: /Express$/,
  },
  {
    name: "NestJS runs start:prod",
    files: {
      "package.json": pkg({
        scripts: { build: "nest build", start: "nest start", "start:prod": "node dist/main" },
        dependencies: { "@nestjs/core": "^11" },
      }),
    },
    kind: "node",
    stack: /NestJS/,
    command: ["npm", "run", "start:prod"],
  },
  // ----- Node.js: frameworks
  {
    name: "Vite: a single-page app in dist/ under the static server",
    files: {
      "package.json": pkg({ scripts: { build: "vite build" }, devDependencies: { vite: "^8" } }),
    },
    kind: "static",
    stack: /Vite \(static output\)/,
    lines: [
      "RUN npm run build",
      "FROM caddy:2-alpine",
      "COPY .obiente-build/Caddyfile /etc/caddy/Caddyfile",
      "COPY --from=build /app/dist /srv",
      'CMD ["caddy","run","--config","/etc/caddy/Caddyfile","--adapter","caddyfile"]',
    ],
    caddy: /try_files \{path\} \{path\}\.html \{path\}\/index\.html \/index\.html/,
  },
  {
    name: "Vite's outDir",
    files: {
      "package.json": pkg({
        scripts: { build: "tsc -b && vite build" },
        devDependencies: { vite: "^8" },
      }),
      "vite.config.ts": "export default { build: { outDir: 'public_html' } }",
    },
    kind: "static",
    lines: ["COPY --from=build /app/public_html /srv"],
  },
  {
    name: "Vite with a server of its own is a server",
    files: {
      "package.json": pkg({
        scripts: { build: "vite build", start: "node server.js" },
        dependencies: { vite: "^8" },
      }),
    },
    kind: "node",
    command: ["npm", "start"],
  },
  {
    name: "Next.js standalone",
    files: {
      "package.json": pkg({
        scripts: { build: "next build", start: "next start" },
        dependencies: { next: "16.0.0" },
      }),
      "next.config.ts":
        'const nextConfig = { output: "standalone" };\nexport default nextConfig;\n',
      "public/file.svg": "",
    },
    kind: "node",
    stack: /Next\.js \(standalone server\)/,
    lines: [
      "HOSTNAME=0.0.0.0",
      "COPY --from=build /app/.next/standalone /app",
      "COPY --from=build /app/.next/static /app/.next/static",
      "COPY --from=build /app/public /app/public",
      'CMD ["node","server.js"]',
    ],
  },
  {
    name: "Next.js static export, without SPA fallback",
    files: {
      "package.json": pkg({ scripts: { build: "next build" }, dependencies: { next: "16.0.0" } }),
      "next.config.mjs": "export default { output: 'export' }",
    },
    kind: "static",
    lines: ["COPY --from=build /app/out /srv"],
    caddy: /try_files \{path\} \{path\}\.html \{path\}\/index\.html\n/,
  },
  {
    name: "Next.js without output: next start",
    files: {
      "package.json": pkg({
        scripts: { build: "next build", start: "next start" },
        dependencies: { next: "16.0.0" },
      }),
    },
    kind: "node",
    command: ["npm", "start"],
    reason: /standalone/,
  },
  {
    name: "SvelteKit with adapter-static in vite.config, and its SPA fallback",
    files: {
      "package.json": pkg({
        scripts: { build: "vite build" },
        devDependencies: { "@sveltejs/kit": "^2", "@sveltejs/adapter-static": "^3", vite: "^8" },
      }),
      "vite.config.ts":
        "import adapter from '@sveltejs/adapter-static';\nsveltekit({ adapter: adapter({ fallback: '200.html' }) })",
    },
    kind: "static",
    stack: /SvelteKit \(static, SPA\)/,
    lines: ["COPY --from=build /app/build /srv"],
    caddy: /\/200\.html/,
  },
  {
    name: "SvelteKit with adapter-node",
    files: {
      "package.json": pkg({
        scripts: { build: "vite build" },
        devDependencies: { "@sveltejs/kit": "^2", "@sveltejs/adapter-node": "^5" },
      }),
      "svelte.config.js": "import adapter from '@sveltejs/adapter-node';",
    },
    kind: "node",
    command: ["node", "build"],
  },
  {
    name: "Astro's static output",
    files: {
      "package.json": pkg({ scripts: { build: "astro build" }, dependencies: { astro: "^5" } }),
    },
    kind: "static",
    lines: ["COPY --from=build /app/dist /srv"],
  },
  {
    name: "Astro with the Node.js adapter",
    files: {
      "package.json": pkg({
        scripts: { build: "astro build" },
        dependencies: { astro: "^5", "@astrojs/node": "^9" },
      }),
    },
    kind: "node",
    command: ["node", "./dist/server/entry.mjs"],
    lines: ["HOST=0.0.0.0"],
  },
  {
    name: "Nuxt generate is static",
    files: {
      "package.json": pkg({ scripts: { build: "nuxt generate" }, dependencies: { nuxt: "^3" } }),
    },
    kind: "static",
    lines: ["COPY --from=build /app/.output/public /srv"],
  },
  {
    name: "Nuxt build is a Nitro server",
    files: {
      "package.json": pkg({ scripts: { build: "nuxt build" }, dependencies: { nuxt: "^3" } }),
    },
    kind: "node",
    command: ["node", ".output/server/index.mjs"],
    lines: ["COPY --from=build /app/.output /app/.output"],
  },
  {
    name: "Remix runs its start script",
    files: {
      "package.json": pkg({
        scripts: { build: "remix vite:build", start: "remix-serve ./build/server/index.js" },
        dependencies: { "@remix-run/serve": "^2", "@remix-run/dev": "^2" },
      }),
    },
    kind: "node",
    command: ["npm", "start"],
  },
  {
    name: "Gatsby, Docusaurus, Create React App",
    files: {
      "package.json": pkg({
        scripts: { build: "docusaurus build", start: "docusaurus start" },
        dependencies: { "@docusaurus/core": "3" },
      }),
    },
    kind: "static",
    stack: /Docusaurus/,
    lines: ["COPY --from=build /app/build /srv"],
  },
  {
    name: "Create React App is an SPA in build/",
    files: {
      "package.json": pkg({
        scripts: { build: "react-scripts build" },
        dependencies: { "react-scripts": "5" },
      }),
    },
    kind: "static",
    caddy: /\/index\.html\n/,
    lines: ["COPY --from=build /app/build /srv"],
  },
  {
    name: "Gatsby's public/",
    files: {
      "package.json": pkg({ scripts: { build: "gatsby build" }, dependencies: { gatsby: "5" } }),
    },
    kind: "static",
    lines: ["COPY --from=build /app/public /srv"],
  },
  {
    // What `ng new shop` (Angular 17 and later) writes: the application builder.
    name: "Angular's application builder: an SPA in dist/<project>/browser",
    files: {
      "package.json": pkg({
        scripts: { ng: "ng", start: "ng serve", build: "ng build" },
        dependencies: { "@angular/core": "^19.0.0", "@angular/router": "^19.0.0" },
        devDependencies: { "@angular/cli": "^19.0.0", "@angular-devkit/build-angular": "^19.0.0" },
      }),
      "package-lock.json": "{}",
      "angular.json": JSON.stringify({
        version: 1,
        projects: {
          shop: {
            projectType: "application",
            architect: {
              build: {
                builder: "@angular-devkit/build-angular:application",
                options: { outputPath: "dist/shop", browser: "src/main.ts" },
              },
            },
          },
        },
      }),
    },
    kind: "static",
    stack: /Angular \(static output\)$/,
    reason: /project "shop", application builder: a single-page app in dist\/shop\/browser\//,
    lines: ["RUN npm run build", "COPY --from=build /app/dist/shop/browser /srv"],
    caddy: /\/index\.html\n/,
  },
  {
    name: "Angular's older browser builder writes to outputPath; libraries are skipped",
    files: {
      "package.json": pkg({
        scripts: { build: "ng build" },
        dependencies: { "@angular/core": "16" },
      }),
      "angular.json": JSON.stringify({
        projects: {
          ui: { projectType: "library" },
          admin: {
            projectType: "application",
            architect: {
              build: {
                builder: "@angular-devkit/build-angular:browser",
                options: { outputPath: "www" },
              },
            },
          },
        },
      }),
    },
    kind: "static",
    lines: ["COPY --from=build /app/www /srv"],
  },
  {
    name: "Angular with SSR: node on the server bundle",
    files: {
      "package.json": pkg({
        scripts: { build: "ng build", "serve:ssr:shop": "node dist/shop/server/server.mjs" },
        dependencies: { "@angular/core": "19", "@angular/ssr": "19", express: "4" },
      }),
      "angular.json": JSON.stringify({
        projects: {
          shop: {
            projectType: "application",
            architect: {
              build: {
                builder: "@angular/build:application",
                options: {
                  outputPath: { base: "out/shop" },
                  ssr: { entry: "src/server.ts" },
                  outputMode: "server",
                },
              },
            },
          },
        },
      }),
    },
    kind: "node",
    stack: /Angular \(SSR server\)/,
    command: ["node", "out/shop/server/server.mjs"],
  },
  {
    name: "Vue CLI's outputDir from vue.config.js",
    files: {
      "package.json": pkg({
        scripts: { serve: "vue-cli-service serve", build: "vue-cli-service build" },
        dependencies: { vue: "3" },
        devDependencies: { "@vue/cli-service": "5" },
      }),
      "vue.config.js": 'module.exports = { outputDir: "public_html" }\n',
    },
    kind: "static",
    stack: /Vue CLI/,
    lines: ["COPY --from=build /app/public_html /srv"],
  },
  {
    name: "package.json with nothing to run beside an index.html: served as it is",
    files: { "package.json": pkg({ devDependencies: { prettier: "3" } }), "index.html": "" },
    kind: "static",
    lines: ["COPY . /srv", "RUN rm -rf /srv/.obiente-build", "COPY --from=site /srv /srv"],
    absent: ["npm"],
  },
  // ----- Python
  {
    name: "Django by manage.py: gunicorn on its wsgi module",
    files: {
      "requirements.txt": "Django==4.2\ngunicorn\n",
      "manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')",
      "mysite/wsgi.py": "",
      "mysite/settings.py": "STATIC_ROOT = BASE_DIR / 'static'\n",
    },
    kind: "python",
    stack: /^Python 3\.11 · Django$/,
    lines: [
      "FROM python:3.11-slim AS build",
      "RUN python -m venv --system-site-packages /app/.venv",
      "COPY requirements.txt ./",
      'RUN ["pip","install","--no-cache-dir","-r","requirements.txt"]',
      "COPY . .",
      "RUN rm -rf .obiente-build",
      "RUN python manage.py collectstatic --noinput",
      "FROM python:3.11-slim",
      "COPY --from=build /app /app",
    ],
    absent: ['"gunicorn"]'],
    command: ["sh", "-c", `exec python -m gunicorn --bind "0.0.0.0:\${PORT:-8080}" 'mysite.wsgi'`],
  },
  {
    name: "Flask: gunicorn on the app object, added when not required",
    files: {
      "requirements.txt": "flask\n",
      "app.py": "from flask import Flask\napp = Flask(__name__)\n",
    },
    kind: "python",
    stack: /Flask/,
    lines: ['RUN ["pip","install","--no-cache-dir","gunicorn"]'],
    command: ["sh", "-c", `exec python -m gunicorn --bind "0.0.0.0:\${PORT:-8080}" 'app:app'`],
    reason: /gunicorn is not among the dependencies/,
  },
  {
    name: "Flask's application factory",
    files: {
      "requirements.txt": "flask\ngunicorn\n",
      "hello/__init__.py": "def create_app():\n    pass\n",
    },
    kind: "python",
    command: [
      "sh",
      "-c",
      `exec python -m gunicorn --bind "0.0.0.0:\${PORT:-8080}" 'hello:create_app()'`,
    ],
  },
  {
    name: "FastAPI from pyproject.toml's dependencies: uvicorn",
    files: {
      "pyproject.toml":
        '[project]\nname = "api"\ndependencies = [\n  "fastapi>=0.100",\n  "uvicorn[standard]",\n]\n',
      ".python-version": "3.12\n",
      "app/main.py": "from fastapi import FastAPI\napi: FastAPI = FastAPI()\n",
    },
    kind: "python",
    stack: /Python 3\.12 · FastAPI/,
    lines: [
      "FROM python:3.12-slim AS build",
      "COPY pyproject.toml ./",
      'RUN ["pip","install","--no-cache-dir","fastapi>=0.100","uvicorn[standard]"]',
    ],
    command: [
      "sh",
      "-c",
      `exec python -m uvicorn 'app.main:api' --host 0.0.0.0 --port "\${PORT:-8080}"`,
    ],
  },
  {
    name: "Poetry",
    files: {
      "pyproject.toml":
        "[tool.poetry]\nname='x'\n[tool.poetry.dependencies]\npython='^3.11'\nflask='^3'\n",
      "poetry.lock": "",
      "app.py": "app = Flask(__name__)",
    },
    kind: "python",
    lines: [
      "POETRY_VIRTUALENVS_CREATE=false",
      "COPY pyproject.toml poetry.lock ./",
      'RUN ["pip","install","--no-cache-dir","poetry"]',
      "RUN poetry install --only main --no-root --no-interaction --no-ansi",
    ],
  },
  {
    name: "uv",
    files: {
      "pyproject.toml": "[project]\ndependencies=['fastapi']\n",
      "uv.lock": "",
      "main.py": "app = FastAPI()",
    },
    kind: "python",
    lines: [
      "UV_PROJECT_ENVIRONMENT=/app/.venv \\",
      "RUN uv sync --frozen --no-dev --no-install-project",
    ],
    command: [
      "sh",
      "-c",
      `exec python -m uvicorn 'main:app' --host 0.0.0.0 --port "\${PORT:-8080}"`,
    ],
  },
  {
    name: "Pipenv",
    files: {
      Pipfile: "[packages]\nflask = '*'\ngunicorn='*'\n",
      "Pipfile.lock": "{}",
      "wsgi.py": "app = Flask(__name__)",
    },
    kind: "python",
    lines: [
      "COPY Pipfile Pipfile.lock ./",
      "RUN pipenv requirements > /tmp/requirements.txt && pip install --no-cache-dir -r /tmp/requirements.txt",
    ],
    command: ["sh", "-c", `exec python -m gunicorn --bind "0.0.0.0:\${PORT:-8080}" 'wsgi:app'`],
  },
  {
    name: "requirements with -r: the whole source first",
    files: { "requirements.txt": "-r base.txt\n", "base.txt": "", "main.py": "" },
    kind: "python",
    lines: ["COPY . .", 'RUN ["pip","install","--no-cache-dir","-r","requirements.txt"]'],
    command: ["python", "main.py"],
  },
  {
    name: "a Python app with Node.js tooling is built as Python",
    files: {
      "package.json": pkg({
        devDependencies: { tailwindcss: "4" },
        scripts: { build: "tailwindcss" },
      }),
      "requirements.txt": "flask\ngunicorn\n",
      "app.py": "app = Flask(__name__)",
    },
    kind: "python",
    reason: /Node\.js tooling of a Python app/,
  },
  // ----- Go
  {
    name: "Go at the root: a static binary on the small runtime image",
    files: {
      "go.mod": "module example.com/hello\n\ngo 1.23.2\n",
      "go.sum": "",
      "main.go": "package main\n",
      "templates/index.html": "",
    },
    kind: "go",
    stack: /^Go 1\.23$/,
    lines: [
      "FROM golang:1.23 AS build",
      "ENV CGO_ENABLED=0",
      "COPY go.mod go.sum ./",
      "RUN go mod download",
      "COPY . .",
      'RUN go build -trimpath -ldflags="-s -w" -o /out/hello .',
      "FROM gcr.io/distroless/static-debian12",
      "COPY --from=build /out/hello /app/bin/hello",
      "COPY --from=build /src/templates /app/templates",
      'CMD ["/app/bin/hello"]',
    ],
  },
  {
    name: "an old go line is built with the default Go; cmd/<name>",
    files: {
      "go.mod": "module github.com/acme/shop\ngo 1.19\n",
      "cmd/shop/main.go": "// x\npackage main\n",
      "internal/x.go": "package x",
    },
    kind: "go",
    lines: [
      "FROM golang:1.22 AS build",
      "COPY go.mod ./",
      'RUN go build -trimpath -ldflags="-s -w" -o /out/shop ./cmd/shop',
    ],
    absent: ["go mod download"],
  },
  {
    name: "Go with a Procfile naming bin/<name>",
    files: { "go.mod": "module x\n", "main.go": "package main", Procfile: "web: bin/api -v\n" },
    kind: "go",
    command: ["/app/bin/api", "-v"],
    lines: ['RUN go build -trimpath -ldflags="-s -w" -o /out/api .'],
  },
  // ----- Static sites
  {
    name: "a static site at the root, the builder's files left out",
    files: { "index.html": "", "style.css": "" },
    kind: "static",
    lines: [
      "FROM caddy:2-alpine AS site",
      "COPY . /srv",
      "RUN rm -rf /srv/.obiente-build",
      "FROM caddy:2-alpine",
      "COPY --from=site /srv /srv",
      "ENV PORT=8080",
    ],
  },
  {
    name: "a static site in public/",
    files: { "public/index.html": "", "README.md": "" },
    kind: "static",
    lines: ["COPY public/ /srv/"],
  },
  {
    name: "a static site in dist/",
    files: { "dist/index.html": "" },
    kind: "static",
    lines: ["COPY dist/ /srv/"],
  },
  // ----- The build's CA bundle
  {
    name: "BUILD_CA_BUNDLE: trusted in the build stage, not the run stage",
    files: { "package.json": pkg({ scripts: { start: "x" } }) },
    options: { caBundle: true },
    kind: "node",
    lines: [
      "FROM node:22-bookworm-slim AS build",
      "COPY .obiente-build/ca.pem /usr/local/share/obiente-build/ca.pem",
      "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/obiente-build/ca.pem \\",
      "RUN npm install",
      "FROM node:22-bookworm-slim",
    ],
  },
];

describe("detectBuild", () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = detectBuild(input(c.files), { ...images, ...c.options });
      assert.equal(plan.kind, c.kind, formatPlan(plan));
      if (c.stack) assert.match(plan.stack, c.stack);
      if (plan.kind === "dockerfile") {
        assert.equal(plan.generated, false);
      } else {
        assert.equal(plan.dockerfilePath, GENERATED_DOCKERFILE);
        assert.equal(plan.port, 8080);
        assert.ok(!/^\s*ADD\s/m.test(plan.dockerfile), "no ADD in a generated Dockerfile");
      }
      const lines = plan.dockerfile.split("\n").map((line) => line.trim());
      let from = 0;
      for (const line of c.lines ?? []) {
        const at = lines.indexOf(line, from);
        assert.ok(
          at >= 0,
          `expected ${JSON.stringify(line)} after line ${from} in:\n${plan.dockerfile}`,
        );
        from = at + 1;
      }
      for (const text of c.absent ?? [])
        assert.ok(!plan.dockerfile.includes(text), `${text} in:\n${plan.dockerfile}`);
      if (c.command) assert.deepEqual(plan.command, c.command);
      if (c.reason) {
        const reasons = plan.reasons.map((r) => `${r.file}: ${r.detail}`).join("\n");
        assert.match(reasons, c.reason);
      }
      if (c.caddy) {
        const caddyfile = plan.files.find((f) => f.path === ".obiente-build/Caddyfile");
        assert.ok(caddyfile, "a Caddyfile");
        assert.match(caddyfile.contents, c.caddy);
      }
      if (c.kind !== "dockerfile") {
        // The CA bundle only in build stages: after the last FROM, nothing refers to it.
        const lastStage = plan.dockerfile.slice(plan.dockerfile.lastIndexOf("\nFROM "));
        assert.ok(!lastStage.includes("ca.pem") && !lastStage.includes("CA_CERTS"), lastStage);
      }
    });
  }

  it("the deployment's Dockerfile, inside and outside the root directory", () => {
    const inside = detectBuild(
      {
        tree: treeOf({ "package.json": "{}" }),
        dockerfile: {
          path: "apps/web/docker/Dockerfile",
          contents: "FROM a\n",
          contextPath: "docker/Dockerfile",
        },
      },
      images,
    );
    assert.equal(inside.kind, "dockerfile");
    assert.equal(inside.dockerfilePath, "docker/Dockerfile");
    assert.equal(inside.dockerfile, "FROM a\n");
    const outside = detectBuild(
      { tree: treeOf({}), dockerfile: { path: "docker/web.Dockerfile", contents: "FROM b\n" } },
      images,
    );
    assert.equal(outside.dockerfilePath, GENERATED_DOCKERFILE);
    assert.match(outside.reasons[0]?.detail ?? "", /outside the root directory/);
  });

  const failures: {
    name: string;
    files: Record<string, string>;
    options?: Partial<DetectOptions>;
    kind: DomainError["kind"];
    message: RegExp;
  }[] = [
    {
      name: "nothing recognisable",
      files: { "README.md": "", "main.rs": "" },
      kind: "failed_precondition",
      message: /no Dockerfile, no package\.json .*no go\.mod/,
    },
    {
      name: "package.json that is not JSON",
      files: { "package.json": "{" },
      kind: "failed_precondition",
      message: /package\.json is not valid JSON/,
    },
    {
      name: "package.json that is not an object",
      files: { "package.json": "[1,2]" },
      kind: "failed_precondition",
      message: /must hold a JSON object/,
    },
    {
      name: "scripts that are not an object",
      files: { "package.json": pkg({ scripts: "npm start" }) },
      kind: "failed_precondition",
      message: /"scripts" must be an object/,
    },
    {
      name: "no way to start the app",
      files: { "package.json": pkg({ scripts: { build: "tsc" } }) },
      kind: "failed_precondition",
      message: /no "start" script and no "main"/,
    },
    {
      name: "an engines.node nothing satisfies",
      files: { "package.json": pkg({ engines: { node: ">=99 <98" }, scripts: { start: "x" } }) },
      kind: "failed_precondition",
      message: /engines\.node ">=99 <98" allows no Node\.js version/,
    },
    {
      name: "a packageManager of the wrong shape",
      files: {
        "package.json": pkg({ packageManager: "pnpm@latest; rm -rf /", scripts: { start: "x" } }),
      },
      kind: "failed_precondition",
      message: /packageManager .* is not "<npm\|pnpm\|yarn\|bun>@<version>"/,
    },
    {
      name: "SvelteKit with adapter-auto",
      files: {
        "package.json": pkg({
          devDependencies: { "@sveltejs/kit": "2", "@sveltejs/adapter-auto": "3" },
        }),
        "svelte.config.js": "import adapter from '@sveltejs/adapter-auto';",
      },
      kind: "failed_precondition",
      message: /adapter-auto builds nothing the platform can run/,
    },
    {
      name: "an angular.json that is not JSON",
      files: {
        "package.json": pkg({
          scripts: { build: "ng build" },
          dependencies: { "@angular/core": "19" },
        }),
        "angular.json": "{ projects: ",
      },
      kind: "failed_precondition",
      message: /angular\.json is not valid JSON/,
    },
    {
      name: "an Angular outputPath outside the repository",
      files: {
        "package.json": pkg({
          scripts: { build: "ng build" },
          dependencies: { "@angular/core": "19" },
        }),
        "angular.json": JSON.stringify({
          projects: { a: { architect: { build: { options: { outputPath: "../../etc" } } } } },
        }),
      },
      kind: "failed_precondition",
      message: /angular\.json: outputPath "\.\.\/\.\.\/etc" is not a plain relative path/,
    },
    {
      name: "an output folder outside the repository",
      files: {
        "package.json": pkg({ scripts: { build: "vite build" }, devDependencies: { vite: "8" } }),
        "vite.config.js": "build: { outDir: '../../etc' }",
      },
      kind: "failed_precondition",
      message: /outDir "\.\.\/\.\.\/etc" is not a plain relative path/,
    },
    {
      name: "an output folder with a newline",
      files: {
        "package.json": pkg({ dependencies: { astro: "5" } }),
        "astro.config.mjs": "outDir: 'a b'",
      },
      kind: "failed_precondition",
      message: /outDir "a b" is not a plain relative path/,
    },
    {
      name: "a Django project whose wsgi.py is missing",
      files: {
        "manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')",
        "requirements.txt": "django",
      },
      kind: "failed_precondition",
      message: /cannot find the project's wsgi\.py/,
    },
    {
      name: "a Flask app without an app object",
      files: { "requirements.txt": "flask", "app.py": "print(1)" },
      kind: "failed_precondition",
      message: /a Flask app, but no module/,
    },
    {
      name: "a Go module with nothing to run",
      files: { "go.mod": "module x\n", "lib.go": "package lib" },
      kind: "failed_precondition",
      message: /no package main/,
    },
    {
      name: "a Go Procfile that needs a shell",
      files: {
        "go.mod": "module x\n",
        "main.go": "package main",
        Procfile: "web: bin/x --port $PORT",
      },
      kind: "failed_precondition",
      message: /without a shell/,
    },
    {
      name: "a Procfile alone",
      files: { Procfile: "web: ./run" },
      kind: "failed_precondition",
      message: /nothing says how to build it/,
    },
    {
      name: "a base image that would break the FROM line",
      files: { "package.json": pkg({ scripts: { start: "x" } }) },
      options: { nodeImage: "node:20\nRUN touch /pwned" },
      kind: "invalid_argument",
      message: /not a valid image reference/,
    },
  ];

  for (const c of failures) {
    it(`refuses ${c.name}`, () => {
      assert.throws(
        () => detectBuild(input(c.files), { ...images, ...c.options }),
        (error: unknown) => {
          assert.ok(error instanceof DomainError, String(error));
          assert.equal(error.kind, c.kind);
          assert.match(error.message, c.message);
          return true;
        },
      );
    });
  }
});
