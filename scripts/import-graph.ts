/**
 * The direction of imports between the folders of src/ (docs/architecture.md, "Layers").
 *
 * Every folder has a layer; a module may import its own folder and folders of a lower layer, never
 * one of its own layer or above it, so that no two folders import each other (directly or round a
 * longer cycle; the cycles are checked as well, should the table ever allow one). `src/app`, the composition root, is imported only by the entry point (`src/cli`).
 * Tests are left out: a test may build whatever it needs. Type-only imports count, since they
 * tie the folders together as much as any other.
 *
 * Run `node --import tsx scripts/import-graph.ts` for the figures; test/import-direction.test.ts
 * runs the check in `npm test`.
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
  // What every domain service receives (AppContext) and the response cache.
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

export interface Import {
  /** The importing file, relative to the repository (`src/nodes/service.ts`). */
  readonly from: string;
  /** The imported file, relative to the repository, as written with its `.js` extension. */
  readonly to: string;
  /** The specifier as written in the source. */
  readonly specifier: string;
}

/** The folder under src/ a path belongs to (`src/nodes/service.ts` → `nodes`). */
export function folderOf(path: string): string | undefined {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length > 2 ? parts[1] : undefined;
}

function sourceFiles(root: string, dir: string): string[] {
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

/** Every relative import between files of src/ (static, re-exports and dynamic `import()`). */
export function readImports(root: string): Import[] {
  const imports: Import[] = [];
  for (const from of sourceFiles(root, "src")) {
    const text = readFileSync(join(root, from), "utf8");
    for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!specifier.startsWith(".")) continue;
      const to = normalize(join(dirname(from), specifier))
        .split(sep)
        .join("/");
      if (to.startsWith("src/")) imports.push({ from, to, specifier });
    }
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
    if (a === undefined || b === undefined || a === b) continue;
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
  return problems;
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
