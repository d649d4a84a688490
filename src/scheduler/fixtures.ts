/**
 * Realistic nodes for the scheduler's tests and benchmarks: sizes from common cloud instance
 * types, reservations that add up to whole deployments, measured load that follows them, and a
 * cluster's usual share of drained, down, silent and non-compute nodes. Generated clusters are
 * seeded, so a failing test or a benchmark run can be repeated exactly.
 */
import { type ClusterSnapshot, MIB, type NodeSnapshot, type PlacementRequest } from "./snapshot.js";

const GIB = 1024 * MIB;

/** The instant the fixtures' heartbeats are measured against. */
export const FIXTURE_NOW = new Date("2025-06-02T10:00:00.000Z");
export const HEARTBEAT_TIMEOUT_MS = 30_000;

/** A 4-core, 8 GiB worker with five 250m / 256 MiB deployments and a fresh heartbeat. */
export function node(overrides: Partial<NodeSnapshot> & Pick<NodeSnapshot, "id">): NodeSnapshot {
  return {
    hostname: `${overrides.id}.internal`,
    address: "10.0.0.10",
    availability: "active",
    lastHeartbeat: new Date(FIXTURE_NOW.getTime() - 3_000),
    labels: { compute: "true" },
    cpuCores: 4,
    memoryBytes: 8 * GIB,
    maxDeployments: 50,
    cpuPercent: 20,
    memoryUsedBytes: 2 * GIB,
    deploymentCount: 5,
    reservedCpuMillicores: 5 * 250,
    reservedMemoryBytes: 5 * 256 * MIB,
    ...overrides,
  };
}

export function snapshotOf(nodes: readonly NodeSnapshot[]): ClusterSnapshot {
  return { nodes, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS };
}

/** A web app's replica: half a core, 512 MiB. */
export function request(overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    deploymentId: "5f0c8a2e-3b1d-4e6f-9a7b-2c4d6e8f0a1b",
    replicas: 1,
    cpuMillicores: 500,
    memoryMb: 512,
    ...overrides,
  };
}

/** Instance types: cores and memory. */
const MACHINES = [
  { cores: 2, memory: 4 * GIB },
  { cores: 4, memory: 8 * GIB },
  { cores: 4, memory: 16 * GIB },
  { cores: 8, memory: 32 * GIB },
  { cores: 16, memory: 64 * GIB },
  { cores: 32, memory: 128 * GIB },
] as const;

/** Deployment sizes users pick, most of them small. */
const DEPLOYMENT_SIZES = [
  { cpu: 250, memory: 256 * MIB },
  { cpu: 250, memory: 256 * MIB },
  { cpu: 500, memory: 512 * MIB },
  { cpu: 500, memory: 512 * MIB },
  { cpu: 1000, memory: 1 * GIB },
  { cpu: 2000, memory: 2 * GIB },
] as const;

const ZONES = ["fra1-a", "fra1-b", "fra1-c", "ams1-a", "ams1-b"] as const;

export interface ClusterOptions {
  size: number;
  seed?: number;
}

/**
 * A cluster of `size` nodes: about 88% active compute nodes at various loads (some full), 4%
 * draining, 2% down, 2% with a heartbeat past the timeout, 4% managers without compute=true.
 */
export function cluster({ size, seed = 1 }: ClusterOptions): ClusterSnapshot {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const drafts: NodeSnapshot[] = [];
  for (let n = 0; n < size; n++) {
    const machine = pick(MACHINES);
    const maxDeployments = machine.cores >= 16 ? 100 : 50;
    // Fill to a random level, up to full: reservations are whole deployments that fitted.
    const fill = random() ** 0.7;
    let reservedCpu = 0;
    let reservedMemory = 0;
    let deployments = 0;
    while (deployments < maxDeployments) {
      const d = pick(DEPLOYMENT_SIZES);
      if (reservedCpu + d.cpu > machine.cores * 1000 * fill) break;
      if (reservedMemory + d.memory > machine.memory * fill) break;
      reservedCpu += d.cpu;
      reservedMemory += d.memory;
      deployments++;
    }
    const roll = random();
    const availability = roll < 0.04 ? "drain" : roll < 0.06 ? "down" : "active";
    const silentFor = roll >= 0.06 && roll < 0.08 ? 120_000 : 1_000 + random() * 9_000;
    const manager = roll >= 0.08 && roll < 0.12;
    const zone = pick(ZONES);
    // Apps use a fraction of their limits; the host has its own overhead.
    const cpuPercent = Math.min(100, 3 + (reservedCpu / (machine.cores * 1000)) * 60 * random());
    drafts.push({
      id: swarmNodeId(random),
      hostname: `${manager ? "manager" : "worker"}-${String(n).padStart(5, "0")}.${zone}`,
      address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      availability,
      lastHeartbeat: new Date(FIXTURE_NOW.getTime() - silentFor),
      labels: manager
        ? { role: "manager", zone }
        : { compute: "true", zone, size: `${machine.cores}c-${machine.memory / GIB}g` },
      cpuCores: machine.cores,
      memoryBytes: machine.memory,
      maxDeployments,
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      memoryUsedBytes: Math.round(512 * MIB + reservedMemory * (0.3 + 0.5 * random())),
      deploymentCount: deployments,
      reservedCpuMillicores: reservedCpu,
      reservedMemoryBytes: reservedMemory,
    });
  }
  // In id order, as the controller reads them, and allocated in that order, as a database read
  // allocates its rows: walking 10,000 nodes scattered in memory would measure cache misses.
  drafts.sort((a, b) => (a.id < b.id ? -1 : 1));
  const nodes = drafts.map(
    (d): NodeSnapshot => ({
      ...d,
      id: copyOf(d.id),
      hostname: copyOf(d.hostname),
      address: copyOf(d.address),
      lastHeartbeat: d.lastHeartbeat && new Date(d.lastHeartbeat),
      labels: { ...d.labels },
    }),
  );
  return { nodes, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS };
}

/** Docker Swarm's node ids: 25 characters, lowercase letters and digits. */
function swarmNodeId(random: () => number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const codes = Array.from({ length: 25 }, () =>
    alphabet.charCodeAt(Math.floor(random() * alphabet.length)),
  );
  return String.fromCharCode(...codes);
}

/** A new flat string with the same characters, allocated now. */
function copyOf(text: string): string {
  return String.fromCharCode(...Array.from(text, (c) => c.charCodeAt(0)));
}

/** A small, fast, seedable generator (public domain); good enough for fixtures. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
