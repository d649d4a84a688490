/**
 * What the API's metrics RPCs call: one deployment's live samples and history through one
 * function (`get`), and its samples as they come (`watch`). The caller has already checked that
 * the principal may see the deployment (DeploymentService.get).
 */
import { DomainError, invalidArgument, unavailable } from "../domain/index.js";
import { within } from "./deadline.js";
import type { Subscription } from "./fan-out.js";
import type { LiveHub } from "./live-hub.js";
import type { MetricsStore } from "./metrics-store.js";
import type { DeploymentSample, UsageHour } from "./samples.js";

/** The longest range `get` answers at once. */
export const MAX_RANGE_MS = 31 * 86_400_000;
/** The range `get` answers without `since`. */
export const DEFAULT_RANGE_MS = 3_600_000;

export interface MetricsRange {
  /** Default: `until` minus one hour. */
  since?: Date;
  /** Default: now. */
  until?: Date;
}

export interface DeploymentMetrics {
  /** The live window (every collection interval) within the range. */
  live: DeploymentSample[];
  /** One per bucket (minute) within the range. */
  minutes: DeploymentSample[];
  /** The hours that overlap the range. */
  usage: UsageHour[];
}

export class MetricsService {
  private readonly readTimeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly hub: LiveHub,
    /** Without it (no metrics database configured), the history is empty. */
    private readonly store: MetricsStore | undefined,
    options: { readTimeoutMs?: number; now?: () => number } = {},
  ) {
    this.readTimeoutMs = options.readTimeoutMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  async get(deploymentId: string, range: MetricsRange = {}): Promise<DeploymentMetrics> {
    checkDeploymentId(deploymentId);
    const until = range.until ?? new Date(this.now());
    const since = range.since ?? new Date(until.getTime() - DEFAULT_RANGE_MS);
    if (Number.isNaN(since.getTime()) || Number.isNaN(until.getTime())) {
      throw invalidArgument("since and until must be valid times");
    }
    if (since.getTime() >= until.getTime()) throw invalidArgument("since must be before until");
    if (until.getTime() - since.getTime() > MAX_RANGE_MS) {
      throw invalidArgument("the range must be at most 31 days");
    }
    const live = this.hub.cache.series(deploymentId, since.getTime(), until.getTime());
    if (!this.store) return { live, minutes: [], usage: [] };
    try {
      const history = await within(
        Promise.all([
          this.store.minutes(deploymentId, since, until),
          this.store.usage(deploymentId, since, until),
        ]),
        this.readTimeoutMs,
      );
      if (!history.done) throw new Error(`no answer within ${this.readTimeoutMs} ms`);
      const [minutes, usage] = history.value;
      return { live, minutes, usage };
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw unavailable("the metrics history is unavailable: its database does not answer", error);
    }
  }

  /** The deployment's samples as they come, the latest known first; see LiveHub.watch. */
  watch(deploymentId: string, signal?: AbortSignal): Subscription {
    checkDeploymentId(deploymentId);
    return this.hub.watch(deploymentId, signal);
  }
}

function checkDeploymentId(id: string): void {
  if (id.length === 0 || id.length > 128)
    throw invalidArgument("deployment_id must be a deployment id");
}
