/**
 * Runs the reconcile loop: at start, every interval, and on one engine soon after an event that
 * hints at drift (runtime.events: a platform container died or was removed), read the
 * deployments, their locations and the engine's labelled containers, plan (plan.ts) and act. A
 * deployment whose convergence fails is retried with exponential backoff (per deployment, reset
 * on success); the loop itself never stops on an error.
 *
 * On a cluster the containers are the Swarm services of every node (listed through the
 * manager), the nodes that are drained, down or silent are unusable (their replicas move
 * elsewhere), and once the deployments have converged, what operators asked of nodes through
 * the platform is applied to Swarm (node-specs.ts).
 */

import { inArray } from "drizzle-orm";
import type { Logger } from "pino";
import { backoffDelay, mapLimit } from "../platform/index.js";
import type { ClusterPort, RuntimePort } from "../runtime/index.js";
import { type Db, deploymentLocations, deployments } from "../store/index.js";
import type { Deployer } from "./deployer.js";
import { applyNodeSpecs } from "./node-specs.js";
import type { Placer } from "./placement.js";
import { deploymentsToConverge, planReconcile } from "./plan.js";
import type { RouteSync } from "./routing.js";

export interface ReconcilerOptions {
  db: Db;
  runtime: RuntimePort;
  deployer: Deployer;
  routes: RouteSync;
  intervalMs: number;
  orphanPolicy: "remove" | "keep";
  /** Containers of other installations sharing the engine are left alone. */
  installationId?: string;
  logger: Logger;
  now?: () => number;
  /** Cluster mode: the scheduler's view of which nodes are usable, and the Swarm's nodes. */
  cluster?: { placer: Placer; nodes: ClusterPort };
  /** Deployments converged at once in a pass (default 4): a lost node moves many at once. */
  concurrency?: number;
}

/** What a pass did: the deployments it handed to the deployer, the orphans and locations it removed. */
export interface ReconcilePass {
  converge: string[];
  removeOrphans: string[];
  dropLocations: string[];
}

