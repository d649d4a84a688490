/**
 * Edge throughput: the built-in edge against Caddy on the same upstream, with the upstream direct
 * as a baseline. The upstream is a node http server in a child process on loopback answering a
 * small body; the built-in edge runs in this process (as in the platform's process), Caddy as a
 * child process bound to 127.0.0.1 (test/helpers/caddy.ts), both with the same route table (one
 * route, Host app.test → the upstream). Load from wrk (Debian's package), for each target:
 *
 *   wrk -t2 -c50 -d10s --latency http://127.0.0.1:PORT/ -H 'Host: app.test'
 *
 * after an untimed 2 s warm-up of the same command. The three targets take turns, ROUNDS times
 * (so that a change of the machine's load hits each of them), and each figure is the median over
 * the rounds. On 2 cores, wrk, the edge and the upstream
 * share the CPUs: the figures compare the edges under the same squeeze, not what each could do
 * with cores of its own.
 *
 *   node --import tsx bench/edge-throughput.ts [DURATION_SECONDS] [ROUNDS]     (10 and 2 by default)
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { BuiltinEdge } from "../src/edge/builtin-edge.js";
import { CaddyEdge } from "../src/edge/caddy.js";
import { routeTable } from "../src/edge/route-table.js";
import {
  freePort,
  type RunningCaddy,
  requestByHost,
  startCaddy,
  stopProcess,
} from "../test/helpers/caddy.js";
import { loadAverage, printFooter, printHeader, summarize, table, withCleanup } from "./support.js";

const run = promisify(execFile);
const DURATION_S = Number(process.argv[2] ?? 10);
const ROUNDS = Number(process.argv[3] ?? 2);
const HOST = "app.test";
const BODY = "hello from the upstream\n";

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: string;
  non2xx: number;
}

/** "1.23ms" / "850.00us" / "1.02s" → milliseconds. */
function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  switch (match[2]) {
    case "us":
      return value / 1000;
    case "ms":
      return value;
    case "s":
      return value * 1000;
    default:
      return value * 60_000;
  }
}

