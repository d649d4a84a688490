/**
 * Placement decisions per second of the scheduler's pure core (src/scheduler), on one core, over
 * generated clusters of 1,000 and 10,000 nodes (fixtures.ts: mixed instance sizes and loads,
 * some drained, down, silent or non-compute nodes), for each strategy.
 *
 * A decision is one schedule() call placing one replica (and a second table with three replicas
 * per call). Three modes:
 * - "decisions": { explain: false }, the placement alone, nothing recorded per node;
 * - "explained": the default, and what the controller pays for each decision: every node's
 *   verdict recorded by the last pass (the check it failed, or its scores), read in the compact
 *   form the controller stores (`compact`: the node ids and each rejected node's reason facts
 *   added; the JSON encoding, the database driver's work, is not counted);
 * - "built": the same, and the explanation built from it, one NodeExplanation per node with its
 *   reason written out: what ExplainPlacement pays when someone asks.
 * The snapshot does not change between calls, and nothing is cached between calls; round-robin
 * carries its cursor from call to call. Rounds of about 400 ms; the median round is printed, and
 * the slowest, in calls per second of wall-clock time and per second of the process's CPU time
 * (user + system), which other work on a busy machine disturbs less.
 *
 * The reference, in the same process: one pass over the same nodes that reads what the checks
 * and the least-loaded scorer read and keeps the best, written as one plain loop (no pipeline,
 * no context, no order check). The ratio of a cell to it says how close the scheduler is to the
 * cost of looking at every node once, whatever the machine's speed or load.
 *
 *   node --import tsx bench/scheduler-throughput.ts [--rounds 7] [--sizes 1000,10000]
 */
import { loadavg } from "node:os";
import { cluster, FIXTURE_NOW } from "../src/scheduler/fixtures.js";
import {
  type ClusterSnapshot,
  type PlacementRequest,
  type SchedulerState,
  STRATEGY_NAMES,
  type StrategyName,
  schedule,
} from "../src/scheduler/index.js";

const args = new Map<string, string>();
for (let a = 2; a < process.argv.length; a += 2) {
  args.set(process.argv[a] ?? "", process.argv[a + 1] ?? "");
}
const ROUNDS = Number(args.get("--rounds") ?? 7);
const SIZES = (args.get("--sizes") ?? "1000,10000").split(",").map(Number);
const ROUND_MS = 400;

/** What users ask for, most of it small; one in eight moves off a node, one in four has peers. */
function requests(snapshot: ClusterSnapshot, replicas: number): PlacementRequest[] {
  const sizes = [
    [250, 256],
    [250, 256],
    [500, 512],
    [500, 512],
    [1000, 1024],
    [2000, 2048],
  ] as const;
  const ids = snapshot.nodes.map((n) => n.id);
  return Array.from({ length: 64 }, (_, k) => {
    const [cpuMillicores, memoryMb] = sizes[k % sizes.length] as readonly [number, number];
    return {
      deploymentId: `0000000${k}-3b1d-4e6f-9a7b-2c4d6e8f0a1b`.slice(-36),
      replicas,
      cpuMillicores,
      memoryMb,
      ...(k % 8 === 0 ? { avoidNodes: [ids[(k * 37) % ids.length] as string] } : {}),
      ...(k % 4 === 1 ? { existing: [ids[(k * 101) % ids.length] as string] } : {}),
    };
  });
}

interface Figures {
  /** Calls per second of wall-clock time: the median round, and the slowest. */
  median: number;
  slowest: number;
  /** Calls per second of this process's CPU time, median round: less sensitive to other load. */
  perCpuSecond: number;
}

function measure(run: () => void): Figures {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) run();
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let calls = 0;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      for (let k = 0; k < 16; k++) run();
      calls += 16;
      elapsed = performance.now() - start;
    }
    const cpu = process.cpuUsage(cpuStart);
    rates.push((calls * 1000) / elapsed);
    cpuRates.push((calls * 1e6) / (cpu.user + cpu.system));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return { median: median(rates), slowest: Math.min(...rates), perCpuSecond: median(cpuRates) };
}

type Mode = "decisions" | "explained" | "built";

function decisions(
  snapshot: ClusterSnapshot,
  strategy: StrategyName,
  replicas: number,
  mode: Mode,
): Figures {
  const list = requests(snapshot, replicas);
  const options = { explain: mode !== "decisions" };
  let state: SchedulerState = {};
  let k = 0;
  let sink = 0;
  const figures = measure(() => {
    const request = list[k++ & 63] as PlacementRequest;
    const result = schedule(snapshot, request, strategy, FIXTURE_NOW, state, options);
    state = result.state;
    if (!result.ok) throw new Error(result.message);
    sink += result.placements.length;
    if (mode === "explained") sink += result.compact.nodes.length;
    if (mode === "built") sink += result.explanations.length;
  });
  if (sink === 0) throw new Error("nothing was placed");
  return figures;
}

