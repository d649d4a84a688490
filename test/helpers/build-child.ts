/**
 * Runs one build in a process of its own and reports on stdout (one JSON object) how it ended,
 * every line its log received and the process's resident memory: its baseline, measured once the
 * builder and the engine's client are loaded and used, and its highest value during the build.
 * The build's options come as JSON in argv[2] (everything but the engine and the log sink).
 *
 *   node --import tsx test/helpers/build-child.ts '{"buildId": …}'
 */
import Dockerode from "dockerode";
import { type BuildImageOptions, buildImage } from "../../src/builder/index.js";
import { DomainError } from "../../src/domain/errors.js";

export interface ChildReport {
  ok: boolean;
  imageId?: string;
  kind?: string;
  message?: string;
  lines: string[];
  logChars: number;
  baselineRss: number;
  maxRss: number;
  durationMs: number;
}

const input = JSON.parse(process.argv[2] ?? "{}") as Omit<BuildImageOptions, "docker" | "onLog">;
const docker = new Dockerode();
await docker.ping();
await docker.listImages();
global.gc?.();
await new Promise((resolve) => setTimeout(resolve, 200));
const baselineRss = process.memoryUsage().rss;
let maxRss = baselineRss;
const sampler = setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}, 50);

const lines: string[] = [];
let logChars = 0;
const started = Date.now();
let report: ChildReport;
try {
  const built = await buildImage({
    ...input,
    docker,
    onLog: (line) => {
      lines.push(line);
      logChars += line.length + 1;
    },
  });
  report = {
    ok: true,
    imageId: built.imageId,
    lines,
    logChars,
    baselineRss,
    maxRss,
    durationMs: 0,
  };
} catch (error) {
  report = {
    ok: false,
    kind: error instanceof DomainError ? error.kind : "not a DomainError",
    message: error instanceof Error ? error.message : String(error),
    lines,
    logChars,
    baselineRss,
    maxRss,
    durationMs: 0,
  };
}
clearInterval(sampler);
report.maxRss = Math.max(maxRss, process.memoryUsage().rss);
report.durationMs = Date.now() - started;
process.stdout.write(`${JSON.stringify(report)}\n`);
