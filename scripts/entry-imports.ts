/**
 * Rewrites the imports that reach into another folder of src/ so that they enter it through its
 * index.ts (scripts/import-graph.ts, "Entries"), and adds to each index what they take from it:
 *
 *   import { type Tx, deployments } from "../store/schema.js";   →   "../store/index.js"
 *
 * Re-runnable: run it after a merge brings new imports (`--dry-run` lists the changes without
 * writing). Left alone, as the rule allows: `import()`, src/gen, an adapter's code imported by
 * src/app, tests. Left alone and listed, for a person to decide (the command then fails): an
 * import of a name the index already exports for something else (two modules of a folder with
 * one name), a default or side-effect import, `export *` from another folder, and a value from a
 * module that loads an adapter library outside src/app (the index would load the library in
 * every process: import the module with import() where the adapter starts).
 *
 * Each index gains named exports: `export { x } from "./m.js"` for a value, `export type { T }`
 * for a type (erased: the index does not load a module for its types), `export * as m` for an
 * `import * as`. The edited files are formatted with Biome, which sorts the imports and exports.
 *
 *   node --import tsx scripts/entry-imports.ts [--dry-run]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import {
  adapterChain,
  folderOf,
  indexOf,
  readImports,
  sourceFiles,
  specifierFor,
  WITHOUT_INDEX,
} from "./import-graph.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const dryRun = process.argv.includes("--dry-run");

/** An import or re-export declaration that names an inner module of another folder. */
interface Deep {
  readonly file: string;
  readonly node: ts.ImportDeclaration | ts.ExportDeclaration;
  readonly folder: string;
  readonly module: string;
  /** Named elements: the name at the module, the local (or re-exported) name, `type` or not. */
  readonly elements: Array<{ name: string; alias: string; typeOnly: boolean; symbol: ts.Symbol }>;
  /** `import * as alias` / `export * as alias`. */
  namespace?: string;
  readonly typeOnly: boolean;
  /** The name of the index's `export * as` for `namespace`. */
  indexName?: string;
  /** Why it is left alone, when it is. */
  blocked?: string;
}

/** What an index must gain. */
interface Addition {
  readonly values: Set<string>;
  readonly types: Set<string>;
  namespace?: string;
}

const abs = (path: string) => join(root, path);

const parsed = ts.parseJsonConfigFileContent(
  ts.readConfigFile(abs("tsconfig.json"), ts.sys.readFile).config,
  ts.sys,
  root,
);
const files = sourceFiles(root);
const program = ts.createProgram(files.map(abs), { ...parsed.options, noEmit: true });
const checker = program.getTypeChecker();
const imports = readImports(root);

const resolve = (symbol: ts.Symbol) =>
  symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;

/** The file a relative specifier names, `.js` read as `.ts` (`src/store/schema.ts`). */
const targetOf = (file: string, specifier: string) =>
  normalize(join(dirname(file), specifier))
    .split(sep)
    .join("/")
    .replace(/\.js$/, ".ts");

/** Whether an export of an index makes its module load (a value export, not `type`). */
function exportsValue(symbol: ts.Symbol): boolean {
  if (!(resolve(symbol).flags & ts.SymbolFlags.Value)) return false;
  const declaration = symbol.declarations?.[0];
  if (declaration && ts.isExportSpecifier(declaration))
    return !declaration.isTypeOnly && !declaration.parent.parent.isTypeOnly;
  return true;
}

