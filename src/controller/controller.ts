/**
 * The controller role: runs deployment jobs from the queue and, on the leader only, the
 * reconcile loop. With several controllers, the leader lock (Redis or in-process) picks one;
 * when it dies another takes over within the lock's TTL. Jobs only wake the controller up:
 * the state they act on is in the database, so a lost job is made up for by the next pass.
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { AppContext } from "../app/context.js";
import { DEPLOY_JOB } from "../deployments/service.js";
import { NODE_CHANGED_JOB } from "../nodes/service.js";
import { LeaderElector } from "../platform/index.js";
import type { Deployer } from "./deployer.js";
import type { Reconciler } from "./reconciler.js";

export interface ControllerOptions {
  ctx: AppContext;
  deployer: Deployer;
  reconciler: Reconciler;
  lockTtlMs?: number;
  concurrency?: number;
}

export class Controller {
  private readonly elector: LeaderElector;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: ControllerOptions) {
    const { ctx, reconciler } = options;
    this.elector = new LeaderElector({
      lock: ctx.services.lock,
      name: "controller",
      ownerId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      ttlMs: options.lockTtlMs ?? 15_000,
      logger: ctx.logger,
      onElected: () => {
        ctx.logger.info("this controller is the leader");
        reconciler.start();
      },
      onDemoted: async () => {
        ctx.logger.info("this controller is no longer the leader");
        // stop(), not close(): the loop starts again if this controller is elected again.
        await reconciler.stop();
      },
    });
  }

  start(): void {
    const { ctx, deployer, reconciler } = this.options;
    ctx.services.queue.process(
      async (job) => {
        if (job.name === DEPLOY_JOB && typeof job.data.deploymentId === "string") {
          await deployer.converge(job.data.deploymentId);
        } else if (job.name === NODE_CHANGED_JOB) {
          await reconciler.reconcileOnce();
        }
      },
      { concurrency: this.options.concurrency ?? 2 },
    );
    this.elector.start();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.elector.close();
      await this.options.reconciler.close();
    })();
    return this.closing;
  }
}
