/**
 * What Python manifests say, read with just enough of their formats: requirement names from
 * requirements.txt, and from pyproject.toml and Pipfile (TOML) the tables present, the
 * `[project]` dependencies and the keys of dependency tables. Pure.
 */

/** A requirement's name as pip compares them: lowercase, runs of `-_.` as one `-`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

export interface Requirements {
  names: Set<string>;
  /** Lines that need other files of the repository (`-r`, `-e`, local paths). */
  needsSource: boolean;
}

export function readRequirements(text: string): Requirements {
  const names = new Set<string>();
  let needsSource = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") continue;
    if (
      /^(-r|-c|-e|--requirement|--constraint|--editable)\b/.test(line) ||
      /^(\.|\/|file:)/.test(line)
    ) {
      needsSource = true;
      continue;
    }
    if (line.startsWith("-")) continue;
    const name = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line)?.[1];
    if (name !== undefined) names.add(normalizeName(name));
  }
  return { names, needsSource };
}

export interface TomlFacts {
  /** Every table header, e.g. "project", "tool.poetry", "build-system". */
  tables: Set<string>;
  /** `[project] dependencies`, as written. */
  projectDependencies: string[] | undefined;
  /** Keys of the tables named (`[tool.poetry.dependencies]`, Pipfile's `[packages]`). */
  keysOf(table: string): string[];
}

/** Tables, keys and `[project] dependencies` of a TOML file; other values are not read. */
export function readToml(text: string): TomlFacts {
  const tables = new Set<string>();
  const keys = new Map<string, string[]>();
  let table = "";
  let projectDependencies: string[] | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    const header = /^\[\s*([A-Za-z0-9_.\-" ]+?)\s*\]$/.exec(line);
    if (header) {
      table = (header[1] as string).replace(/"/g, "").replace(/\s+/g, "");
      tables.add(table);
      continue;
    }
    const key = /^("?)([A-Za-z0-9_.-]+)\1\s*=/.exec(line)?.[2];
    if (key === undefined) continue;
    keys.set(table, [...(keys.get(table) ?? []), key]);
    if (table === "project" && key === "dependencies") {
      // The array may span lines: gather until its closing bracket outside a string.
      let value = line.slice(line.indexOf("=") + 1);
      while (!closes(value) && i + 1 < lines.length) value += `\n${lines[++i]}`;
      projectDependencies = strings(value);
    }
  }
  return { tables, projectDependencies, keysOf: (name) => keys.get(name) ?? [] };
}

function withoutStrings(text: string): string {
  return text.replace(/"(?:[^"\\\n]|\\.)*"|'[^'\n]*'/g, '""');
}

function closes(value: string): boolean {
  const bare = withoutStrings(value).replace(/#.*$/gm, "");
  const open = (bare.match(/\[/g) ?? []).length;
  const close = (bare.match(/\]/g) ?? []).length;
  return open > 0 && close >= open;
}

function strings(value: string): string[] {
  const found: string[] = [];
  const bare = value.replace(/#.*$/gm, (comment) => (/["']/.test(comment) ? comment : ""));
  for (const match of bare.matchAll(/"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'/g)) {
    found.push((match[1] ?? match[2] ?? "").replace(/\\(.)/g, "$1"));
  }
  return found;
}
