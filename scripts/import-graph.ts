/**
 * The imports between the folders of src/ (docs/architecture.md, "Layers"), three rules:
 *
 * - Direction. Every folder has a layer; a module may import its own folder and folders of a
 *   lower layer, never one of its own layer or above it, so that no two folders import each other
 *   (directly or round a longer cycle; the cycles are checked as well, should the table ever allow
 *   one). `src/app`, the composition root, is imported only by the entry point (`src/cli`).
 * - Entries. Another folder is entered through its index.ts (`../store/index.js`), which exports
 *   what the folder offers; a sub-folder (src/platform/redis) is part of its folder, entered
 *   through the folder's index too. A module imports its siblings directly, never its own
 *   folder's index, which imports it: a cycle. Three exceptions, each for a reason:
 *   - `import()` names the module it loads (`import("../api/server.js")`): a role or an adapter
 *     that only the process running it loads, so that the others never load its library (the
 *     CLI: test/cli-imports.test.ts). Through the index it would load its siblings as well.
 *   - The composition root (src/app) takes an adapter's code, which the adapter's index cannot
 *     offer (below), from its module: `DockerRuntime` from "../runtime/docker-runtime.js" in
 *     src/app/deploying.ts. Its types still come through the index.
 *   - src/gen, which buf writes (and empties first: `clean: true` in buf.gen.yaml), has no index:
 *     one module per protobuf package, imported by its path.
 * - Light entries. An index loads no adapter library (ADAPTER_LIBRARIES), itself or through what
 *   it exports, since every process importing anything from its folder would load it: of an
 *   adapter, an index exports the types only (`export type`, erased). Nor do the modules that
 *   every process loads (EVERY_PROCESS): an adapter is loaded where the role that uses it starts,
 *   with import() (src/app/deploying.ts and the engine clients it imports; the OIDC verifier).
 *
 * Tests are left out: a test may build whatever it needs. Type-only imports count, since they tie
 * the folders together as much as any other.
 *
 * Run `node --import tsx scripts/import-graph.ts` for the figures; test/import-direction.test.ts
 * runs the check in `npm test`. `node --import tsx scripts/entry-imports.ts` rewrites the imports
 * that reach into another folder to go through its index.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** Lowest first. Folders of one layer are peers: they do not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  // Errors, validation, labels, job names and the generated protobuf code: imported by everything.
  ["domain", "gen"],
  // Storage, platform services (cache, queue, locks, backoff), edges, the pure scheduler, and the
  // pure reading of git forges' webhook deliveries.
  ["crypto", "store", "platform", "scheduler", "edge", "forges"],
  // The engines: containers, services, images, names.
  ["runtime"],
  // What runs on an engine: image builds, tenants' network isolation.
  ["builder", "network"],
  ["config"],
  // What the composition root and the roles hold (AppContext), and the response cache.
  ["core"],
  ["auth"],
  ["access", "audit"],
  // Domain services, each over the database and the platform services (backups: over the
  // PostgreSQL members' backup agents).
  ["accounts", "organizations", "projects", "domains", "nodes", "backups"],
  ["deployments"],
  ["secrets"],
  // The roles: each runs on its own, none calls another.
  ["controller", "agent", "metrics"],
  ["api"],
  // The composition root, then the entry point that starts it.
  ["app"],
  ["cli"],
];

/**
 * The libraries that talk to a system outside the process (the container engine, Redis,
 * PostgreSQL, OIDC issuers) or serve it (the API's server, the dashboard's build): loaded only by a
 * process that runs what needs them, so never by an index.
 */
export const ADAPTER_LIBRARIES: readonly string[] = [
  "dockerode",
  "ioredis",
  "bullmq",
  "postgres",
  "@electric-sql/pglite",
  "fastify",
  "@connectrpc/connect-fastify",
  "jose",
  "vite",
];

/** Generated code, without an index: imported by its modules' paths. */
export const WITHOUT_INDEX: ReadonlySet<string> = new Set(["gen"]);

/** What every process loads, whatever its command and roles: the CLI's entry, the platform. */
export const EVERY_PROCESS: readonly string[] = ["src/cli/main.ts", "src/app/platform.ts"];

