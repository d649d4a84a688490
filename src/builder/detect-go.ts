/**
 * A Go module: its Go version (go.mod's `go` line), the main package to build (the root's, or
 * the one command under cmd/), the folders of files it reads at run time, and its command. Pure.
 */
import { failedPrecondition } from "../domain/index.js";
import { DEFAULT_GO_VERSION } from "./base-images.js";
import type { PlanReason } from "./plan.js";
import { plainWords } from "./procfile.js";
import type { SourceTree } from "./source-tree.js";

export interface GoApp {
  /** major.minor: go.mod's, or DEFAULT_GO_VERSION when that is older. */
  version: string;
  /** The package to build, e.g. "." or "./cmd/server". */
  mainPackage: string;
  /** The binary's name, under /app/bin. */
  binary: string;
  /** Folders copied next to the binary (templates, static files the app reads). */
  assets: string[];
  hasGoSum: boolean;
  command: string[];
}

/** Folders Go web apps commonly read at run time (unless they embed them). */
const ASSET_FOLDERS = ["templates", "static", "public", "assets", "views", "web"];

export function analyzeGo(
  tree: SourceTree,
  reasons: PlanReason[],
  options: { procfileWeb?: string | undefined },
): GoApp {
  const gomod = tree.contents.get("go.mod") ?? "";
  const module = /^\s*module\s+"?([^\s"]+)"?/m.exec(gomod)?.[1];
  if (module === undefined) throw failedPrecondition("go.mod has no module line");
  const declared = /^\s*go\s+(\d+)\.(\d+)/m.exec(gomod);
  const version = newer(declared ? `${declared[1]}.${declared[2]}` : undefined, DEFAULT_GO_VERSION);
  reasons.push({
    file: "go.mod",
    detail: `module ${module}${declared ? `, go ${declared[1]}.${declared[2]}` : ""}: built with Go ${version}`,
  });

  const isMain = (file: string) =>
    /^\s*package\s+main\b/m.test(stripComments(tree.contents.get(file) ?? ""));
  const rootGo = tree.files.filter(
    (file) => /^[^/]+\.go$/.test(file) && !file.endsWith("_test.go"),
  );
  let mainPackage: string;
  let binary: string;
  if (rootGo.some(isMain)) {
    mainPackage = ".";
    binary = safeName(module.split("/").pop() ?? "app");
    reasons.push({
      file: rootGo.find(isMain) as string,
      detail: "package main at the root: go build .",
    });
  } else {
    const commands = [
      ...new Set(
        tree.files
          .filter((file) => /^cmd\/[A-Za-z0-9._-]+\/main\.go$/.test(file) && isMain(file))
          .map((file) => file.split("/")[1] as string),
      ),
    ].sort();
    const last = module.split("/").pop();
    const chosen = commands.length === 1 ? commands[0] : commands.find((name) => name === last);
    if (chosen === undefined) {
      throw failedPrecondition(
        commands.length === 0
          ? "go.mod: no package main at the root or in cmd/<name>/main.go: nothing to run"
          : `go.mod: several commands (${commands.map((c) => `cmd/${c}`).join(", ")}) and none named like the module: add a Procfile with web: bin/<name>`,
      );
    }
    mainPackage = `./cmd/${chosen}`;
    binary = safeName(chosen);
    reasons.push({ file: `cmd/${chosen}/main.go`, detail: `go build ./cmd/${chosen}` });
  }

  let command = [`/app/bin/${binary}`];
  if (options.procfileWeb !== undefined) {
    const words = plainWords(options.procfileWeb);
    if (words === undefined || words.length === 0) {
      throw failedPrecondition(
        "Procfile: a Go app's web: command runs without a shell (the runtime image has none): write it without $, quotes, pipes or redirections; the app reads $PORT itself",
      );
    }
    const named = /^(?:\.\/)?bin\/([A-Za-z0-9._-]+)$/.exec(words[0] as string)?.[1];
    if (named !== undefined) binary = named;
    command = named !== undefined ? [`/app/bin/${named}`, ...words.slice(1)] : words;
    reasons.push({ file: "Procfile", detail: "the web: line starts the app" });
  }

  const assets = ASSET_FOLDERS.filter((folder) =>
    tree.files.some((file) => file.startsWith(`${folder}/`) && !file.endsWith(".go")),
  );
  if (assets.length > 0) {
    reasons.push({
      file: "",
      detail: `${assets.map((a) => `${a}/`).join(", ")} copied next to the binary, for the app to read`,
    });
  }
  return { version, mainPackage, binary, assets, hasGoSum: tree.files.includes("go.sum"), command };
}

function newer(a: string | undefined, b: string): string {
  if (a === undefined) return b;
  const [am, an] = a.split(".").map(Number) as [number, number];
  const [bm, bn] = b.split(".").map(Number) as [number, number];
  return am > bm || (am === bm && an > bn) ? a : b;
}

function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[.-]+/, "");
  return cleaned === "" ? "app" : cleaned.slice(0, 64);
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}