async function wrk(port: number, seconds: number): Promise<WrkResult> {
  const { stdout } = await run(
    "wrk",
    [
      "-t2",
      "-c50",
      `-d${seconds}s`,
      "--latency",
      `http://127.0.0.1:${port}/`,
      "-H",
      `Host: ${HOST}`,
    ],
    { timeout: (seconds + 30) * 1000 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(stdout)?.[1] ?? "";
  const p99 = /^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? "";
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const errors = /Socket errors: (.*)/.exec(stdout)?.[1] ?? "none";
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk's output:\n${stdout}`);
  return { rps, p50Ms: toMs(p50), p99Ms: toMs(p99), requests, errors, non2xx };
}

/** The upstream: a node http server in a child process of its own, on a free loopback port. */
async function startUpstream(): Promise<{ port: number; child: ChildProcess }> {
  const source = [
    'const http = require("node:http");',
    `const body = ${JSON.stringify(BODY)};`,
    "const server = http.createServer((req, res) => {",
    '  res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });',
    "  res.end(body);",
    "});",
    "server.keepAliveTimeout = 60000;",
    'server.listen(0, "127.0.0.1", () => console.log(server.address().port));',
    'process.on("SIGTERM", () => process.exit(0));',
  ].join("\n");
  const child = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the upstream exited with ${code}`)));
    child.stdout?.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return { port, child };
}

async function main() {
  const { stdout: version } = await run("wrk", ["--version"]).catch(
    (error: { stdout?: string }) => ({
      stdout: error.stdout ?? "",
    }),
  );
  await printHeader(`edge throughput: built-in edge vs Caddy, wrk -t2 -c50 -d${DURATION_S}s`);
  console.log(`${version.split("\n")[0]?.trim() ?? "wrk"}`);
  let upstream: { port: number; child: ChildProcess } | undefined;
  let builtin: BuiltinEdge | undefined;
  let caddy: RunningCaddy | undefined;
  let caddyEdge: CaddyEdge | undefined;
  await withCleanup(
    async () => {
      upstream = await startUpstream();
      const deploymentId = randomUUID();
      const routes = routeTable(
        [
          {
            domain: HOST,
            pathPrefix: "/",
            deploymentId,
            targetPort: 8080,
            tls: false,
            lbAlgorithm: "round_robin",
            weights: {},
          },
        ],
        [
          {
            deploymentId,
            nodeId: "bench-node",
            address: "127.0.0.1",
            port: upstream.port,
            status: "running",
            healthStatus: "healthy",
          },
        ],
      );

      builtin = new BuiltinEdge({ host: "127.0.0.1", port: 0 });
      const builtinPort = (await builtin.start()).port;
      await builtin.apply(routes);

      caddy = await startCaddy();
      const caddyPort = await freePort();
      caddyEdge = new CaddyEdge({
        adminUrl: caddy.adminUrl,
        httpPort: caddyPort,
        httpsPort: await freePort(),
        bindHost: "127.0.0.1",
      });
      await caddyEdge.apply(routes);

      const targets = [
        ["upstream direct (baseline)", upstream.port],
        ["built-in edge", builtinPort],
        ["Caddy", caddyPort],
      ] as const;
      for (const [name, port] of targets) {
        const response = await requestByHost(port, HOST);
        if (response.status !== 200 || response.body !== BODY) {
          throw new Error(`${name} answered ${response.status}: ${response.body.slice(0, 200)}`);
        }
      }

      const rounds = new Map<string, WrkResult[]>();
      for (let round = 1; round <= ROUNDS; round++) {
        for (const [name, port] of targets) {
          await wrk(port, 2); // warm-up
          const result = await wrk(port, DURATION_S);
          rounds.set(name, [...(rounds.get(name) ?? []), result]);
          console.log(
            `round ${round}, ${name}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms (load average now ${loadAverage()})`,
          );
        }
      }
      const median = (xs: number[]) => summarize(xs).median;
      const results = new Map<string, WrkResult>();
      for (const [name, runs] of rounds) {
        results.set(name, {
          rps: median(runs.map((r) => r.rps)),
          p50Ms: median(runs.map((r) => r.p50Ms)),
          p99Ms: median(runs.map((r) => r.p99Ms)),
          requests: runs.reduce((n, r) => n + r.requests, 0),
          non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
          errors: runs.map((r) => r.errors).join("; "),
        });
      }

      const direct = results.get("upstream direct (baseline)");
      const own = results.get("built-in edge");
      const theirs = results.get("Caddy");
      if (!direct || !own || !theirs) throw new Error("a wrk run is missing");
      console.log("");
      console.log(`medians over ${ROUNDS} round(s) of ${DURATION_S} s (requests, non-2xx: totals)`);
      console.log(
        table([
          [
            "target",
            "req/s",
            "p50",
            "p99",
            "requests",
            "non-2xx",
            "socket errors",
            "req/s vs direct",
          ],
          ...[...results].map(([name, r]) => [
            name,
            r.rps.toFixed(0),
            `${r.p50Ms.toFixed(2)} ms`,
            `${r.p99Ms.toFixed(2)} ms`,
            String(r.requests),
            String(r.non2xx),
            r.errors,
            `${((100 * r.rps) / direct.rps).toFixed(0)} %`,
          ]),
        ]),
      );
      console.log("");
      console.log(
        `ratio built-in/Caddy: req/s ${(own.rps / theirs.rps).toFixed(2)}, p99 ${(own.p99Ms / theirs.p99Ms).toFixed(2)}`,
      );
    },
    async () => {
      await builtin?.close();
      await caddyEdge?.close().catch(() => undefined);
      await caddy?.close();
      if (upstream) await stopProcess(upstream.child);
    },
  );
  printFooter();
}

await main();
