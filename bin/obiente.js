#!/usr/bin/env node
// The `obiente` command. It runs the compiled program in dist/, which `npm run build` makes
// (`npm ci` runs it). In a checkout whose dist/ is missing or older than the sources (edited,
// pulled, or never built), it runs src/ through tsx when tsx is installed (a development
// install), so that what runs is what src/ says; without tsx it says how to build. The image
// has dist/ and no src/: nothing is compared there.
import { readdirSync, statSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

// V8 doubles the young generation each time it fills during start-up (module loading allocates
// fast) up to 2 × 16 MB, and a process at rest never gives it back: some 30 MB of its resident
// memory. Growth factor 1 keeps it at its initial 2 × 1 MB; young collections come more often
// and each costs less (docs/benchmarks.md, "Footprint"). Set before anything is allocated, and
// read by V8 at each growth, so that setting it here works; `--max-semi-space-size` is read only
// when the VM starts.
setFlagsFromString("--semi-space-growth-factor=1");
// After each full collection V8 lets the old generation grow to its live size times a factor it
// picks from the collector's speed, up to 4: under a burst of API calls the embedded process's
// heap grew from some 30 MB to 70 MB of garbage not yet collected. A fixed 1.2 keeps it near its
// live size at the cost of more frequent full collections (docs/benchmarks.md, "Footprint").
// Read at each collection, so setting it here works.
setFlagsFromString("--heap-growing-percent=20");

const root = new URL("../", import.meta.url);
const sources = new URL("src/", root);

function modified(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The newest modification time of the files the build reads (tests aside). */
function newestSource() {
  let newest = 0;
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith(".test.ts")) continue;
    newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

function tsxInstalled() {
  try {
    import.meta.resolve("tsx/esm/api");
    return true;
  } catch {
    return false;
  }
}

const built = modified(new URL("dist/.built", root));
const hasSources = modified(sources) !== undefined;
const stale = built === undefined || (hasSources && newestSource() > built);

if (!stale) {
  await import("../dist/main.js");
} else if (hasSources && tsxInstalled()) {
  process.stderr.write(
    `obiente: dist/ is ${built === undefined ? "missing" : "older than src/"}; running the sources through tsx (\`npm run build\` compiles them)\n`,
  );
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
} else if (built !== undefined) {
  process.stderr.write("obiente: dist/ is older than src/: run `npm run build`\n");
  await import("../dist/main.js");
} else {
  process.stderr.write(
    "obiente: the compiled program (dist/) is missing: run `npm ci` (or `npm run build`) first\n",
  );
  process.exit(1);
}