const BACKOFF_BASE_MS = 5_000;
const BACKOFF_MAX_MS = 10 * 60_000;
/** Events that come together (a redeploy stops several containers) make one pass. */
const HINT_DEBOUNCE_MS = 300;
/** The wait before watching the engine's events again once their stream broke. */
const EVENTS_RETRY_MS = 5_000;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReconcilePass | undefined> | undefined;
  private queued: Promise<ReconcilePass | undefined> | undefined;
  private closed = false;
  /** The running loop's number, 0 when none runs; a stopped loop's last pass schedules no more. */
  private loop = 0;
  private loops = 0;
  private readonly failures = new Map<string, { count: number; notBefore: number }>();
  private readonly now: () => number;
  /** Stops watching the engine's events (the running loop's). */
  private watching: AbortController | undefined;
  private hint: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts the loop (on election); a no-op while it runs, or once closed. */
  start(): void {
    // Demotion stops the loop with stop(), not close(): a controller elected again starts it anew.
    if (this.closed || this.loop !== 0) return;
    const loop = ++this.loops;
    this.loop = loop;
    const tick = () => {
      void this.reconcileOnce().finally(() => {
        if (this.loop === loop) this.timer = setTimeout(tick, this.options.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
    this.watchEvents(loop);
  }

  /**
   * Between intervals, the engine's events that hint at drift (a container that died or was
   * removed by hand) bring the next pass forward.
   */
  private watchEvents(loop: number): void {
    const events = this.options.runtime.events?.bind(this.options.runtime);
    if (!events) return;
    const watching = new AbortController();
    this.watching = watching;
    const { logger } = this.options;
    void (async () => {
      while (!watching.signal.aborted && this.loop === loop) {
        try {
          for await (const event of events(watching.signal)) {
            logger.debug({ event }, "engine event: reconciling soon");
            this.hint ??= setTimeout(() => {
              this.hint = undefined;
              if (this.loop === loop) void this.reconcileOnce();
            }, HINT_DEBOUNCE_MS);
          }
        } catch (error) {
          if (watching.signal.aborted) return;
          logger.debug({ err: error }, "the engine's event stream broke; watching again soon");
        }
        await new Promise((resolve) => setTimeout(resolve, EVENTS_RETRY_MS).unref());
      }
    })();
  }

  /** Stops the loop (on demotion) and waits for the pass in progress; start() may follow. */
  async stop(): Promise<void> {
    this.loop = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watching?.abort();
    this.watching = undefined;
    if (this.hint) clearTimeout(this.hint);
    this.hint = undefined;
    await this.running;
    await this.queued;
  }

  /**
   * One pass that starts after this call. A call while a pass runs gets the next pass, shared by
   * every call made during the same pass: the one in progress may have read the state before
   * the caller's change (a node that changed, a container started a moment ago).
   */
  reconcileOnce(): Promise<ReconcilePass | undefined> {
    // Not the running pass: it may have read the state before the change the caller made.
    if (this.running) {
      this.queued ??= this.running.then(() => {
        this.queued = undefined;
        return this.closed ? undefined : this.reconcileOnce();
      });
      return this.queued;
    }
    this.running = this.pass()
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error }, "reconcile pass failed; will try again");
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<ReconcilePass> {
    const { db, runtime, routes, logger } = this.options;
    await runtime.ping();
    const cluster = this.options.cluster;
    const [desired, locations, actual, unusableNodes] = await Promise.all([
      db.select().from(deployments),
      db.select().from(deploymentLocations),
      runtime.list(),
      cluster ? cluster.placer.unusableNodes() : [],
    ]);
    const plan = planReconcile(desired, actual, locations, {
      orphanPolicy: this.options.orphanPolicy,
      ...(this.options.installationId ? { installationId: this.options.installationId } : {}),
      unusableNodes,
    });

    for (const id of plan.removeOrphans) {
      logger.info({ containerId: id }, "removing a labelled container that no deployment owns");
      // A container that will not stop is removed forced just below, which reports its failure.
      await runtime.stop(id).catch(() => undefined);
      await runtime
        .remove(id)
        .catch((error: unknown) =>
          logger.warn({ err: error, containerId: id }, "removing orphan failed"),
        );
    }
    if (plan.dropLocations.length > 0) {
      await db
        .delete(deploymentLocations)
        .where(inArray(deploymentLocations.id, plan.dropLocations));
      await routes.sync();
    }
    // Each deployment in a bucket goes to the deployer, which plans it again with all its
    // records (build, domains, environment) and carries that plan out.
    const converge = deploymentsToConverge(plan);
    if (converge.length > 0) {
      const { start, stop, remove, place } = plan;
      logger.debug({ start, stop, remove, place }, "reconcile: deployments to converge");
    }
    // converge() records its own failures (backoff), so one deployment never stops the others.
    await mapLimit(converge, this.options.concurrency ?? 4, (id) => this.converge(id));
    if (cluster && !this.closed) await applyNodeSpecs(db, cluster.nodes, runtime, logger);
    return { converge, removeOrphans: plan.removeOrphans, dropLocations: plan.dropLocations };
  }

  private async converge(id: string): Promise<void> {
    const { deployer, logger } = this.options;
    if (this.closed) return;
    const failure = this.failures.get(id);
    if (failure && failure.notBefore > this.now()) return;
    try {
      await deployer.converge(id);
      this.failures.delete(id);
    } catch (error) {
      const count = (failure?.count ?? 0) + 1;
      const delay = backoffDelay(count, BACKOFF_BASE_MS, BACKOFF_MAX_MS);
      this.failures.set(id, { count, notBefore: this.now() + delay });
      logger.warn(
        { err: error, deploymentId: id, retryInMs: delay },
        "converging a deployment failed",
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }
}