/** The declarations of `file` that reach into another folder, other than through its index. */
function deepDeclarations(file: string): Deep[] {
  const source = program.getSourceFile(abs(file));
  if (!source) throw new Error(`${file} is not in the program`);
  const found: Deep[] = [];
  for (const node of source.statements) {
    if (!(ts.isImportDeclaration(node) || ts.isExportDeclaration(node))) continue;
    if (!node.moduleSpecifier || !ts.isStringLiteral(node.moduleSpecifier)) continue;
    const specifier = node.moduleSpecifier.text;
    if (!specifier.startsWith(".")) continue;
    const module = targetOf(file, specifier);
    const folder = folderOf(module);
    if (!folder || folder === folderOf(file) || WITHOUT_INDEX.has(folder)) continue;
    if (module.replace(/\.ts$/, ".js") === indexOf(folder)) continue;
    const typeOnly = ts.isImportDeclaration(node)
      ? (node.importClause?.isTypeOnly ?? false)
      : node.isTypeOnly;
    const deep: Deep = { file, node, folder, module, elements: [], typeOnly };
    found.push(deep);
    const element = (e: ts.ImportSpecifier | ts.ExportSpecifier, local: boolean) => {
      const name = (e.propertyName ?? e.name).text;
      const at = local ? e.name : (e.propertyName ?? e.name);
      const symbol = checker.getSymbolAtLocation(at);
      if (!symbol) {
        deep.blocked = `cannot resolve ${name}`;
        return;
      }
      deep.elements.push({
        name,
        alias: e.name.text,
        typeOnly: typeOnly || e.isTypeOnly,
        symbol: resolve(symbol),
      });
    };
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      if (!clause) deep.blocked = "a side-effect import";
      else if (clause.name) deep.blocked = "a default import";
      else if (clause.namedBindings && ts.isNamespaceImport(clause.namedBindings))
        deep.namespace = clause.namedBindings.name.text;
      else for (const e of clause.namedBindings?.elements ?? []) element(e, true);
    } else if (!node.exportClause) deep.blocked = "`export *` from another folder";
    else if (ts.isNamespaceExport(node.exportClause)) deep.namespace = node.exportClause.name.text;
    else for (const e of node.exportClause.elements) element(e, false);
  }
  return found;
}

/** The composition root takes an adapter's code from its module (scripts/import-graph.ts). */
const adapterFromRoot = (d: Deep) =>
  folderOf(d.file) === "app" && !d.typeOnly && adapterChain(imports, d.module) !== undefined;
const deeps = files.flatMap(deepDeclarations).filter((d) => !adapterFromRoot(d));

/** Per index: its exports (name → symbol), and what it must gain, per module. */
const indexes = new Map<
  string,
  { exports: Map<string, ts.Symbol>; added: Map<string, Addition>; claimed: Map<string, ts.Symbol> }
>();
function indexState(folder: string) {
  const index = `src/${folder}/index.ts`;
  let state = indexes.get(index);
  if (!state) {
    const exports = new Map<string, ts.Symbol>();
    const source = program.getSourceFile(abs(index));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (moduleSymbol)
      for (const symbol of checker.getExportsOfModule(moduleSymbol))
        exports.set(symbol.name, symbol);
    state = { exports, added: new Map(), claimed: new Map() };
    indexes.set(index, state);
  }
  return state;
}
const additionOf = (state: ReturnType<typeof indexState>, module: string) => {
  let addition = state.added.get(module);
  if (!addition) {
    addition = { values: new Set(), types: new Set() };
    state.added.set(module, addition);
  }
  return addition;
};
const moduleSymbolOf = (module: string) => {
  const source = program.getSourceFile(abs(module));
  return source && checker.getSymbolAtLocation(source);
};
const camel = (module: string) =>
  basename(module, ".ts").replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Decides, for one declaration, what its index must gain; marks it blocked when it cannot. */
function plan(deep: Deep): Array<() => void> {
  const state = indexState(deep.folder);
  const index = `src/${deep.folder}/index.ts`;
  const heavy = () => adapterChain(imports, deep.module);
  const steps: Array<() => void> = [];
  if (deep.namespace !== undefined) {
    const target = moduleSymbolOf(deep.module);
    const existing = [...state.exports.values()].find((s) => target && resolve(s) === target);
    const pending = state.added.get(deep.module)?.namespace;
    const name = existing?.name ?? pending ?? camel(deep.module);
    if (!existing && !pending) {
      const other = state.exports.get(name) ?? state.claimed.get(name);
      if (other && other !== target) return block(deep, `${index} exports another ${name}`);
      const chain = !deep.typeOnly && heavy();
      if (chain) return block(deep, `${deep.module} loads ${chain.at(-1)}`);
      steps.push(() => {
        if (target) state.claimed.set(name, target);
        additionOf(state, deep.module).namespace = name;
      });
    }
    deep.indexName = name;
    return steps;
  }
  for (const e of deep.elements) {
    const value = !e.typeOnly && (e.symbol.flags & ts.SymbolFlags.Value) !== 0;
    const existing = state.exports.get(e.name);
    if (existing && resolve(existing) !== e.symbol)
      return block(deep, `${index} exports another ${e.name}`);
    const claimed = state.claimed.get(e.name);
    if (!existing && claimed && claimed !== e.symbol)
      return block(deep, `two modules of src/${deep.folder} export ${e.name}`);
    const needsValue = value && !(existing && exportsValue(existing));
    if (needsValue) {
      const chain = heavy();
      if (chain)
        return block(
          deep,
          `${e.name} loads ${chain.at(-1)} (${chain.join(" → ")}), which an index may not load: import it with import() where it starts, or from src/app`,
        );
    }
    if (!existing || needsValue) {
      steps.push(() => {
        state.claimed.set(e.name, e.symbol);
        const addition = additionOf(state, deep.module);
        if (needsValue) {
          addition.values.add(e.name);
          addition.types.delete(e.name);
        } else if (!addition.values.has(e.name)) addition.types.add(e.name);
      });
    }
  }
  return steps;
}
function block(deep: Deep, reason: string): never[] {
  deep.blocked = reason;
  return [];
}
for (const deep of deeps) {
  if (deep.blocked) continue;
  for (const step of plan(deep)) step();
}