export interface Import {
  /** The importing file, relative to the repository (`src/nodes/service.ts`). */
  readonly from: string;
  /**
   * The imported file, relative to the repository, as written with its `.js` extension; or the
   * package's name (`dockerode`, `@connectrpc/connect`).
   */
  readonly to: string;
  /** The specifier as written in the source. */
  readonly specifier: string;
  /** `import()`: loaded when the code runs, not with the importing module. */
  readonly dynamic?: boolean;
  /** `import type`, `export type`: erased, so it loads nothing. */
  readonly typeOnly?: boolean;
}

/** The folder under src/ a path belongs to (`src/nodes/service.ts` → `nodes`). */
export function folderOf(path: string): string | undefined {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length > 2 ? parts[1] : undefined;
}

/** The entry of a folder, as an import names it (`src/store/index.js`). */
export const indexOf = (folder: string) => `src/${folder}/index.js`;

/** The specifier by which `from` names `to` (`../store/index.js`). */
export function specifierFor(from: string, to: string): string {
  const path = relative(dirname(from), to).split(sep).join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

/** The non-test TypeScript files of src/, generated code aside. */
export function sourceFiles(root: string, dir = "src"): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (path !== "src/gen") files.push(...sourceFiles(root, path));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
      files.push(path);
    }
  }
  return files;
}

/** The package a bare specifier names (`drizzle-orm/pg-core` → `drizzle-orm`). */
const packageOf = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

/**
 * Every import of the files of src/: relative ones to files of src/, and of packages (static,
 * re-exports, dynamic `import()` and `import("…")` types).
 */
export function readImports(root: string): Import[] {
  const imports: Import[] = [];
  for (const from of sourceFiles(root)) {
    const source = ts.createSourceFile(
      from,
      readFileSync(join(root, from), "utf8"),
      ts.ScriptTarget.Latest,
    );
    const add = (specifier: string, kind: { dynamic?: boolean; typeOnly?: boolean }) => {
      if (specifier.startsWith("node:")) return;
      const flags = {
        ...(kind.dynamic ? { dynamic: true } : {}),
        ...(kind.typeOnly ? { typeOnly: true } : {}),
      };
      if (!specifier.startsWith(".")) {
        imports.push({ from, to: packageOf(specifier), specifier, ...flags });
        return;
      }
      const to = normalize(join(dirname(from), specifier))
        .split(sep)
        .join("/");
      if (to.startsWith("src/")) imports.push({ from, to, specifier, ...flags });
    };
    const visit = (node: ts.Node): void => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        const typeOnly = ts.isImportDeclaration(node)
          ? (node.importClause?.isTypeOnly ?? false)
          : node.isTypeOnly;
        add(node.moduleSpecifier.text, { typeOnly });
      } else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        add(node.arguments[0].text, { dynamic: true });
      } else if (
        ts.isImportTypeNode(node) &&
        ts.isLiteralTypeNode(node.argument) &&
        ts.isStringLiteral(node.argument.literal)
      ) {
        add(node.argument.literal.text, { typeOnly: true });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return imports;
}

const layerOf = new Map(LAYERS.flatMap((folders, layer) => folders.map((f) => [f, layer])));

