/**
 * The live cache (docs/architecture.md, "Metrics"): the last `windowMs` of samples of every container, in
 * memory, and the latest usage of every node. Bounded: samples older than the window go, a
 * container not heard of for a window goes, and at most `maxContainers` are kept (new ones are
 * refused past that, and counted).
 */
import {
  type ContainerSample,
  type DeploymentSample,
  type NodeSample,
  type SampleBatch,
  sumSamples,
} from "./samples.js";

export interface LiveCacheOptions {
  windowMs: number;
  maxContainers: number;
  now?: () => number;
}

export interface LiveCacheStats {
  containers: number;
  deployments: number;
  nodes: number;
  samples: number;
  /** Samples refused because the cache was full of containers. */
  refused: number;
}

interface Entry {
  deploymentId: string;
  projectId: string;
  nodeId: string;
  /** Oldest first; one per slot. */
  samples: ContainerSample[];
}

/** How often whole containers are checked for staleness at most. */
const PRUNE_EVERY_MS = 1_000;

export class LiveCache {
  private readonly containers = new Map<string, Entry>();
  private readonly byDeployment = new Map<string, Set<string>>();
  private readonly nodes = new Map<string, NodeSample>();
  private readonly now: () => number;
  private sampleCount = 0;
  private refused = 0;
  private lastPrune = 0;

  constructor(private readonly options: LiveCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Adds a node's batch; returns the deployments it has samples of. */
  ingest(batch: SampleBatch): Set<string> {
    const touched = new Set<string>();
    const horizon = this.now() - this.options.windowMs;
    if (batch.node && batch.node.at >= horizon) this.nodes.set(batch.nodeId, batch.node);
    for (const sample of batch.samples) {
      if (sample.at < horizon) continue;
      let entry = this.containers.get(sample.containerId);
      if (!entry) {
        if (this.containers.size >= this.options.maxContainers) {
          this.refused++;
          continue;
        }
        entry = {
          deploymentId: sample.deploymentId,
          projectId: sample.projectId,
          nodeId: batch.nodeId,
          samples: [],
        };
        this.containers.set(sample.containerId, entry);
        let set = this.byDeployment.get(sample.deploymentId);
        if (!set) {
          set = new Set();
          this.byDeployment.set(sample.deploymentId, set);
        }
        set.add(sample.containerId);
      }
      const last = entry.samples.at(-1);
      if (last && last.at === sample.at) {
        entry.samples[entry.samples.length - 1] = sample;
      } else if (!last || last.at < sample.at) {
        entry.samples.push(sample);
        this.sampleCount++;
      } else {
        continue; // Older than what is there: a late duplicate.
      }
      this.trim(entry, horizon);
      touched.add(sample.deploymentId);
    }
    this.prune(horizon);
    return touched;
  }

  /** The deployment's sample at slot `at`: its containers' samples of that slot, added up. */
  slot(deploymentId: string, at: number): DeploymentSample {
    const samples: ContainerSample[] = [];
    for (const entry of this.entriesOf(deploymentId)) {
      for (let i = entry.samples.length - 1; i >= 0; i--) {
        const sample = entry.samples[i] as ContainerSample;
        if (sample.at === at) samples.push(sample);
        if (sample.at <= at) break;
      }
    }
    return sumSamples(at, samples);
  }

  /** The deployment's most recent slot, if any container of it was heard of within the window. */
  latest(deploymentId: string): DeploymentSample | undefined {
    let at: number | undefined;
    for (const entry of this.entriesOf(deploymentId)) {
      const last = entry.samples.at(-1);
      if (last && (at === undefined || last.at > at)) at = last.at;
    }
    return at === undefined ? undefined : this.slot(deploymentId, at);
  }

  /** The deployment's samples slot by slot, oldest first, within [since, until). */
  series(deploymentId: string, since = -Infinity, until = Infinity): DeploymentSample[] {
    const bySlot = new Map<number, ContainerSample[]>();
    for (const entry of this.entriesOf(deploymentId)) {
      for (const sample of entry.samples) {
        if (sample.at < since || sample.at >= until) continue;
        const list = bySlot.get(sample.at);
        if (list) list.push(sample);
        else bySlot.set(sample.at, [sample]);
      }
    }
    return [...bySlot.entries()]
      .sort(([a], [b]) => a - b)
      .map(([at, samples]) => sumSamples(at, samples));
  }

  /** Every deployment's latest sample, with its project: for the Prometheus gauges. */
  *latestByDeployment(): Generator<{
    deploymentId: string;
    projectId: string;
    sample: DeploymentSample;
  }> {
    for (const [deploymentId, ids] of this.byDeployment) {
      const sample = this.latest(deploymentId);
      const first = this.containers.get(ids.values().next().value as string);
      if (sample && first) yield { deploymentId, projectId: first.projectId, sample };
    }
  }

  /** Every node's latest usage within the window. */
  latestNodes(): NodeSample[] {
    const horizon = this.now() - this.options.windowMs;
    return [...this.nodes.values()].filter((node) => node.at >= horizon);
  }

  stats(): LiveCacheStats {
    return {
      containers: this.containers.size,
      deployments: this.byDeployment.size,
      nodes: this.nodes.size,
      samples: this.sampleCount,
      refused: this.refused,
    };
  }

  private *entriesOf(deploymentId: string): Generator<Entry> {
    for (const id of this.byDeployment.get(deploymentId) ?? []) {
      const entry = this.containers.get(id);
      if (entry) yield entry;
    }
  }

  private trim(entry: Entry, horizon: number): void {
    let drop = 0;
    while (drop < entry.samples.length && (entry.samples[drop] as ContainerSample).at < horizon) {
      drop++;
    }
    if (drop > 0) {
      entry.samples.splice(0, drop);
      this.sampleCount -= drop;
    }
  }

  /** Drops whole containers and nodes not heard of within the window, at most once a second. */
  private prune(horizon: number): void {
    const now = this.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    for (const [id, entry] of this.containers) {
      this.trim(entry, horizon);
      if (entry.samples.length > 0) continue;
      this.containers.delete(id);
      const set = this.byDeployment.get(entry.deploymentId);
      set?.delete(id);
      if (set?.size === 0) this.byDeployment.delete(entry.deploymentId);
    }
    for (const [id, node] of this.nodes) if (node.at < horizon) this.nodes.delete(id);
  }
}