/** Text edits, per file: [start, end, replacement]. */
const edits = new Map<string, Array<[number, number, string]>>();
const edit = (file: string, start: number, end: number, text: string) =>
  edits.set(file, [...(edits.get(file) ?? []), [start, end, text]]);
const sourceOf = (file: string) => program.getSourceFile(abs(file)) as ts.SourceFile;
/** The end of a statement with the line break after it, for removing it whole. */
const lineEnd = (source: ts.SourceFile, end: number) => (source.text[end] === "\n" ? end + 1 : end);

// The importers: the deep declarations of a file to one folder, and its existing import of that
// folder's index, become one import of the index; re-exports are rewritten one by one.
let rewritten = 0;
const touched = new Set<string>();
const byFileAndFolder = new Map<string, Deep[]>();
for (const deep of deeps) {
  if (deep.blocked) continue;
  rewritten++;
  touched.add(deep.file);
  if (ts.isExportDeclaration(deep.node)) {
    const source = sourceOf(deep.file);
    const names = deep.namespace
      ? [`${deep.indexName} as ${deep.namespace}`]
      : deep.elements.map((e) => {
          const name = e.name === e.alias ? e.name : `${e.name} as ${e.alias}`;
          return !deep.typeOnly && e.typeOnly ? `type ${name}` : name;
        });
    edit(
      deep.file,
      deep.node.getStart(source),
      deep.node.end,
      `export ${deep.typeOnly ? "type " : ""}{ ${names.join(", ")} } from "${specifierFor(deep.file, indexOf(deep.folder))}";`,
    );
    continue;
  }
  const key = `${deep.file}\0${deep.folder}`;
  byFileAndFolder.set(key, [...(byFileAndFolder.get(key) ?? []), deep]);
}
for (const group of byFileAndFolder.values()) {
  const { file, folder } = group[0] as Deep;
  const source = sourceOf(file);
  const specifier = specifierFor(file, indexOf(folder));
  const existing = source.statements.filter(
    (s): s is ts.ImportDeclaration =>
      ts.isImportDeclaration(s) &&
      ts.isStringLiteral(s.moduleSpecifier) &&
      s.moduleSpecifier.text === specifier &&
      s.importClause?.namedBindings !== undefined &&
      ts.isNamedImports(s.importClause.namedBindings) &&
      !s.importClause.name,
  );
  const names: Array<{ text: string; typeOnly: boolean }> = [];
  for (const node of existing) {
    const clause = node.importClause as ts.ImportClause;
    for (const e of (clause.namedBindings as ts.NamedImports).elements) {
      const name = e.propertyName ? `${e.propertyName.text} as ${e.name.text}` : e.name.text;
      names.push({ text: name, typeOnly: clause.isTypeOnly || e.isTypeOnly });
    }
  }
  for (const deep of group) {
    if (deep.namespace !== undefined)
      names.push({
        text: `${deep.indexName} as ${deep.namespace}`,
        typeOnly: deep.typeOnly,
      });
    for (const e of deep.elements)
      names.push({
        text: e.name === e.alias ? e.name : `${e.name} as ${e.alias}`,
        typeOnly: e.typeOnly,
      });
  }
  // One name imported twice (as a type, and as a value) is imported as a value.
  const kinds = new Map<string, boolean>();
  for (const n of names) kinds.set(n.text, (kinds.get(n.text) ?? true) && n.typeOnly);
  const allTypes = [...kinds.values()].every((typeOnly) => typeOnly);
  const unique = [...kinds].map(([text, typeOnly]) =>
    typeOnly && !allTypes ? `type ${text}` : text,
  );
  const statements = [...existing, ...group.map((d) => d.node)].sort((a, b) => a.pos - b.pos);
  const first = statements[0] as ts.Statement;
  edit(
    file,
    first.getStart(source),
    first.end,
    `import ${allTypes ? "type " : ""}{ ${unique.join(", ")} } from "${specifier}";`,
  );
  for (const node of statements.slice(1))
    edit(file, node.getStart(source), lineEnd(source, node.end), "");
}

