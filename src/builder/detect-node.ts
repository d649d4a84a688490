/**
 * A Node.js app, read from its package.json, lockfiles and framework configuration: which
 * package manager installs it, which Node.js major runs it, and what the build leaves to run —
 * a static folder (served by the static server) or a server (with its start command). Pure.
 */
import { failedPrecondition } from "../domain/index.js";
import { contextPath } from "./dockerfile-lines.js";
import { majorForRange, majorFromVersionFile } from "./node-version.js";
import type { PlanReason } from "./plan.js";
import type { SourceTree } from "./source-tree.js";

export interface PackageJson {
  scripts: Record<string, string>;
  /** dependencies and devDependencies together: both tell what the app is built with. */
  dependencies: Record<string, string>;
  main: string | undefined;
  enginesNode: string | undefined;
  packageManager: string | undefined;
  workspaces: boolean;
}

export type PackageManagerName = "npm" | "pnpm" | "yarn" | "yarn-berry" | "bun";

export interface PackageManager {
  name: PackageManagerName;
  /** RUN commands that install the tool itself, before the dependencies. */
  setup: string[];
  /** The command that installs the dependencies. */
  install: string;
  /** The build stage's environment for it. */
  env: Record<string, string>;
  /** Files and folders of the context copied before the install (those that exist). */
  manifests: string[];
}

export type NodeOutput =
  | {
      kind: "static";
      /** The folder the build writes the site to, relative to /app. */
      dir: string;
      /** The page served for paths that match no file (an SPA's client-side routes). */
      fallback: string | undefined;
      /** The folder is in the sources as they are: nothing to install or build. */
      asIs?: true;
    }
  | {
      kind: "server";
      command: string[];
      /** The run stage's environment (how the framework is told to listen on all interfaces). */
      env: Record<string, string>;
      /** What the run stage copies from the build stage's /app, [from, to]; all of it when empty. */
      copies: [string, string][];
    };

export interface NodeApp {
  /** The framework, for people: "Vite (static output)". */
  framework: string;
  packageManager: PackageManager;
  /** The Node.js major version; undefined for Bun apps. */
  major: number | undefined;
  /** The build script's command (`npm run build`), when there is one. */
  build: string | undefined;
  /** Whether the whole source is needed before the install (workspaces, install scripts). */
  sourceBeforeInstall: boolean;
  output: NodeOutput;
}

interface Context {
  tree: SourceTree;
  files: Set<string>;
  pkg: PackageJson;
  pm: PackageManager;
  reasons: PlanReason[];
}

export function analyzeNode(
  tree: SourceTree,
  reasons: PlanReason[],
  options: { defaultMajor: number; procfileWeb?: string | undefined },
): NodeApp {
  const pkg = parsePackageJson(tree.contents.get("package.json") ?? "");
  const files = new Set(tree.files);
  const pm = packageManager(tree, files, pkg, reasons);
  const major = pm.name === "bun" ? undefined : nodeMajor(tree, pkg, options.defaultMajor, reasons);
  const ctx: Context = { tree, files, pkg, pm, reasons };

  const buildScript = pkg.scripts.build;
  const build = buildScript === undefined ? undefined : runScript(pm.name, "build");
  if (buildScript !== undefined) {
    reasons.push({ file: "package.json", detail: `script build "${clip(buildScript)}": ${build}` });
  }
  const installScripts = ["preinstall", "install", "postinstall", "prepare"].filter(
    (name) => typeof pkg.scripts[name] === "string",
  );
  const local = Object.entries(pkg.dependencies).find(([, spec]) =>
    /^(file|link|workspace):/.test(spec),
  );
  const sourceBeforeInstall =
    pkg.workspaces ||
    files.has("pnpm-workspace.yaml") ||
    installScripts.length > 0 ||
    local !== undefined;
  if (sourceBeforeInstall) {
    const why =
      pkg.workspaces || files.has("pnpm-workspace.yaml")
        ? "workspaces"
        : local !== undefined
          ? `the local dependency "${clip(local[0])}"`
          : `the ${installScripts.join(", ")} script${installScripts.length > 1 ? "s" : ""}`;
    reasons.push({
      file: "package.json",
      detail: `${why}: the whole source is copied before the install`,
    });
  }

  let framework: string;
  let output: NodeOutput;
  const found = FRAMEWORKS.find((candidate) => candidate.marker(ctx) !== undefined);
  if (found !== undefined) {
    const marker = found.marker(ctx) as string;
    const decided = found.decide(ctx);
    reasons.push({
      file: decided.file ?? "package.json",
      detail: `${decided.file === undefined ? `dependency "${marker}": ` : ""}${decided.detail}`,
    });
    framework = decided.label;
    output = decided.output;
  } else {
    const server = genericServer(ctx);
    framework = server.label;
    output = server.output;
  }

  if (options.procfileWeb !== undefined) {
    reasons.push({
      file: "Procfile",
      detail: "the web: line starts the app (it wins over the framework's way)",
    });
    output = {
      kind: "server",
      command: ["sh", "-c", options.procfileWeb],
      env: output.kind === "server" ? output.env : {},
      copies: [],
    };
    framework = `${framework.replace(/ \(.*\)$/, "")} (Procfile)`;
  }
  return { framework, packageManager: pm, major, build, sourceBeforeInstall, output };
}

