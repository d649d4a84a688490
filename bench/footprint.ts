/**
 * The platform's own cost on its server: resident memory at rest, time from start to a healthy
 * API, memory under load and over a soak, and a prebuilt deploy against a raw `docker run`.
 *
 * Every process is started the same way, `node <script>` as a child of this one (the platform:
 * `node bin/obiente.js up`, what `npm start` runs), and is ready when GET /health answers 200
 * (polled every 10 ms on a fresh connection). The baseline is a bare Node.js HTTP server
 * (node:http, answering 200 to everything) started the same way in the same run; every figure
 * is printed with its ratio to the baseline's.
 *
 * Memory is the child's resident set (VmRSS in /proc/<pid>/status; the peak is VmHWM). "Idle"
 * is the median of 5 samples, 1 s apart, taken after the process has been up for --settle
 * seconds with no API call: its periodic work (metrics collection every 5 s, heartbeats, the
 * reconciler) goes on, as it does on a server at rest.
 *
 * Configurations:
 *   - external, all roles: DATABASE_URL (a fresh database on the test server), REDIS_URL (a key
 *     prefix of its own), ROLES=api,controller,agent,edge with the built-in edge;
 *   - external, API role alone: the same database and Redis, ROLES=api;
 *   - embedded defaults: no DATABASE_URL nor REDIS_URL (PGlite in DATA_DIR, in-process services),
 *     every role: the quick start's `npm start`.
 * Start times: external "with migrations applied" is a restart on the migrated database; the
 * embedded first start runs on an empty DATA_DIR (initdb, migrations, bootstrap); the embedded
 * restart reuses it. Each restart is timed --restarts times (median).
 *
 * Load: --calls API calls (default 10,000) from 4 concurrent clients (keep-alive), a mix of
 * reads (WhoAmI, ListOrganizations, ListProjects, GetProject, ListDeployments, the REST alias,
 * /health), a not-found error and a write pair (CreateProject, DeleteProject) every 20 calls;
 * then RSS against the same process's idle RSS (goal ≤ 1.5×). Soak: the same mix at a steady
 * 50 calls/s for --soak-minutes (default 10), RSS sampled every 5 s; growth is the median of the
 * last fifth of the samples against the median of the second fifth (the first is warm-up), and
 * the least-squares slope over the last four fifths (MB per minute). A growth under 5 % of the
 * soak's RSS counts as none. The load and soak run on the embedded defaults (PGlite's buffers
 * are in the process) unless --load-on external.
 *
 * Deploy: runs bench/deploy-latency.ts (--deploy-n samples, default 5; 0 skips it) as a child
 * and prints its result (goal here ≤ 1.2×).
 *
 * Options (defaults for the recorded run):
 *   node --import tsx bench/footprint.ts [--soak-minutes 10] [--calls 10000] [--restarts 3]
 *     [--settle 15] [--deploy-n 5] [--load-on embedded|external] [--only idle,start,load,deploy]
 *     [--node-flags="--flag …"] [--env NAME=value]…
 *
 * --node-flags and --env are for trying a knob: they are given to every platform process (not the
 * baseline), the flags before bin/obiente.js, the variables added to its environment.
 *
 * RATE_LIMIT_MAX is raised in every platform process (the default 600 a minute would answer
 * most of the load with 429); nothing else differs from the defaults but ports and folders.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deleteRedisKeys, testRedisUrl } from "../test/helpers/api.js";
import { freePort } from "../test/helpers/caddy.js";
import { freshPostgresUrl } from "../test/helpers/databases.js";
import { printFooter, printHeader, sleep, summarize, table } from "./support.js";

const { values: options } = parseArgs({
  options: {
    "soak-minutes": { type: "string", default: "10" },
    calls: { type: "string", default: "10000" },
    restarts: { type: "string", default: "3" },
    settle: { type: "string", default: "15" },
    "deploy-n": { type: "string", default: "5" },
    "load-on": { type: "string", default: "embedded" },
    only: { type: "string" },
    "node-flags": { type: "string", default: "" },
    env: { type: "string", multiple: true, default: [] },
  },
});
const SOAK_MINUTES = Number(options["soak-minutes"]);
const CALLS = Number(options.calls);
const RESTARTS = Number(options.restarts);
const SETTLE_MS = Number(options.settle) * 1000;
const DEPLOY_N = Number(options["deploy-n"]);
const LOAD_ON = options["load-on"] === "external" ? "external" : "embedded";
const ONLY = new Set((options.only ?? "idle,start,load,deploy").split(","));
const NODE_FLAGS = (options["node-flags"] ?? "").split(/\s+/).filter(Boolean);
const EXTRA_ENV = Object.fromEntries(
  (options.env ?? []).map((pair) => [
    pair.slice(0, pair.indexOf("=")),
    pair.slice(pair.indexOf("=") + 1),
  ]),
);

const REPO_ROOT = new URL("../", import.meta.url).pathname;
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Processes

interface Launched {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
  /** Spawn → first /health 200, ms. */
  startMs: number;
  /** CPU time (user + system) the process had used when /health first answered 200, ms. */
  startCpuMs: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * CPU time (user + system) a process has used, ms, from /proc/<pid>/stat (clock ticks of 10 ms,
 * USER_HZ on Linux). Less sensitive than wall time to other work on the machine.
 */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident set and its peak, bytes, from /proc/<pid>/status. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss: kb("VmRSS") * 1024, peak: kb("VmHWM") * 1024 };
}

