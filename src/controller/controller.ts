/**
 * The controller role: runs deployment jobs and the reconcile loop, on the leader only. With
 * several controllers, the leader lock (Redis or in-process) picks one; when it dies another
 * takes over within the lock's TTL. A standby that receives a job from the shared queue hands
 * it to the leader over the bus rather than acting: two controllers converging one deployment
 * at once could place its replicas twice. Jobs only wake the controller up: the state they act
 * on is in the database, so a job lost on the way (no leader at that moment) is made up for by
 * the pass the next leader starts with.
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { DEPLOY_JOB, NODE_CHANGED_JOB } from "../domain/index.js";
import {
  type Bus,
  type JobData,
  type JobQueue,
  LeaderElector,
  type LeaderLock,
} from "../platform/index.js";
import type { Deployer } from "./deployer.js";
import type { Reconciler } from "./reconciler.js";

/**
 * What the controller uses: the leader lock, the job queue it takes jobs from, the bus over which
 * a standby hands them to the leader, a logger, and what the leader runs.
 */
export interface ControllerDeps {
  readonly lock: LeaderLock;
  readonly queue: JobQueue;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly deployer: Deployer;
  readonly reconciler: Reconciler;
  /** Other loops that run on the leader only (the daily re-check of domains). */
  readonly leaderLoops?: ReadonlyArray<{
    start(): void;
    stop(): Promise<void>;
    close(): Promise<void>;
  }>;
  readonly lockTtlMs?: number;
  readonly concurrency?: number;
}

/** Where standby controllers hand jobs to the leader. */
export const LEADER_JOBS_CHANNEL = "controller:jobs";

export class Controller {
  private readonly elector: LeaderElector;
  private closing: Promise<void> | undefined;
  private subscribed: Promise<() => Promise<void>> | undefined;

  constructor(private readonly deps: ControllerDeps) {
    const { logger, reconciler } = deps;
    this.elector = new LeaderElector({
      lock: deps.lock,
      name: "controller",
      ownerId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      ttlMs: deps.lockTtlMs ?? 15_000,
      logger,
      onElected: () => {
        logger.info("this controller is the leader");
        reconciler.start();
        for (const loop of deps.leaderLoops ?? []) loop.start();
      },
      onDemoted: async () => {
        logger.info("this controller is no longer the leader");
        // stop(), not close(): the loop starts again if this controller is elected again.
        await reconciler.stop();
        for (const loop of deps.leaderLoops ?? []) await loop.stop();
      },
    });
  }

  /** Whether this controller leads now: it alone runs jobs and the reconcile loop. */
  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    const { bus, queue, logger } = this.deps;
    this.subscribed = bus.subscribe(LEADER_JOBS_CHANNEL, async (message) => {
      const { name, data } = (message ?? {}) as { name?: unknown; data?: unknown };
      if (this.closing || !this.elector.isLeader || typeof name !== "string") return;
      await this.handle(name, (data ?? {}) as JobData);
    });
    this.subscribed.catch((error: unknown) =>
      logger.warn({ err: error }, "controller: subscribing to handed-over jobs failed"),
    );
    queue.process(
      async (job) => {
        if (this.elector.isLeader) return this.handle(job.name, job.data);
        logger.info({ job: job.name, jobId: job.id }, "standing by: job handed to the leader");
        await bus.publish(LEADER_JOBS_CHANNEL, { name: job.name, data: job.data });
      },
      { concurrency: this.deps.concurrency ?? 2 },
    );
    this.elector.start();
  }

  private async handle(name: string, data: JobData): Promise<void> {
    const { deployer, reconciler } = this.deps;
    if (name === DEPLOY_JOB && typeof data.deploymentId === "string") {
      await deployer.converge(data.deploymentId);
    } else if (name === NODE_CHANGED_JOB) {
      await reconciler.reconcileOnce();
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.elector.close();
      await this.deps.reconciler.close();
      for (const loop of this.deps.leaderLoops ?? []) await loop.close();
      // A subscription that failed was logged in start() and has nothing to undo.
      const unsubscribe = await this.subscribed?.catch(() => undefined);
      await unsubscribe?.();
    })();
    return this.closing;
  }
}