// ---------------------------------------------------------------------------------------------
// package.json

export function parsePackageJson(text: string): PackageJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw failedPrecondition(`package.json is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw failedPrecondition("package.json must hold a JSON object");
  }
  const record = value as Record<string, unknown>;
  const scripts = record.scripts ?? {};
  if (typeof scripts !== "object" || scripts === null || Array.isArray(scripts)) {
    throw failedPrecondition('package.json "scripts" must be an object');
  }
  const strings = (object: unknown): Record<string, string> =>
    typeof object === "object" && object !== null && !Array.isArray(object)
      ? Object.fromEntries(
          Object.entries(object).filter(
            (entry): entry is [string, string] => typeof entry[1] === "string",
          ),
        )
      : {};
  const engines = record.engines as Record<string, unknown> | undefined;
  return {
    scripts: strings(scripts),
    dependencies: { ...strings(record.devDependencies), ...strings(record.dependencies) },
    main:
      typeof record.main === "string" && record.main.trim() !== "" ? record.main.trim() : undefined,
    enginesNode: typeof engines?.node === "string" ? engines.node : undefined,
    packageManager: typeof record.packageManager === "string" ? record.packageManager : undefined,
    workspaces: record.workspaces !== undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Package manager

const LOCKFILES: [string, PackageManagerName][] = [
  ["bun.lock", "bun"],
  ["bun.lockb", "bun"],
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["package-lock.json", "npm"],
  ["npm-shrinkwrap.json", "npm"],
];

/** Files that configure the install, copied with the manifests when they exist. */
const INSTALL_CONFIG = [
  ".npmrc",
  ".yarnrc",
  ".yarnrc.yml",
  ".pnpmfile.cjs",
  "pnpm-workspace.yaml",
  "bunfig.toml",
];
const INSTALL_FOLDERS = [".yarn/releases", ".yarn/plugins", ".yarn/patches", "patches"];

function packageManager(
  tree: SourceTree,
  files: Set<string>,
  pkg: PackageJson,
  reasons: PlanReason[],
): PackageManager {
  const field =
    pkg.packageManager === undefined
      ? undefined
      : /^(npm|pnpm|yarn|bun)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+[0-9A-Za-z.-]+)?$/.exec(
          pkg.packageManager.trim(),
        );
  if (pkg.packageManager !== undefined && field === null) {
    throw failedPrecondition(
      `package.json: packageManager "${clip(pkg.packageManager)}" is not "<npm|pnpm|yarn|bun>@<version>"`,
    );
  }
  const present = LOCKFILES.filter(([file]) => files.has(file));
  let name: PackageManagerName;
  let lockfile: string | undefined;
  let version: string | undefined;
  if (field) {
    name = field[1] as PackageManagerName;
    version = field[2];
    lockfile = present.find(([, owner]) => owner === name)?.[0];
    reasons.push({ file: "package.json", detail: `packageManager "${field[1]}@${version}"` });
  } else if (present.length > 0) {
    [lockfile, name] = present[0] as [string, PackageManagerName];
    const others = present.slice(1).map(([file]) => file);
    reasons.push({
      file: lockfile,
      detail: `${name}'s lockfile${others.length > 0 ? ` (wins over ${others.join(", ")})` : ""}`,
    });
  } else {
    name = "npm";
    reasons.push({
      file: "",
      detail: "no lockfile: npm install (commit a lockfile for repeatable builds)",
    });
  }

  const head = lockfile === undefined ? "" : (tree.contents.get(lockfile) ?? "");
  const env: Record<string, string> = {};
  const setup: string[] = [];
  let install = "npm install";
  switch (name) {
    case "npm":
      install = lockfile === undefined ? "npm install" : "npm ci";
      break;
    case "pnpm": {
      const pnpm = version ?? pnpmForLockfile(head);
      setup.push(`npm install -g pnpm@${pnpm}`);
      install = lockfile === undefined ? "pnpm install" : "pnpm install --frozen-lockfile";
      if (version === undefined)
        reasons.push({
          file: lockfile ?? "",
          detail: `pnpm ${pnpm} (from the lockfile's version)`,
        });
      break;
    }
    case "yarn": {
      const berry =
        (version !== undefined && !version.startsWith("1.")) ||
        files.has(".yarnrc.yml") ||
        head.includes("__metadata:");
      if (!berry) {
        // The official Node.js images carry yarn 1.
        install =
          lockfile === undefined
            ? "yarn install --non-interactive"
            : "yarn install --frozen-lockfile --non-interactive";
        break;
      }
      name = "yarn-berry";
      const yarnrc = tree.contents.get(".yarnrc.yml") ?? "";
      const yarnPath = /^yarnPath:\s*["']?([^"'\s]+)["']?\s*$/m.exec(yarnrc)?.[1];
      if (yarnPath !== undefined && files.has(yarnPath.replace(/^\.\//, ""))) {
        reasons.push({
          file: ".yarnrc.yml",
          detail: `yarnPath ${clip(yarnPath)}: the repository's own Yarn`,
        });
      } else {
        // Corepack would fetch Yarn from repo.yarnpkg.com and check npm's signing keys, which
        // older copies of it do not know: the same release comes from the npm registry instead.
        setup.push(`npm install -g --force @yarnpkg/cli-dist@${version ?? "4"}`);
      }
      const linker = /^nodeLinker:\s*["']?([a-z-]+)/m.exec(yarnrc)?.[1];
      if (linker !== "node-modules" && linker !== "pnpm") {
        env.YARN_NODE_LINKER = "node-modules";
        reasons.push({
          file: ".yarnrc.yml",
          detail: "Plug'n'Play is installed as node_modules, so that the app starts without Yarn",
        });
      }
      env.YARN_ENABLE_TELEMETRY = "0";
      install = lockfile === undefined ? "yarn install" : "yarn install --immutable";
      break;
    }
    case "bun":
      install = lockfile === undefined ? "bun install" : "bun install --frozen-lockfile";
      break;
  }
  const manifests = [
    "package.json",
    ...(lockfile === undefined ? [] : [lockfile]),
    ...INSTALL_CONFIG.filter((file) => files.has(file)),
    ...INSTALL_FOLDERS.filter((folder) => tree.files.some((file) => file.startsWith(`${folder}/`))),
  ];
  return { name, setup, install, env, manifests };
}

/** pnpm's lockfile format by the major that writes it. */
function pnpmForLockfile(head: string): string {
  const format = /^lockfileVersion:\s*['"]?(\d+)(?:\.(\d+))?/m.exec(head);
  const major = Number(format?.[1] ?? 9);
  const minor = Number(format?.[2] ?? 0);
  if (major >= 9) return "9";
  if (major === 6) return "8";
  if (major === 5 && minor >= 4) return "7";
  return "6";
}

export function runScript(pm: PackageManagerName, script: string): string {
  switch (pm) {
    case "npm":
      return `npm run ${script}`;
    case "pnpm":
      return `pnpm run ${script}`;
    case "yarn":
    case "yarn-berry":
      return `yarn run ${script}`;
    case "bun":
      return `bun run ${script}`;
  }
}

/** How the run stage starts a script: npm is in every Node.js image; Bun's image has bun. */
function startScript(pm: PackageManagerName, script: string): string[] {
  if (pm === "bun") return ["bun", "run", script];
  return script === "start" ? ["npm", "start"] : ["npm", "run", script];
}

// ---------------------------------------------------------------------------------------------
// Node.js version

function nodeMajor(
  tree: SourceTree,
  pkg: PackageJson,
  defaultMajor: number,
  reasons: PlanReason[],
): number {
  if (pkg.enginesNode !== undefined) {
    const major = majorForRange(pkg.enginesNode, defaultMajor);
    if (major === undefined) {
      throw failedPrecondition(
        `package.json: engines.node "${clip(pkg.enginesNode)}" allows no Node.js version the builder can pick (write a range such as ">=20" or "22.x")`,
      );
    }
    reasons.push({
      file: "package.json",
      detail: `engines.node "${clip(pkg.enginesNode)}": Node.js ${major}`,
    });
    return major;
  }
  for (const file of [".nvmrc", ".node-version"]) {
    const text = tree.contents.get(file);
    if (text === undefined) continue;
    const major = majorFromVersionFile(text);
    if (major === undefined) {
      throw failedPrecondition(
        `${file}: "${clip(text.trim())}" is not a Node.js version such as 22 or lts/jod`,
      );
    }
    reasons.push({ file, detail: `Node.js ${major}` });
    return major;
  }
  reasons.push({ file: "", detail: `no engines.node: Node.js ${defaultMajor}` });
  return defaultMajor;
}

// ---------------------------------------------------------------------------------------------
// Frameworks

interface Decision {
  label: string;
  output: NodeOutput;
  detail: string;
  /** The file that decided, when not package.json's dependency. */
  file?: string;
}

interface Framework {
  /** The dependency (or other sign) that marks the framework; undefined when absent. */
  marker(ctx: Context): string | undefined;
  decide(ctx: Context): Decision;
}

const dependency =
  (...names: string[]) =>
  (ctx: Context) =>
    names.find((name) => ctx.pkg.dependencies[name] !== undefined);

const CONFIG_EXTENSIONS = ["js", "mjs", "cjs", "ts", "mts", "cts"];

/** The first `<base>.config.<ext>` of the root, with its text. */
function config(ctx: Context, base: string): { file: string; text: string } | undefined {
  for (const ext of CONFIG_EXTENSIONS) {
    const file = `${base}.config.${ext}`;
    const text = ctx.tree.contents.get(file);
    if (text !== undefined) return { file, text };
  }
  return undefined;
}

/** A string option in a configuration's text, e.g. `outDir: "build"`. */
function option(text: string | undefined, name: string): string | undefined {
  if (text === undefined) return undefined;
  return new RegExp(`\\b${name}\\s*:\\s*["'\`]([^"'\`\\n]+)["'\`]`).exec(text)?.[1];
}

const staticOutput = (dir: string, fallback?: string): NodeOutput => ({
  kind: "static",
  dir,
  fallback,
});
const server = (
  command: string[],
  env: Record<string, string> = {},
  copies: [string, string][] = [],
): NodeOutput => ({
  kind: "server",
  command,
  env,
  copies,
});

function outputDir(
  value: string | undefined,
  fallback: string,
  file: string,
  what: string,
): string {
  return value === undefined ? fallback : contextPath(value, what, file);
}

/** In the order they are tried: frameworks built on others (Vite) come before them. */
const FRAMEWORKS: Framework[] = [
  {
    marker: dependency("next"),
    decide(ctx) {
      const file = config(ctx, "next");
      const mode = /\boutput\s*:\s*["'`](standalone|export)["'`]/.exec(file?.text ?? "")?.[1];
      if (mode === "export") {
        return {
          label: "Next.js (static export)",
          output: staticOutput("out"),
          file: file?.file,
          detail: 'output: "export": a static site in out/',
        };
      }
      if (mode === "standalone") {
        const copies: [string, string][] = [
          [".next/standalone", "."],
          [".next/static", ".next/static"],
        ];
        if (ctx.tree.files.some((path) => path.startsWith("public/")))
          copies.push(["public", "public"]);
        return {
          label: "Next.js (standalone server)",
          // Next's standalone server binds to $HOSTNAME, which Docker sets to the container's id.
          output: server(["node", "server.js"], { HOSTNAME: "0.0.0.0" }, copies),
          file: file?.file,
          detail: 'output: "standalone": node server.js with only the files it traced',
        };
      }
      const start =
        ctx.pkg.scripts.start !== undefined
          ? startScript(ctx.pm.name, "start")
          : ["node_modules/.bin/next", "start"];
      return {
        label: "Next.js (next start)",
        output: server(start),
        detail:
          'a Next.js server started with next start (output: "standalone" in next.config makes a smaller image)',
      };
    },
  },
  {
    marker: dependency("nuxt", "nuxt3"),
    decide(ctx) {
      const build = ctx.pkg.scripts.build ?? "";
      if (/\bnux[ti]\s+generate\b/.test(build)) {
        return {
          label: "Nuxt (static, nuxt generate)",
          output: staticOutput(".output/public"),
          detail: "build runs nuxt generate: a static site in .output/public",
        };
      }
      return {
        label: "Nuxt (Nitro server)",
        output: server(["node", ".output/server/index.mjs"], { HOST: "0.0.0.0" }, [
          [".output", ".output"],
        ]),
        detail:
          "a Nitro server in .output (nuxt generate in the build script would make a static site)",
      };
    },
  },
  {
    marker: dependency("@sveltejs/kit"),
    decide(ctx) {
      const configs = [config(ctx, "svelte"), config(ctx, "vite")].filter((c) => c !== undefined);
      const fromConfig = configs
        .map((c) => ({
          file: c.file,
          text: c.text,
          adapter: /@sveltejs\/adapter-([a-z-]+)/.exec(c.text)?.[1],
        }))
        .find((c) => c.adapter !== undefined);
      const adapter =
        fromConfig?.adapter ??
        Object.keys(ctx.pkg.dependencies)
          .find((name) => name.startsWith("@sveltejs/adapter-"))
          ?.slice("@sveltejs/adapter-".length);
      const file = fromConfig?.file ?? "package.json";
      if (adapter === "static") {
        const dir = outputDir(option(fromConfig?.text, "pages"), "build", file, "pages");
        const fallback = option(fromConfig?.text, "fallback");
        return {
          label: `SvelteKit (static${fallback === undefined ? "" : ", SPA"})`,
          output: staticOutput(
            dir,
            fallback === undefined ? undefined : contextPath(fallback, "fallback", file),
          ),
          file,
          detail: `@sveltejs/adapter-static: a static site in ${dir}/${fallback === undefined ? "" : `, ${fallback} for other paths`}`,
        };
      }
      if (adapter === "node") {
        const out = outputDir(option(fromConfig?.text, "out"), "build", file, "out");
        return {
          label: "SvelteKit (Node.js server)",
          output: server(["node", out]),
          file,
          detail: `@sveltejs/adapter-node: node ${out}`,
        };
      }
      throw failedPrecondition(
        `${file}: SvelteKit with ${adapter === undefined ? "no adapter" : `@sveltejs/adapter-${adapter}`} builds nothing the platform can run: use @sveltejs/adapter-node (a server) or @sveltejs/adapter-static (a static site)`,
      );
    },
  },
  {
    marker: dependency("astro"),
    decide(ctx) {
      const file = config(ctx, "astro");
      const outDir = outputDir(
        option(file?.text, "outDir"),
        "dist",
        file?.file ?? "package.json",
        "outDir",
      );
      if (ctx.pkg.dependencies["@astrojs/node"] !== undefined) {
        return {
          label: "Astro (Node.js server)",
          output: server(["node", `./${outDir}/server/entry.mjs`], { HOST: "0.0.0.0" }),
          detail: `dependency "@astrojs/node": node ${outDir}/server/entry.mjs`,
        };
      }
      const other = ["@astrojs/vercel", "@astrojs/netlify", "@astrojs/cloudflare"].find(
        (name) => ctx.pkg.dependencies[name] !== undefined,
      );
      if (other !== undefined) {
        throw failedPrecondition(
          `package.json: Astro with ${other} builds for that service: use @astrojs/node for a server, or no adapter for a static site`,
        );
      }
      return {
        label: "Astro (static output)",
        output: staticOutput(outDir),
        file: file?.file,
        detail: `no server adapter: a static site in ${outDir}/`,
      };
    },
  },
  {
    marker: dependency("@react-router/dev", "@remix-run/dev", "@remix-run/serve"),
    decide(ctx) {
      const file = config(ctx, "react-router");
      if (file !== undefined && /\bssr\s*:\s*false\b/.test(file.text)) {
        return {
          label: "React Router (SPA)",
          output: staticOutput("build/client", "index.html"),
          file: file.file,
          detail: "ssr: false: a single-page app in build/client/",
        };
      }
      if (ctx.pkg.scripts.start === undefined) {
        throw failedPrecondition(
          'package.json: a Remix / React Router app needs its "start" script (react-router-serve or remix-serve)',
        );
      }
      return {
        label: "Remix / React Router (server)",
        output: server(startScript(ctx.pm.name, "start")),
        detail: "its start script serves the build",
      };
    },
  },
  {
    marker: (ctx) =>
      ctx.pkg.dependencies["@angular/core"] !== undefined && ctx.files.has("angular.json")
        ? "@angular/core"
        : undefined,
    decide: angular,
  },
  {
    marker: dependency("gatsby"),
    decide: () => ({
      label: "Gatsby (static output)",
      output: staticOutput("public"),
      detail: "a static site in public/",
    }),
  },
  {
    marker: dependency("@docusaurus/core"),
    decide: () => ({
      label: "Docusaurus (static output)",
      output: staticOutput("build"),
      detail: "a static site in build/",
    }),
  },
  {
    marker: dependency("react-scripts"),
    decide: () => ({
      label: "Create React App (static output)",
      output: staticOutput("build", "index.html"),
      detail: "a single-page app in build/",
    }),
  },
  {
    marker: dependency("@vue/cli-service"),
    decide: (ctx) => {
      const file = config(ctx, "vue");
      const dir = outputDir(
        option(file?.text, "outputDir"),
        "dist",
        file?.file ?? "package.json",
        "outputDir",
      );
      return {
        label: "Vue CLI (static output)",
        output: staticOutput(dir, "index.html"),
        detail: `a single-page app in ${dir}/`,
      };
    },
  },
  {
    marker: dependency("@11ty/eleventy"),
    decide: () => ({
      label: "Eleventy (static output)",
      output: staticOutput("_site"),
      detail: "a static site in _site/",
    }),
  },
  {
    marker: dependency("@nestjs/core"),
    decide(ctx) {
      if (ctx.pkg.scripts["start:prod"] !== undefined) {
        return {
          label: "NestJS",
          output: server(startScript(ctx.pm.name, "start:prod")),
          detail: "its start:prod script runs the compiled app",
        };
      }
      return {
        label: "NestJS",
        output: server(["node", "dist/main"]),
        detail: "node dist/main, where nest build compiles the app",
      };
    },
  },
  {
    // Vite as the app's bundler: a static site, unless a start script runs a server of its own.
    marker: (ctx) =>
      ctx.pkg.dependencies.vite !== undefined &&
      /\bvite\s+build\b/.test(ctx.pkg.scripts.build ?? "") &&
      !ownServer(ctx.pkg.scripts.start)
        ? "vite"
        : undefined,
    decide(ctx) {
      const file = config(ctx, "vite");
      const dir = outputDir(
        option(file?.text, "outDir"),
        "dist",
        file?.file ?? "package.json",
        "outDir",
      );
      return {
        label: "Vite (static output)",
        output: staticOutput(dir, "index.html"),
        detail: `build runs vite build: a single-page app in ${dir}/, index.html for other paths`,
      };
    },
  },
];

/**
 * Angular CLI: angular.json's build target says where `ng build` writes. The application builder
 * (Angular 17 and later) writes the browser's files to `<outputPath>/browser` and, with SSR, a
 * server to `<outputPath>/server/server.mjs`; the older browser builder writes to `outputPath`.
 */
function angular(ctx: Context): Decision {
  const file = "angular.json";
  let workspace: unknown;
  try {
    workspace = JSON.parse(ctx.tree.contents.get(file) ?? "");
  } catch (error) {
    throw failedPrecondition(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const record = (value: unknown): Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  const projects = record(record(workspace).projects);
  const names = Object.keys(projects).filter(
    (name) => record(projects[name]).projectType !== "library",
  );
  const preferred = record(workspace).defaultProject;
  const name = typeof preferred === "string" && names.includes(preferred) ? preferred : names[0];
  if (name === undefined) {
    throw failedPrecondition(`${file}: no application project (projectType "application")`);
  }
  const project = record(projects[name]);
  const target = record(record(project.architect ?? project.targets).build);
  const builder = typeof target.builder === "string" ? target.builder : "";
  const options = record(target.options);
  const outputPath = options.outputPath;
  const base = outputDir(
    typeof outputPath === "string"
      ? outputPath
      : typeof record(outputPath).base === "string"
        ? (record(outputPath).base as string)
        : undefined,
    `dist/${name}`,
    file,
    "outputPath",
  );
  if (!/:application$/.test(builder)) {
    return {
      label: "Angular (static output)",
      output: staticOutput(base, "index.html"),
      file,
      detail: `project "${clip(name)}", builder ${clip(builder || "(none)")}: a single-page app in ${base}/`,
    };
  }
  // outputMode "static" (Angular 19) prerenders every route and needs no server at run time.
  const ssr = options.ssr !== undefined && options.ssr !== false && options.outputMode !== "static";
  if (ssr) {
    const entry = `${base}/server/server.mjs`;
    return {
      label: "Angular (SSR server)",
      output: server(["node", entry]),
      file,
      detail: `project "${clip(name)}" with ssr: node ${entry}`,
    };
  }
  const browser = record(outputPath).browser;
  const dir =
    browser === ""
      ? base
      : `${base}/${typeof browser === "string" ? contextPath(browser, "outputPath.browser", file) : "browser"}`;
  return {
    label: "Angular (static output)",
    output: staticOutput(dir, "index.html"),
    file,
    detail: `project "${clip(name)}", application builder: a single-page app in ${dir}/`,
  };
}

/** Whether a start script runs something other than a dev or preview server of a bundler. */
function ownServer(start: string | undefined): boolean {
  return start !== undefined && !/^\s*vite(\s|$)|\bvite\s+preview\b/.test(start);
}

const ENTRY_FILES = [
  "server.js",
  "index.js",
  "app.js",
  "main.js",
  "server.mjs",
  "index.mjs",
  "app.mjs",
  "server.cjs",
  "index.cjs",
];

const SERVER_FRAMEWORKS: Record<string, string> = {
  express: "Express",
  fastify: "Fastify",
  koa: "Koa",
  "@hapi/hapi": "hapi",
  hono: "Hono",
};

function genericServer(ctx: Context): { label: string; output: NodeOutput } {
  const { pkg, pm, reasons, files } = ctx;
  const runtime = pm.name === "bun" ? "bun" : "node";
  const env: Record<string, string> = {};
  let label =
    Object.entries(SERVER_FRAMEWORKS).find(([name]) => pkg.dependencies[name] !== undefined)?.[1] ??
    "Node.js server";
  if (/\bfastify\s+start\b/.test(pkg.scripts.start ?? "")) {
    label = "Fastify (fastify-cli)";
    // fastify-cli listens on localhost unless told otherwise.
    env.FASTIFY_ADDRESS = "0.0.0.0";
    reasons.push({
      file: "package.json",
      detail:
        "start runs fastify start: FASTIFY_ADDRESS=0.0.0.0, so that it listens beyond localhost",
    });
  }
  if (pkg.scripts.start !== undefined) {
    reasons.push({ file: "package.json", detail: `script start "${clip(pkg.scripts.start)}"` });
    return { label, output: server(startScript(pm.name, "start"), env) };
  }
  if (pkg.main !== undefined) {
    reasons.push({
      file: "package.json",
      detail: `no start script; main "${clip(pkg.main)}": ${runtime} ${clip(pkg.main)}`,
    });
    return { label, output: server([runtime, pkg.main], env) };
  }
  const entry = ENTRY_FILES.find((file) => files.has(file));
  if (entry !== undefined) {
    reasons.push({ file: entry, detail: `no start script or main: ${runtime} ${entry}` });
    return { label, output: server([runtime, entry], env) };
  }
  const site = ["index.html", "public/index.html"].find((file) => files.has(file));
  if (site !== undefined && pkg.scripts.build === undefined) {
    const dir = site === "index.html" ? "." : "public";
    reasons.push({
      file: site,
      detail: `no start script, main or build: a static site, served from ${dir === "." ? "the root" : `${dir}/`} as it is`,
    });
    return {
      label: "static site",
      output: { kind: "static", dir, fallback: undefined, asIs: true },
    };
  }
  throw failedPrecondition(
    'package.json has no "start" script and no "main", there is no server.js or index.js, and no framework the builder knows (Next.js, Vite, Astro, SvelteKit, Nuxt, …): add a start script that runs the app, or a Procfile with a web: line',
  );
}

function clip(text: string): string {
  const line = text.replace(/[\r\n]+/g, " ");
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
