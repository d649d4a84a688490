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
// Left out of the bundle and loaded from node_modules: PGlite, which finds its WebAssembly module
// and data files beside its code, and Vite (the dashboard's build, for development). Those are
// the package's dependencies; everything else is a devDependency.
//
// Dockerode's BuildKit session (gRPC and protobufjs, some 140 modules, for `buildImage` with
// `version: "2"`) is replaced by a stub that throws if ever called: the platform builds with the
// classic builder. BullMQ's PostgreSQL backend is left out (nothing imports it). docker-modem's
// SSH transport (ssh2, for `ssh://` engines: src/runtime/docker-host.ts) is in the bundle but
// loaded only when an ssh engine is first dialled, so that a process on a Unix socket or TLS
// never evaluates it.
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const src = `${root}src`;
const dist = `${root}dist`;

const EXTERNAL = ["@electric-sql/pglite", "vite"];

const engineTransports = {
  name: "engine-transports",
  setup(b) {
    b.onResolve({ filter: /^\.\/session$/ }, (args) =>
      /\/dockerode\/lib\/docker\.js$/.test(args.importer)
        ? { path: "BuildKit sessions", namespace: "unused" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "unused" }, (args) => ({
      contents: `module.exports = () => { throw new Error(${JSON.stringify(`${args.path} are not part of this build (scripts/build.mjs)`)}); };`,
      loader: "js",
    }));
    // BullMQ's PostgreSQL backend (its SQL, some 300 kB of strings held in memory once loaded),
    // re-exported by its index: the platform's queues are on Redis.
    b.onResolve({ filter: /^\.\/postgres$/ }, (args) =>
      /\/bullmq\/dist\/cjs\/index\.js$/.test(args.importer)
        ? { path: "BullMQ's PostgreSQL backend", namespace: "unused-exports" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "unused-exports" }, () => ({
      contents: "module.exports = {};",
      loader: "js",
    }));
    // ssh2's native add-ons are optional (required in a try, with JavaScript fallbacks).
    b.onResolve({ filter: /\.node$/ }, (args) => ({
      path: `native add-on ${args.path}`,
      namespace: "unused",
    }));
    // docker-modem requires ./ssh (and with it ssh2) as it loads: required on first use instead.
    b.onResolve({ filter: /^\.\/ssh$/ }, (args) =>
      /\/docker-modem\/lib\/modem\.js$/.test(args.importer)
        ? { path: `${args.resolveDir}/ssh.js`, namespace: "lazy-ssh" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-ssh" }, (args) => ({
      contents: `module.exports = (options) => require(${JSON.stringify(args.path)})(options);`,
      loader: "js",
      resolveDir: "/",
    }));
  },
};

/**
 * Every output file is in dist/ itself, and a module's `import.meta.url` is made the URL its
 * file would have there (src/store/migrate.ts → dist/store/migrate.js), so that the paths the
 * code finds beside itself (../../package.json, ./migrations/, the dashboard's web/dist) resolve
 * as they do when src/ runs through tsx.
 */
function moduleUrl(text, path) {
  if (!text.includes("import.meta.url")) return text;
  const at = `./${relative(src, path).replace(/\.ts$/, ".js")}`;
  return text.replaceAll("import.meta.url", `new URL(${JSON.stringify(at)}, import.meta.url).href`);
}

/**
 * Another folder is entered through its index.ts (scripts/import-graph.ts, "Entries"), which
 * re-exports all the folder offers. Given two processes importing one index, esbuild would put
 * what one of them loads lazily in the chunks the other loads at start; so the bundle reads an
 * import from an index as imports from the modules that define the names, and each process
 * loads what it would importing those modules itself. (Through tsx an index loads its whole
 * folder, which is why an index loads no adapter library: the check makes sure of it.)
 *
 * The indexes are lists of `export { … } from "./module.js"`, `export * as name from` and
 * `export * from` as Biome formats them; an import of a name this does not find, or of the form
 * `import * as`, is left as written.
 */
