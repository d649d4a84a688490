/**
 * Runs the reconcile loop: at start and every interval, read the deployments, their locations
 * and the engine's labelled containers, plan (plan.ts) and act. A deployment whose convergence
 * fails is retried with exponential backoff (per deployment, reset on success); the loop itself
 * never stops on an error.
 */

import { inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../store/database.js";
import { deploymentLocations, deployments } from "../store/schema.js";
import type { Deployer } from "./deployer.js";
import { planReconcile, type ReconcilePlan } from "./plan.js";
import type { RuntimePort } from "./ports.js";
import type { RouteSync } from "./routing.js";

export interface ReconcilerOptions {
  db: Db;
  runtime: RuntimePort;
  deployer: Deployer;
  routes: RouteSync;
  intervalMs: number;
  orphanPolicy: "remove" | "keep";
  logger: Logger;
  now?: () => number;
}

const BACKOFF_BASE_MS = 5_000;
const BACKOFF_MAX_MS = 10 * 60_000;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReconcilePlan | undefined> | undefined;
  private closed = false;
  private readonly failures = new Map<string, { count: number; notBefore: number }>();
  private readonly now: () => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.closed || this.timer) return;
    const tick = () => {
      void this.reconcileOnce().finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.options.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** One pass; concurrent calls share the pass in progress. */
  reconcileOnce(): Promise<ReconcilePlan | undefined> {
    this.running ??= this.pass()
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error }, "reconcile pass failed; will try again");
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<ReconcilePlan> {
    const { db, runtime, deployer, routes, logger } = this.options;
    await runtime.ping();
    const [desired, locations, actual] = await Promise.all([
      db.select().from(deployments),
      db.select().from(deploymentLocations),
      runtime.list(),
    ]);
    const plan = planReconcile(desired, actual, locations, {
      orphanPolicy: this.options.orphanPolicy,
    });

    for (const id of plan.removeOrphans) {
      logger.info({ containerId: id }, "removing a labelled container that no deployment owns");
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
    for (const id of plan.converge) {
      if (this.closed) break;
      const failure = this.failures.get(id);
      if (failure && failure.notBefore > this.now()) continue;
      try {
        await deployer.converge(id);
        this.failures.delete(id);
      } catch (error) {
        const count = (failure?.count ?? 0) + 1;
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (count - 1));
        this.failures.set(id, { count, notBefore: this.now() + delay * (0.5 + Math.random() / 2) });
        logger.warn(
          { err: error, deploymentId: id, retryInMs: delay },
          "converging a deployment failed",
        );
      }
    }
    return plan;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