/** One plain loop over the nodes: what any placement must at least read (see above). */
function reference(snapshot: ClusterSnapshot): Figures {
  const { nodes, heartbeatTimeoutMs } = snapshot;
  const now = FIXTURE_NOW.getTime();
  const sizes = [250, 500, 1000, 2000];
  let k = 0;
  let sink = 0;
  const figures = measure(() => {
    const cpu = sizes[k++ & 3] as number;
    const memory = cpu * 1024 * 1024;
    let best = Number.NEGATIVE_INFINITY;
    let chosen = -1;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as (typeof nodes)[number];
      if (n.availability !== "active" || n.labels.compute !== "true") continue;
      if (n.lastHeartbeat === null || now - n.lastHeartbeat.getTime() > heartbeatTimeoutMs)
        continue;
      if (n.deploymentCount >= n.maxDeployments) continue;
      if (n.cpuCores * 1000 - n.reservedCpuMillicores < cpu) continue;
      if (n.memoryBytes - n.reservedMemoryBytes < memory) continue;
      const load = Math.min(Math.max(Math.round(n.cpuPercent), 0), 100);
      const total = 1 - (load + n.deploymentCount / (n.deploymentCount + 1)) / 101;
      if (total > best) {
        best = total;
        chosen = i;
      }
    }
    sink += chosen;
  });
  if (sink === 0) throw new Error("the reference chose nothing");
  return figures;
}

const rate = (n: number) => Math.round(n).toLocaleString("en-US");
const micros = (n: number) => (1e6 / n).toFixed(1);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
console.log(`node ${process.version}, ${ROUNDS} rounds of ${ROUND_MS} ms, median (slowest)`);
console.log(`load average before: ${load()}\n`);

const references = new Map<number, Figures>();
for (const size of SIZES) {
  const f = reference(cluster({ size, seed: 42 }));
  references.set(size, f);
  console.log(
    `reference on ${rate(size)} nodes: ${rate(f.median)}/s (${rate(f.slowest)}), ` +
      `${rate(f.perCpuSecond)} per CPU-s, ${micros(f.median)} µs`,
  );
}
console.log(
  "\n| nodes | strategy | replicas | decisions/s (slowest) | per CPU-s | µs | explained/s (slowest) | per CPU-s | µs | built/s (slowest) | per CPU-s | µs | per CPU-s ÷ reference's |",
);
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const size of SIZES) {
  const snapshot = cluster({ size, seed: 42 });
  const ref = references.get(size) as Figures;
  for (const replicas of [1, 3]) {
    for (const strategy of STRATEGY_NAMES) {
      const lean = decisions(snapshot, strategy, replicas, "decisions");
      const explained = decisions(snapshot, strategy, replicas, "explained");
      const built = decisions(snapshot, strategy, replicas, "built");
      const cells = (f: Figures) =>
        `${rate(f.median)} (${rate(f.slowest)}) | ${rate(f.perCpuSecond)} | ${micros(f.median)}`;
      const ratios = [lean, explained, built]
        .map((f) => (f.perCpuSecond / ref.perCpuSecond).toFixed(2))
        .join(", ");
      console.log(
        `| ${rate(size)} | ${strategy} | ${replicas} | ${cells(lean)} | ${cells(explained)} | ${cells(built)} | ${ratios} |`,
      );
    }
  }
}

// The rare path: nothing fits, every node says why, and the message is built.
for (const size of SIZES) {
  const snapshot = cluster({ size, seed: 42 });
  const huge: PlacementRequest = {
    deploymentId: "huge",
    replicas: 1,
    cpuMillicores: 500,
    memoryMb: 1 << 20,
  };
  const figures = measure(() => {
    const result = schedule(snapshot, huge, "least-loaded", FIXTURE_NOW);
    if (result.ok) throw new Error("a 1 TiB replica fitted");
  });
  console.log(
    `\ninfeasible on ${rate(size)} nodes (every node's reason, the message): ` +
      `${rate(figures.median)}/s, ${rate(figures.perCpuSecond)} per CPU-s, ${micros(figures.median)} µs each`,
  );
}
console.log(`\nload average after: ${load()}`);
