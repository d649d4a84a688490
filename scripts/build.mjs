#!/usr/bin/env node
// `npm run build` (`npm ci` runs it through `prepare`): compiles the program into dist/, which
// bin/obiente.js runs. Plain JavaScript, so that it needs nothing but esbuild, a devDependency.
//
// One bundle, split where the code imports a module with import() (a role, a driver, an
// adapter: src/app/platform.ts), so that a process still loads only what it runs; the libraries
// are in it, whitespace and dead code removed, names kept (stack traces stay readable). Against
// one file per module loaded from node_modules it holds some 10 MB less at rest and starts in
// about half the time (docs/benchmarks.md, "Footprint"). It does not type-check: `npm run
// typecheck` does.
//
// Left out of the bundle and loaded from node_modules: packages that find files of their own
// beside their code (PGlite's WebAssembly module and data, pino's transport workers), the
// Docker client (dockerode, and ssh2 under it, with optional native add-ons), the Redis client
// and BullMQ (loaded only with REDIS_URL), and Vite (the dashboard's build, for development).
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const src = `${root}src`;
const dist = `${root}dist`;

const EXTERNAL = ["@electric-sql/pglite", "dockerode", "vite"];

/**
 * Every output file is in dist/ itself, and a module's `import.meta.url` is made the URL its
 * file would have there (src/store/migrate.ts → dist/store/migrate.js), so that the paths the
 * code finds beside itself (../../package.json, ./migrations/, the dashboard's web/dist) resolve
 * as they do when src/ runs through tsx.
 */
const moduleUrls = {
  name: "module-urls",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(`${src}/`)) return undefined;
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta.url")) return { contents: text, loader: "ts" };
      const at = `./${relative(src, args.path).replace(/\.ts$/, ".js")}`;
      return {
        contents: text.replaceAll(
          "import.meta.url",
          `new URL(${JSON.stringify(at)}, import.meta.url).href`,
        ),
        loader: "ts",
      };
    });
  },
};

rmSync(dist, { recursive: true, force: true });
await build({
  entryPoints: { main: `${src}/cli/main.ts` },
  outdir: dist,
  chunkNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  minifyWhitespace: true,
  minifySyntax: true,
  // The CommonJS libraries in the bundle call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __obienteRequire } from "node:module"; const require = __obienteRequire(import.meta.url);',
  },
  plugins: [moduleUrls],
  logLevel: "warning",
});
cpSync(`${src}/store/migrations`, `${dist}/store/migrations`, { recursive: true });
writeFileSync(`${dist}/.built`, `${new Date().toISOString()}\n`);