const INDEX_IMPORT = /^(import|export)\s*\{([^}]*)\}\s*from\s*"(\.\.?\/[^"]*\/index\.js)";/gm;
const INDEX_EXPORT =
  /^export\s*(?:(type)\s*)?(?:\{([^}]*)\}|\*(?:\s*as\s+(\w+))?)\s*from\s*"([^"]+)";/gm;
const indexes = new Map();

/** What an index exports: name → its module and its name there (or the module's namespace). */
function indexExports(index) {
  let exports = indexes.get(index);
  if (exports) return exports;
  exports = { names: new Map(), stars: [] };
  indexes.set(index, exports);
  if (!existsSync(index)) return exports;
  for (const [, type, list, namespace, specifier] of readFileSync(index, "utf8").matchAll(
    INDEX_EXPORT,
  )) {
    const module = resolve(dirname(index), specifier).replace(/\.js$/, ".ts");
    if (type) continue;
    if (namespace) exports.names.set(namespace, { module, namespace: true });
    else if (list === undefined) exports.stars.push(module);
    else
      for (const item of list.split(",").map((i) => i.trim())) {
        if (!item || item.startsWith("type ")) continue;
        const [name, as = name] = item.split(/\s+as\s+/);
        exports.names.set(as, { module, name });
      }
  }
  return exports;
}

/** The module that defines what `index` exports as `name`, through other indexes. */
function definitionOf(index, name) {
  const { names, stars } = indexExports(index);
  const found = names.get(name) ?? (stars.length === 1 ? { module: stars[0], name } : undefined);
  if (found && !found.namespace && found.module.endsWith("/index.ts"))
    return definitionOf(found.module, found.name);
  return found;
}

function entryImports(text, path) {
  return text.replace(INDEX_IMPORT, (statement, keyword, list, specifier) => {
    const index = resolve(dirname(path), specifier).replace(/\.js$/, ".ts");
    const byModule = new Map();
    const namespaces = [];
    for (const item of list.split(",").map((i) => i.trim())) {
      // Types are erased: the statement keeps no trace of them.
      if (!item || item.startsWith("type ")) continue;
      const [name, as = name] = item.split(/\s+as\s+/);
      const found = definitionOf(index, name);
      if (!found) return statement;
      let from = relative(dirname(path), found.module).replace(/\.ts$/, ".js");
      if (!from.startsWith(".")) from = `./${from}`;
      if (found.namespace) namespaces.push(`${keyword} * as ${as} from "${from}";`);
      else
        byModule.set(from, [
          ...(byModule.get(from) ?? []),
          found.name === as ? as : `${found.name} as ${as}`,
        ]);
    }
    const statements = [...byModule].map(
      ([from, names]) => `${keyword} { ${names.join(", ")} } from "${from}";`,
    );
    return [...statements, ...namespaces].join(" ");
  });
}

const sources = {
  name: "sources",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(`${src}/`)) return undefined;
      const text = readFileSync(args.path, "utf8");
      return { contents: moduleUrl(entryImports(text, args.path), args.path), loader: "ts" };
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
  // The CommonJS libraries in the bundle call require() for Node's own modules, and some read
  // __filename and __dirname (ssh2's Poly1305 module).
  banner: {
    js: [
      'import { createRequire as __obienteRequire } from "node:module";',
      'import { fileURLToPath as __obienteFilePath } from "node:url";',
      "const require = __obienteRequire(import.meta.url);",
      "const __filename = __obienteFilePath(import.meta.url);",
      'const __dirname = __obienteFilePath(new URL(".", import.meta.url));',
    ].join(" "),
  },
  plugins: [sources, engineTransports],
  logLevel: "warning",
});
cpSync(`${src}/store/migrations`, `${dist}/store/migrations`, { recursive: true });
writeFileSync(`${dist}/.built`, `${new Date().toISOString()}\n`);