// The indexes: names added to the module's existing export of the same kind, or a new export.
let exportsAdded = 0;
const created: string[] = [];
for (const [index, state] of indexes) {
  if (state.added.size === 0) continue;
  touched.add(index);
  const source = program.getSourceFile(abs(index));
  if (!source) created.push(index);
  const appended: string[] = [];
  for (const [module, addition] of state.added) {
    const specifier = specifierFor(index, module.replace(/\.ts$/, ".js"));
    exportsAdded += addition.values.size + addition.types.size + (addition.namespace ? 1 : 0);
    if (addition.namespace) appended.push(`export * as ${addition.namespace} from "${specifier}";`);
    if (addition.values.size + addition.types.size === 0) continue;
    // The module's named exports become one: a value export when anything in it is a value
    // (the module is loaded then, its types may as well come with it), `export type` otherwise.
    const statements: readonly ts.Statement[] = source?.statements ?? [];
    const declarations = statements.filter(
      (s): s is ts.ExportDeclaration & { exportClause: ts.NamedExports } =>
        ts.isExportDeclaration(s) &&
        s.moduleSpecifier !== undefined &&
        ts.isStringLiteral(s.moduleSpecifier) &&
        s.moduleSpecifier.text === specifier &&
        s.exportClause !== undefined &&
        ts.isNamedExports(s.exportClause),
    );
    const items = new Map<string, { text: string; typeOnly: boolean }>();
    for (const d of declarations)
      for (const e of d.exportClause.elements) {
        const text = e.propertyName ? `${e.propertyName.text} as ${e.name.text}` : e.name.text;
        const typeOnly = (d.isTypeOnly || e.isTypeOnly) && !addition.values.has(e.name.text);
        items.set(e.name.text, { text, typeOnly });
      }
    for (const name of addition.values) items.set(name, { text: name, typeOnly: false });
    for (const name of addition.types)
      if (!items.has(name)) items.set(name, { text: name, typeOnly: true });
    const anyValue = [...items.values()].some((i) => !i.typeOnly);
    const list = [...items.values()].map((i) =>
      anyValue && i.typeOnly ? `type ${i.text}` : i.text,
    );
    const statement = `export ${anyValue ? "" : "type "}{ ${list.join(", ")} } from "${specifier}";`;
    const [first, ...others] = declarations;
    if (first && source) {
      edit(index, first.getStart(source), first.end, statement);
      for (const d of others) edit(index, d.getStart(source), lineEnd(source, d.end), "");
    } else appended.push(statement);
  }
  const end = source?.text.length ?? 0;
  const before = source && !source.text.endsWith("\n") ? "\n" : "";
  edit(index, end, end, `${before}${appended.map((line) => `${line}\n`).join("")}`);
}

// Apply, last edit first.
for (const [file, list] of edits) {
  const path = abs(file);
  let text = existsSync(path) ? readFileSync(path, "utf8") : "";
  list.sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  for (const [start, end, replacement] of list)
    text = text.slice(0, start) + replacement + text.slice(end);
  if (!dryRun) writeFileSync(path, text);
}

const blocked = deeps.filter((d) => d.blocked);
const importers = new Set(deeps.filter((d) => !d.blocked).map((d) => d.file));
for (const file of [...touched].sort()) console.log(`${dryRun ? "would edit" : "edited"} ${file}`);
for (const d of blocked)
  console.log(
    `left alone: ${d.file} imports "${(d.node.moduleSpecifier as ts.StringLiteral).text}": ${d.blocked}`,
  );
console.log(
  `${rewritten} import(s) rewritten in ${importers.size} file(s); ${exportsAdded} export(s) added to ${[...indexes.values()].filter((s) => s.added.size).length} index(es)${created.length ? ` (${created.join(", ")} created)` : ""}; ${blocked.length} left alone`,
);

if (!dryRun && touched.size > 0) {
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  const result = spawnSync(process.execPath, [biome, "check", "--write", ...touched], {
    cwd: root,
    stdio: "inherit",
  });
  process.exitCode = result.status ?? 1;
}
if (blocked.length > 0) process.exitCode = 1;