async function healthStatus(port: number): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(1_000),
      // A fresh connection each time, as a load balancer's probe would.
      headers: { connection: "close" },
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/** Spawns `node <args>` with `env` and times it until GET /health on `port` answers 200. */
async function launch(
  name: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  timeoutMs = 120_000,
): Promise<Launched> {
  let output = "";
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  for (;;) {
    if (gone) throw new Error(`${name} exited before answering /health:\n${output.slice(-3000)}`);
    if ((await healthStatus(port)) === 200) break;
    if (performance.now() - t0 > timeoutMs) {
      child.kill("SIGKILL");
      throw new Error(`${name}: no /health 200 within ${timeoutMs} ms:\n${output.slice(-3000)}`);
    }
    await sleep(10);
  }
  const startMs = performance.now() - t0;
  const startCpuMs = await cpuMsOf(child.pid ?? 0);
  return {
    name,
    child,
    pid: child.pid ?? 0,
    port,
    startMs,
    startCpuMs,
    output: () => output,
    async stop() {
      if (!gone) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Median RSS of 5 samples 1 s apart, after `settleMs` with nothing asked of the process. */
async function idleMemory(p: Launched, settleMs = SETTLE_MS) {
  await sleep(settleMs);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push((await memoryOf(p.pid)).rss);
    if (i < 4) await sleep(1_000);
  }
  return { rss: summarize(samples).median, peak: (await memoryOf(p.pid)).peak };
}

// ---------------------------------------------------------------------------------------------
// The baseline: a bare Node.js HTTP server

async function writeBaseline(dir: string): Promise<string> {
  const file = join(dir, "baseline.mjs");
  await writeFile(
    file,
    [
      'import { createServer } from "node:http";',
      "createServer((req, res) => {",
      '  res.writeHead(200, { "content-type": "application/json" });',
      '  res.end(JSON.stringify({ status: "ok" }));',
      '}).listen(Number(process.env.PORT), "127.0.0.1");',
      "",
    ].join("\n"),
  );
  return file;
}

// ---------------------------------------------------------------------------------------------
// The platform

async function platformEnv(extra: Record<string, string>): Promise<{
  env: Record<string, string>;
  port: number;
}> {
  const port = await freePort();
  return {
    port,
    env: {
      PORT: String(port),
      GRPC_PORT: String(await freePort()),
      EDGE_PORT: String(await freePort()),
      AGENT_METRICS_PORT: String(await freePort()),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      RATE_LIMIT_MAX: "100000000",
      // Never remove containers of other installations sharing the engine (tests, other benches).
      ORPHAN_POLICY: "keep",
      ...EXTRA_ENV,
      ...extra,
    },
  };
}

async function launchPlatform(name: string, env: Record<string, string>, port: number) {
  const p = await launch(name, [...NODE_FLAGS, "bin/obiente.js", "up"], env, port);
  // bin/obiente.js falls back to the sources through tsx when dist/ is stale: not what ships.
  if (p.output().includes("through tsx")) {
    await p.stop();
    throw new Error("dist/ is missing or older than src/: run `npm run build` first");
  }
  return p;
}

const tokenIn = (output: string) => /token: (obt_[A-Za-z0-9_-]+)/.exec(output)?.[1];

// ---------------------------------------------------------------------------------------------
// API calls

class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}
  organizationId = "";
  projectId = "";

  async rpc(path: string, body: object): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${this.base}/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  }

  async get(path: string): Promise<number> {
    const response = await fetch(`${this.base}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    await response.arrayBuffer();
    return response.status;
  }

  async prepare(): Promise<void> {
    const orgs = (
      await this.rpc("obiente.cloud.organization.v1.OrganizationService/ListOrganizations", {})
    ).json as { organizations: Array<{ id: string }> };
    const org = orgs.organizations[0]?.id;
    if (!org) throw new Error("no organization");
    this.organizationId = org;
    const created = (
      await this.rpc("obiente.cloud.project.v1.ProjectService/CreateProject", {
        organizationId: org,
        name: "footprint",
      })
    ).json as { project?: { id: string } };
    if (!created.project) throw new Error(`CreateProject: ${JSON.stringify(created)}`);
    this.projectId = created.project.id;
  }

  /** Call number `i` of the mix; resolves with whether it answered as expected. */
  async call(i: number): Promise<boolean> {
    const org = this.organizationId;
    switch (i % 20) {
      case 0: {
        const created = await this.rpc("obiente.cloud.project.v1.ProjectService/CreateProject", {
          organizationId: org,
          name: `p${i}-${randomBytes(3).toString("hex")}`,
        });
        const id = (created.json as { project?: { id: string } }).project?.id;
        if (created.status !== 200 || !id) return false;
        return (
          (await this.rpc("obiente.cloud.project.v1.ProjectService/DeleteProject", { id }))
            .status === 200
        );
      }
      case 1:
      case 2:
      case 3:
        return (await this.rpc("obiente.cloud.auth.v1.AuthService/WhoAmI", {})).status === 200;
      case 4:
      case 5:
      case 6:
        return (
          (
            await this.rpc(
              "obiente.cloud.organization.v1.OrganizationService/ListOrganizations",
              {},
            )
          ).status === 200
        );
      case 7:
      case 8:
      case 9:
        return (
          (
            await this.rpc("obiente.cloud.project.v1.ProjectService/ListProjects", {
              organizationId: org,
            })
          ).status === 200
        );
      case 10:
      case 11:
        return (
          (
            await this.rpc("obiente.cloud.project.v1.ProjectService/GetProject", {
              id: this.projectId,
            })
          ).status === 200
        );
      case 12:
      case 13:
        return (
          (
            await this.rpc("obiente.cloud.deployment.v1.DeploymentService/ListDeployments", {
              projectId: this.projectId,
            })
          ).status === 200
        );
      case 14:
      case 15:
        return (await this.get(`/api/v1/projects?organization_id=${org}`)) === 200;
      case 16:
        // An error path: a project that does not exist.
        return (
          (
            await this.rpc("obiente.cloud.project.v1.ProjectService/GetProject", {
              id: "00000000-0000-4000-8000-000000000000",
            })
          ).status === 404
        );
      default:
        return (await this.get("/health")) === 200;
    }
  }
}

/** `count` calls from `concurrency` clients; returns the calls that did not answer as expected. */
async function burst(api: Api, count: number, concurrency = 4): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        if (!(await api.call(i).catch(() => false))) failed++;
      }
    }),
  );
  return failed;
}

// ---------------------------------------------------------------------------------------------
// Reporting

const mb = (bytes: number | undefined) =>
  bytes === undefined || Number.isNaN(bytes) ? "—" : `${(bytes / MB).toFixed(1)} MB`;
const msText = (value: number | undefined) =>
  value === undefined || Number.isNaN(value) ? "—" : `${value.toFixed(0)} ms`;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0
    ? "—"
    : `${(a / b).toFixed(2)}×`;
const verdict = (value: number | undefined, goal: number) =>
  value === undefined || Number.isNaN(value) ? "—" : value <= goal ? "met" : "NOT met";

interface Row {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  verdict: string;
}
const rows: Row[] = [];

function memoryRow(figure: string, bytes: number | undefined, base: number, goalMb?: number) {
  rows.push({
    figure,
    value: mb(bytes),
    baseline: mb(base),
    ratio: ratio(bytes, base),
    goal: goalMb === undefined ? "" : `≤ ${goalMb} MB`,
    verdict: goalMb === undefined ? "" : verdict((bytes ?? Number.NaN) / MB, goalMb),
  });
}

interface Start {
  wall: number;
  cpu: number;
}
const startOf = (p: Launched): Start => ({ wall: p.startMs, cpu: p.startCpuMs });
const medianStart = (starts: Start[]): Start => ({
  wall: summarize(starts.map((s) => s.wall)).median,
  cpu: summarize(starts.map((s) => s.cpu)).median,
});
const runsText = (starts: Start[]) =>
  starts.map((s) => `${s.wall.toFixed(0)} (CPU ${s.cpu.toFixed(0)})`).join(", ");

/** Wall time to the first 200 against its goal; the CPU time it took on the next row. */
function timeRows(figure: string, value: Start, base: Start, goalMs?: number) {
  rows.push({
    figure,
    value: msText(value.wall),
    baseline: msText(base.wall),
    ratio: ratio(value.wall, base.wall),
    goal: goalMs === undefined ? "" : `≤ ${goalMs} ms`,
    verdict: goalMs === undefined ? "" : verdict(value.wall, goalMs),
  });
  rows.push({
    figure: "  CPU time (user + system) until then",
    value: msText(value.cpu),
    baseline: msText(base.cpu),
    ratio: ratio(value.cpu, base.cpu),
    goal: "",
    verdict: "",
  });
}

function printRows() {
  console.log(
    table([
      ["figure", "value", "baseline (bare node:http)", "ratio", "goal", ""],
      ...rows.map((r) => [r.figure, r.value, r.baseline, r.ratio, r.goal, r.verdict]),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------

async function measureLoad(
  p: Launched,
  token: string,
  idle: number,
  label: string,
  soak: boolean,
): Promise<void> {
  const api = new Api(`http://127.0.0.1:${p.port}`, token);
  await api.prepare();
  const t0 = performance.now();
  const failed = await burst(api, CALLS);
  const seconds = (performance.now() - t0) / 1000;
  const after = await memoryOf(p.pid);
  console.log(
    `${label}: ${CALLS} calls in ${seconds.toFixed(1)} s (${(CALLS / seconds).toFixed(0)}/s), ${failed} not as expected; RSS ${mb(after.rss)} (idle ${mb(idle)}), peak ${mb(after.peak)}`,
  );
  rows.push({
    figure: `${label}: RSS after ${CALLS} API calls / idle`,
    value: mb(after.rss),
    baseline: mb(idle),
    ratio: ratio(after.rss, idle),
    goal: "≤ 1.5×",
    verdict: verdict(after.rss / idle, 1.5),
  });
  if (!soak || SOAK_MINUTES <= 0) return;

  // Soak: 50 calls a second, RSS every 5 s.
  const samples: Array<{ at: number; rss: number }> = [];
  const end = performance.now() + SOAK_MINUTES * 60_000;
  let i = 0;
  let soakFailed = 0;
  let nextSample = performance.now();
  const started = performance.now();
  while (performance.now() < end) {
    const tick = performance.now();
    const batch = Array.from({ length: 5 }, () => api.call(i++).catch(() => false));
    for (const ok of await Promise.all(batch)) if (!ok) soakFailed++;
    if (performance.now() >= nextSample) {
      samples.push({
        at: (performance.now() - started) / 60_000,
        rss: (await memoryOf(p.pid)).rss,
      });
      nextSample += 5_000;
    }
    await sleep(Math.max(0, 100 - (performance.now() - tick)));
  }
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const early = summarize(samples.slice(fifth, 2 * fifth).map((s) => s.rss)).median;
  const late = summarize(samples.slice(-fifth).map((s) => s.rss)).median;
  const tail = samples.slice(fifth);
  const meanX = tail.reduce((s, x) => s + x.at, 0) / tail.length;
  const meanY = tail.reduce((s, x) => s + x.rss, 0) / tail.length;
  const slope =
    tail.reduce((s, x) => s + (x.at - meanX) * (x.rss - meanY), 0) /
    tail.reduce((s, x) => s + (x.at - meanX) ** 2, 0);
  const growth = (late - early) / early;
  console.log(
    `${label} soak: ${SOAK_MINUTES} min, ${i} calls (${soakFailed} not as expected), ${samples.length} samples; ` +
      `RSS ${mb(early)} (2nd fifth) → ${mb(late)} (last fifth), ${(growth * 100).toFixed(1)} %, slope ${(slope / MB).toFixed(2)} MB/min, ` +
      `min ${mb(Math.min(...samples.map((s) => s.rss)))}, max ${mb(Math.max(...samples.map((s) => s.rss)))}`,
  );
  rows.push({
    figure: `${label}: RSS growth over a ${SOAK_MINUTES}-min soak`,
    value: `${(growth * 100).toFixed(1)} % (${(slope / MB).toFixed(2)} MB/min)`,
    baseline: mb(early),
    ratio: ratio(late, early),
    goal: "none (< 5 %)",
    verdict: growth < 0.05 ? "met" : "NOT met",
  });
}

async function main() {
  await printHeader(
    `footprint: memory at rest, start time, memory under load, deploy latency (calls ${CALLS}, soak ${SOAK_MINUTES} min)`,
  );
  const work = await mkdtemp(join(tmpdir(), "obiente-footprint-"));
  const running = new Set<Launched>();
  const stop = async (p: Launched) => {
    await p.stop();
    running.delete(p);
  };
  const pg = await freshPostgresUrl();
  const prefix = `obiente-footprint-${randomBytes(4).toString("hex")}:`;
  try {
    // The baseline.
    const baselineFile = await writeBaseline(work);
    const baseStarts: Start[] = [];
    let baseIdle = { rss: Number.NaN, peak: Number.NaN };
    for (let i = 0; i < Math.max(1, RESTARTS); i++) {
      const port = await freePort();
      const b = await launch("baseline", [baselineFile], { PORT: String(port) }, port);
      running.add(b);
      baseStarts.push(startOf(b));
      if (i === 0 && ONLY.has("idle")) baseIdle = await idleMemory(b);
      await stop(b);
    }
    const baseStart = medianStart(baseStarts);
    console.log(
      `baseline (bare node:http, node ${process.version}): start → 200, ms: ${runsText(baseStarts)}; idle RSS ${mb(baseIdle.rss)}`,
    );

    // External PostgreSQL and Redis.
    const external = {
      DATABASE_URL: pg.url,
      REDIS_URL: testRedisUrl,
      REDIS_KEY_PREFIX: prefix,
      SECRETS_MASTER_KEY: randomBytes(32).toString("base64"),
      DATA_DIR: join(work, "external"),
    };
    const allRoles = { ROLES: "api,controller,agent,edge", EDGE: "builtin" };
    let externalToken: string | undefined;
    {
      // First start: migrations and the bootstrap administrator, not counted.
      const { env, port } = await platformEnv({ ...external, ...allRoles });
      const first = await launchPlatform("external first start", env, port);
      running.add(first);
      externalToken = tokenIn(first.output());
      console.log(
        `external, all roles, first start (migrations, bootstrap), ms: ${runsText([startOf(first)])}`,
      );
      await stop(first);
    }
    for (const [label, roles, goalMb] of [
      ["external PostgreSQL + Redis, all roles", allRoles, 80],
      ["external PostgreSQL + Redis, API role alone", { ROLES: "api" }, 60],
    ] as const) {
      const starts: Start[] = [];
      let idle: { rss: number; peak: number } | undefined;
      for (let i = 0; i < Math.max(1, RESTARTS); i++) {
        const { env, port } = await platformEnv({ ...external, ...roles });
        const p = await launchPlatform(label, env, port);
        running.add(p);
        starts.push(startOf(p));
        if (i === 0 && ONLY.has("idle")) idle = await idleMemory(p);
        if (i === 0 && ONLY.has("load") && LOAD_ON === "external" && roles === allRoles) {
          if (!externalToken) throw new Error("no token from the first start");
          await measureLoad(
            p,
            externalToken,
            idle?.rss ?? (await memoryOf(p.pid)).rss,
            "external",
            true,
          );
        }
        await stop(p);
      }
      const start = medianStart(starts);
      console.log(
        `${label}: start → /health 200, ms: ${runsText(starts)}; idle RSS ${mb(idle?.rss)}, peak ${mb(idle?.peak)}`,
      );
      if (ONLY.has("idle")) memoryRow(`idle RSS, ${label}`, idle?.rss, baseIdle.rss, goalMb);
      if (ONLY.has("start"))
        timeRows(
          `start → /health 200, ${label} (migrated)`,
          start,
          baseStart,
          roles === allRoles ? 1_000 : undefined,
        );
    }

    // Embedded defaults.
    {
      const dataDir = join(work, "embedded");
      const { env, port } = await platformEnv({ DATA_DIR: dataDir });
      const first = await launchPlatform("embedded first start", env, port);
      running.add(first);
      const token = tokenIn(first.output());
      const firstPeak = (await memoryOf(first.pid)).peak;
      console.log(
        `embedded defaults, first start, ms: ${runsText([startOf(first)])}; peak so far ${mb(firstPeak)}`,
      );
      if (ONLY.has("start"))
        timeRows("start → /health 200, embedded, first start", startOf(first), baseStart, 5_000);
      await stop(first);
      const starts: Start[] = [];
      let idle: { rss: number; peak: number } | undefined;
      for (let i = 0; i < Math.max(1, RESTARTS); i++) {
        const again = await platformEnv({ DATA_DIR: dataDir });
        const p = await launchPlatform("embedded", again.env, again.port);
        running.add(p);
        starts.push(startOf(p));
        if (i === 0 && ONLY.has("idle")) idle = await idleMemory(p);
        if (i === 0 && ONLY.has("load") && LOAD_ON === "embedded") {
          if (!token) throw new Error("no token from the first start");
          await measureLoad(p, token, idle?.rss ?? (await memoryOf(p.pid)).rss, "embedded", true);
        }
        await stop(p);
      }
      const start = medianStart(starts);
      console.log(
        `embedded defaults, restart: start → /health 200, ms: ${runsText(starts)}; idle RSS ${mb(idle?.rss)}, peak ${mb(idle?.peak)}`,
      );
      if (ONLY.has("idle"))
        memoryRow("idle RSS, embedded defaults, all roles", idle?.rss, baseIdle.rss, 200);
      if (ONLY.has("idle"))
        memoryRow("peak RSS (VmHWM), embedded defaults, restart", idle?.peak, baseIdle.peak);
      if (ONLY.has("start"))
        timeRows("start → /health 200, embedded, restart", start, baseStart, 2_000);
    }
  } finally {
    for (const p of running) await p.stop().catch(() => undefined);
    await pg.drop().catch((error: unknown) => console.error("dropping the database:", error));
    await deleteRedisKeys(prefix).catch((error: unknown) => console.error("Redis keys:", error));
    await rm(work, { recursive: true, force: true });
  }

  if (ONLY.has("deploy") && DEPLOY_N > 0) {
    console.log("");
    console.log(`prebuilt deploy: bench/deploy-latency.ts ${DEPLOY_N} (its medians and ratio)`);
    const text = await runDeployLatency(DEPLOY_N);
    const section = text.slice(text.indexOf("medians"));
    console.log(section.replace(/\nload average after[\s\S]*$/, "").trim());
    const match = /ratio platform\/raw: ([\d.]+)/.exec(text);
    const platformMs = /platform \(Start → 200 at edge\)\s+([\d.]+) ms/.exec(text)?.[1];
    const rawMs = /raw docker \(create → 200\)\s+([\d.]+) ms/.exec(text)?.[1];
    rows.push({
      figure: "prebuilt deploy → 200 / raw docker run → 200",
      value: platformMs ? `${platformMs} ms` : "—",
      baseline: rawMs ? `${rawMs} ms (raw)` : "—",
      ratio: match?.[1] ? `${match[1]}×` : "—",
      goal: "≤ 1.2×",
      verdict: verdict(Number(match?.[1]), 1.2),
    });
  }

  console.log("");
  printRows();
  printFooter();
}

/** bench/deploy-latency.ts in a child process; its whole output. */
function runDeployLatency(n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "bench/deploy-latency.ts", String(n)],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`deploy-latency exited ${code}:\n${out}`)),
    );
  });
}

await main();
