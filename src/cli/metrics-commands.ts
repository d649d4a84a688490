/**
 * `obiente metrics <deployment>`: a deployment's CPU, memory, network, disk and processes, live
 * in the terminal (a panel redrawn in place on a terminal, one line per sample otherwise), or,
 * with --once, its recent per-minute history and hourly usage.
 */
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  DeploymentService,
  type MetricsSample,
  type UsageHour,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { transportFor } from "./client.js";
import { loadCredentials } from "./credentials.js";
import { terminalSafe } from "./terminal-text.js";

type Deployments = Client<typeof DeploymentService>;

export interface MetricsCommandOptions {
  /**
   * Finds a deployment by id or name (deploy-commands' findDeployment); without it, the
   * argument must be a deployment id.
   */
  resolveDeployment?: (
    ref: string,
    org: string | undefined,
  ) => Promise<{ id: string; name: string }>;
  /** Where the output goes; default stdout. */
  write?: (text: string) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HISTORY = 60;
const RETRY_MS = 2_000;
/** Stream failures worth reconnecting after: the server went away or dropped a slow reader. */
const TRANSIENT = new Set([Code.Unavailable, Code.ResourceExhausted, Code.Unknown, Code.Internal]);

export function registerMetricsCommand(program: Command, options: MetricsCommandOptions = {}) {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  program
    .command("metrics <deployment>")
    .description("a deployment's CPU, memory, network and disk, live (Ctrl-C to stop)")
    .option("--org <id|slug>", "the organization, to find a deployment by name")
    .option("--once", "print the per-minute history and hourly usage, then exit")
    .option("--since <duration>", "with --once: how far back, e.g. 30m, 6h, 2d", "1h")
    .action(async (ref: string, o: { org?: string; once?: boolean; since: string }) => {
      const deployments = createClient(DeploymentService, transportFor(await loadCredentials()));
      const found = options.resolveDeployment
        ? await options.resolveDeployment(ref, o.org)
        : await byId(deployments, ref);
      // The panel adds escape sequences of its own around these, never the server's.
      const deployment = { id: terminalSafe(found.id), name: terminalSafe(found.name) };
      if (o.once) {
        await printHistory(deployments, deployment, parseDuration(o.since), write);
        return;
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      try {
        await followLive(
          deployments,
          deployment,
          abort.signal,
          write,
          Boolean(process.stdout.isTTY),
        );
      } finally {
        process.off("SIGINT", stop);
      }
    });
}

async function byId(deployments: Deployments, ref: string): Promise<{ id: string; name: string }> {
  if (!UUID.test(ref)) throw new Error(`"${ref}" is not a deployment id`);
  const { deployment } = await deployments.getDeployment({ id: ref });
  if (!deployment) throw new Error(`no deployment ${ref}`);
  return { id: deployment.id, name: deployment.name };
}

/** Streams samples until `signal` aborts, reconnecting after transient failures. */
async function followLive(
  deployments: Deployments,
  deployment: { id: string; name: string },
  signal: AbortSignal,
  write: (text: string) => void,
  tty: boolean,
): Promise<void> {
  const history: Sample[] = [];
  const { live } = await deployments.getDeploymentMetrics(
    { deploymentId: deployment.id, since: timestampFromDate(new Date(Date.now() - 5 * 60_000)) },
    { signal },
  );
  for (const s of live) remember(history, toSample(s));
  const panel = new Panel(deployment, write, tty);
  if (history.length > 0) panel.draw(history);
  else panel.waiting();
  while (!signal.aborted) {
    try {
      for await (const { sample } of deployments.streamDeploymentMetrics(
        { deploymentId: deployment.id },
        { signal },
      )) {
        if (!sample) continue;
        remember(history, toSample(sample));
        panel.draw(history);
      }
      return;
    } catch (error) {
      const e = ConnectError.from(error);
      if (signal.aborted || e.code === Code.Canceled) return;
      if (!TRANSIENT.has(e.code)) throw error;
      panel.note(`stream interrupted (${terminalSafe(e.rawMessage)}); reconnecting…`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

async function printHistory(
  deployments: Deployments,
  deployment: { id: string; name: string },
  sinceMs: number,
  write: (text: string) => void,
): Promise<void> {
  const { minutes, usage } = await deployments.getDeploymentMetrics({
    deploymentId: deployment.id,
    since: timestampFromDate(new Date(Date.now() - sinceMs)),
  });
  write(`${deployment.name} (${deployment.id})\n`);
  if (minutes.length === 0) write("  no per-minute history yet\n");
  else {
    write(
      `  ${"minute".padEnd(20)}${"cpu".padStart(8)}${"memory".padStart(12)}${"net in".padStart(11)}${"net out".padStart(11)}${"disk".padStart(11)}\n`,
    );
    for (const m of minutes.map(toSample)) {
      write(
        `  ${clock(m.at, true).padEnd(20)}${percent(m.cpu).padStart(8)}${bytes(m.memory).padStart(12)}` +
          `${bytes(m.rx).padStart(11)}${bytes(m.tx).padStart(11)}${bytes(m.read + m.write).padStart(11)}\n`,
      );
    }
  }
  if (usage.length > 0) {
    write(
      `\n  ${"hour".padEnd(20)}${"cpu-seconds".padStart(13)}${"GiB-hours".padStart(12)}${"network".padStart(11)}${"disk I/O".padStart(11)}\n`,
    );
    for (const u of usage) write(`  ${usageLine(u)}\n`);
  }
}

interface Sample {
  at: Date;
  cpu: number;
  memory: number;
  limit: number;
  rx: number;
  tx: number;
  read: number;
  write: number;
  pids: number;
}

function toSample(s: MetricsSample): Sample {
  return {
    at: s.at ? timestampDate(s.at) : new Date(),
    cpu: s.cpuPercent,
    memory: Number(s.memoryBytes),
    limit: Number(s.memoryLimitBytes),
    rx: Number(s.networkRxBytes),
    tx: Number(s.networkTxBytes),
    read: Number(s.blockReadBytes),
    write: Number(s.blockWriteBytes),
    pids: s.pids,
  };
}

/** Keeps the last HISTORY samples, one per instant (a later sample of an instant replaces it). */
function remember(history: Sample[], sample: Sample): void {
  const last = history.at(-1);
  if (last && last.at.getTime() === sample.at.getTime()) history[history.length - 1] = sample;
  else if (!last || last.at < sample.at) history.push(sample);
  if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
}

class Panel {
  private lines = 0;

  constructor(
    private readonly deployment: { id: string; name: string },
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  waiting(): void {
    this.replace([`${this.deployment.name}: waiting for the first sample…`]);
  }

  note(message: string): void {
    if (this.tty) this.lines = 0;
    this.write(`${message}\n`);
  }

  draw(history: Sample[]): void {
    const s = history.at(-1);
    if (!s) return;
    const previous = history.at(-2);
    const seconds = previous ? Math.max(1, (s.at.getTime() - previous.at.getTime()) / 1000) : 5;
    if (!this.tty) {
      this.write(
        `${clock(s.at)}  cpu ${percent(s.cpu)}  mem ${bytes(s.memory)}/${bytes(s.limit)}  ` +
          `net ↓${bytes(s.rx / seconds)}/s ↑${bytes(s.tx / seconds)}/s  ` +
          `disk r ${bytes(s.read / seconds)}/s w ${bytes(s.write / seconds)}/s  pids ${s.pids}\n`,
      );
      return;
    }
    const memoryShare = s.limit > 0 ? ` (${percent((s.memory / s.limit) * 100)})` : "";
    this.replace([
      `\x1b[1m${this.deployment.name}\x1b[0m  ${this.deployment.id}  ${clock(s.at)}`,
      `  CPU     ${percent(s.cpu).padStart(8)}  ${sparkline(history.map((h) => h.cpu))}`,
      `  Memory  ${bytes(s.memory).padStart(8)} of ${bytes(s.limit)}${memoryShare}  ${sparkline(history.map((h) => h.memory))}`,
      `  Net     ↓ ${bytes(s.rx / seconds)}/s  ↑ ${bytes(s.tx / seconds)}/s`,
      `  Disk    read ${bytes(s.read / seconds)}/s  write ${bytes(s.write / seconds)}/s`,
      `  PIDs    ${s.pids}`,
    ]);
  }

  /** Redraws the panel in place (cursor up over the previous one, clearing each line). */
  private replace(lines: string[]): void {
    const up = this.tty && this.lines > 0 ? `\x1b[${this.lines}F` : "";
    const clear = this.tty ? "\x1b[2K" : "";
    this.write(`${up}${lines.map((line) => `${clear}${line}\n`).join("")}`);
    this.lines = lines.length;
  }
}

const BARS = "▁▂▃▄▅▆▇█";

export function sparkline(values: number[]): string {
  const max = Math.max(...values, 0);
  if (max <= 0) return BARS[0]?.repeat(values.length) ?? "";
  return values
    .map((v) => BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))])
    .join("");
}

export function bytes(value: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Math.max(0, value);
  let unit = 0;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(v) : v.toFixed(1)} ${units[unit]}`;
}

function percent(value: number): string {
  return `${value.toFixed(1)}%`;
}

function clock(at: Date, withDate = false): string {
  const iso = at.toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
}

function usageLine(u: UsageHour): string {
  const hour = u.hour ? clock(timestampDate(u.hour as Timestamp), true) : "?";
  const gibHours = u.memoryByteSeconds / 1024 ** 3 / 3600;
  return (
    `${hour.padEnd(20)}${u.cpuSeconds.toFixed(1).padStart(13)}${gibHours.toFixed(3).padStart(12)}` +
    `${bytes(Number(u.networkBytes)).padStart(11)}${bytes(Number(u.diskIoBytes)).padStart(11)}`
  );
}

/** "30m", "6h", "2d", "90s" in ms. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (!match) throw new Error(`--since takes a duration such as 30m, 6h or 2d, got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as "s" | "m" | "h" | "d"
  ];
  return Number(match[1]) * unit;
}