/** What is wrong with the imports, one line per offending import or cycle; empty when none. */
export function importProblems(imports: readonly Import[]): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Map<string, Import>>();
  for (const i of imports) {
    const a = folderOf(i.from);
    const b = folderOf(i.to);
    if (a === undefined || b === undefined) continue;
    if (a === b) {
      if (i.to === indexOf(a) && !i.from.endsWith("/index.ts") && !i.dynamic)
        problems.push(
          `${i.from} imports "${i.specifier}": a module imports its siblings, not its own folder's index, which imports it`,
        );
      continue;
    }
    const la = layerOf.get(a);
    const lb = layerOf.get(b);
    if (la === undefined)
      problems.push(`${i.from}: src/${a} has no layer in scripts/import-graph.ts`);
    else if (lb === undefined)
      problems.push(`${i.to}: src/${b} has no layer in scripts/import-graph.ts`);
    else if (lb >= la) {
      problems.push(
        `${i.from} imports "${i.specifier}": src/${a} (layer ${la}) must not import src/${b} (layer ${lb}), which is ${lb === la ? "its peer" : "above it"}`,
      );
    }
    const adapterFromRoot =
      a === "app" && !i.typeOnly && adapterChain(imports, i.to.replace(/\.js$/, ".ts"));
    if (!i.dynamic && !WITHOUT_INDEX.has(b) && i.to !== indexOf(b) && !adapterFromRoot) {
      problems.push(
        `${i.from} imports "${i.specifier}": another folder is entered through its index, "${specifierFor(i.from, indexOf(b))}" (or import() for a module loaded lazily)`,
      );
    }
    const out = edges.get(a) ?? new Map<string, Import>();
    if (!out.has(b)) out.set(b, i);
    edges.set(a, out);
  }
  for (const cycle of folderCycles(edges)) {
    const steps = cycle.map((folder, n) => {
      const next = cycle[(n + 1) % cycle.length] as string;
      const via = edges.get(folder)?.get(next);
      return `src/${folder} → src/${next} (${via?.from} imports "${via?.specifier}")`;
    });
    problems.push(`folders import each other: ${steps.join(", ")}`);
  }
  for (const file of new Set(imports.map((i) => i.from))) {
    const chain = adapterChain(imports, file);
    if (!chain) continue;
    if (/^src\/[^/]+\/index\.ts$/.test(file))
      problems.push(
        `${file} loads ${chain.at(-1)} (${chain.join(" → ")}): an index loads no adapter library; it exports the adapter's types only, and the adapter's code is imported from its module where it starts`,
      );
    else if (EVERY_PROCESS.includes(file))
      problems.push(
        `${file} loads ${chain.at(-1)} (${chain.join(" → ")}): every process loads it; an adapter library is loaded with import() where the role that uses it starts`,
      );
  }
  return problems;
}

/** Per list of imports: what each file loads as it is evaluated. */
const loadsOf = new WeakMap<readonly Import[], Map<string, string[]>>();

/**
 * The modules through which `file` loads an adapter library as it is evaluated (static imports
 * that are not type-only), ending with the library; undefined when it loads none.
 */
export function adapterChain(imports: readonly Import[], file: string): string[] | undefined {
  let loads = loadsOf.get(imports);
  if (!loads) {
    loads = new Map<string, string[]>();
    for (const i of imports) {
      if (i.dynamic || i.typeOnly) continue;
      const to = i.to.startsWith("src/") ? i.to.replace(/\.js$/, ".ts") : i.to;
      loads.set(i.from, [...(loads.get(i.from) ?? []), to]);
    }
    loadsOf.set(imports, loads);
  }
  const reached = new Map<string, string | undefined>([[file, undefined]]);
  const queue = [file];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of loads.get(at) ?? []) {
      if (reached.has(next)) continue;
      reached.set(next, at);
      if (ADAPTER_LIBRARIES.includes(next)) {
        const chain = [next];
        for (let step = reached.get(next); step !== undefined; step = reached.get(step))
          chain.unshift(step);
        return chain;
      }
      if (next.startsWith("src/")) queue.push(next);
    }
  }
  return undefined;
}

/** The folder-level cycles, each once, starting at its smallest folder name. */
function folderCycles(edges: ReadonlyMap<string, ReadonlyMap<string, Import>>): string[][] {
  const cycles = new Map<string, string[]>();
  const walk = (start: string, at: string, path: string[]) => {
    for (const next of edges.get(at)?.keys() ?? []) {
      if (next === start) {
        const smallest = path.indexOf([...path].sort()[0] as string);
        const cycle = [...path.slice(smallest), ...path.slice(0, smallest)];
        cycles.set(cycle.join(">"), cycle);
      } else if (!path.includes(next) && next > start) {
        walk(start, next, [...path, next]);
      }
    }
  };
  for (const start of edges.keys()) walk(start, start, [start]);
  return [...cycles.values()];
}

/** The repository's root, from this file's place in it. */
export const repositoryRoot = relative(
  process.cwd(),
  join(dirname(fileURLToPath(import.meta.url)), ".."),
);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problems = importProblems(readImports(repositoryRoot || "."));
  for (const problem of problems) console.log(problem);
  console.log(`${problems.length} problem(s)`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
