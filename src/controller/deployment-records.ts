/**
 * What the deployer reads and writes of a deployment's records, as one narrow interface, and its
 * PostgreSQL (drizzle) implementation: the deployment row and its status (with the organization's
 * cache and the status channel kept in step), its current build and verified domains, the
 * deployment_locations of its replicas and its routing rows.
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull, ne, notInArray } from "drizzle-orm";
import type { Logger } from "pino";
import { invalidateOrganization } from "../core/index.js";
import type { SecretBox } from "../crypto/index.js";
import { deploymentEnv, type StatusEvent, statusChannel } from "../deployments/index.js";
import type { Bus, Cache } from "../platform/index.js";
import {
  builds,
  type Db,
  type DeploymentStatusName,
  deploymentLocations,
  deploymentRouting,
  deployments,
  domains,
} from "../store/index.js";
import type { RecordedState, StatusChange } from "./plan-deployment.js";

export type DeploymentRow = typeof deployments.$inferSelect;
export type BuildRow = typeof builds.$inferSelect;

/** A replica the deployer started, as deployment_locations records it. */
export interface RecordedReplica {
  replica: number;
  containerId: string;
  nodeId: string;
  address: string;
  port: number;
}

export interface LoadedDeployment {
  row: DeploymentRow;
  /** The current build's row, when there is one. */
  build: BuildRow | undefined;
  /** The verified domains (only those are routed). */
  domains: string[];
  recorded: RecordedState;
}

export interface DeploymentRecords {
  /** The deployment with its current build, domains and records; undefined when it has no row. */
  load(deploymentId: string): Promise<LoadedDeployment | undefined>;
  /** Whether the deployment still has a row. */
  exists(deploymentId: string): Promise<boolean>;
  /** The environment its containers run with (decrypted). */
  env(deploymentId: string): Promise<Record<string, string>>;
  /** Sets the status, tells watchers and returns the row as it now is. */
  setStatus(row: DeploymentRow, change: StatusChange | BuildStatus): Promise<DeploymentRow>;
  /**
   * Sets the status only while the deployment still waits for a build (no current build, desired
   * running): undefined otherwise (a cancel came first).
   */
  setStatusWhileWantingBuild(
    row: DeploymentRow,
    change: BuildStatus,
  ): Promise<DeploymentRow | undefined>;
  /**
   * The image of build `lostBuildId` is on no reachable engine: the deployment builds `commit`
   * again (no current build, `commit` wanted, `change`'s status), and the build's image is
   * forgotten (image_id "") so that no rollback chooses it. In one transaction, and only while
   * that build is still the current one of a deployment that should run: undefined when
   * something changed that first (a redeploy, a rollback, a stop).
   */
  buildAgain(
    row: DeploymentRow,
    lostBuildId: string,
    commit: string,
    change: { status: "queued"; message: string },
  ): Promise<DeploymentRow | undefined>;
  /** Records where the replicas run and routes every domain to `port`, in one transaction. */
  record(
    deploymentId: string,
    buildId: string,
    domainNames: readonly string[],
    port: number,
    replicas: readonly RecordedReplica[],
  ): Promise<void>;
  /** Drops the locations of the deployment, but those of the containers kept. */
  unrecord(deploymentId: string, keepContainerIds: readonly string[]): Promise<void>;
  /** Drops the deployment's routing rows. */
  unroute(deploymentId: string): Promise<void>;
  /** The images of the deployment's builds. */
  imagesOf(deploymentId: string): Promise<string[]>;
  /** Drops the deployment's row. */
  forget(row: DeploymentRow): Promise<void>;
  /** Tells watchers (and the organization's cache) that the deployment is deleted. */
  announceDeleted(row: DeploymentRow): Promise<void>;
  /** Gives every routing row the TLS of the current configuration; how many changed. */
  alignRouteTls(): Promise<number>;
}

/** The statuses of a deployment while it is built. */
export interface BuildStatus {
  status: Extract<DeploymentStatusName, "building" | "failed">;
  message: string;
}

/**
 * What the PostgreSQL records use: the database, the bus for status events, the API response
 * cache (dropped for the deployment's organization on each change), the secret box for the
 * environment, a logger, the clock, and whether routes are served over TLS.
 */
export interface DeploymentRecordsDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly cache: Cache;
  readonly secrets: SecretBox;
  readonly logger: Logger;
  readonly now: () => Date;
  /** The `tls` of the routing rows: the edge's TLS, derived once from the configuration. */
  readonly routeTls: boolean;
}

export class DatabaseDeploymentRecords implements DeploymentRecords {
  constructor(private readonly deps: DeploymentRecordsDeps) {}

  async load(deploymentId: string): Promise<LoadedDeployment | undefined> {
    const { db } = this.deps;
    const [row] = await db.select().from(deployments).where(eq(deployments.id, deploymentId));
    if (!row) return undefined;
    const [build, domainRows, locations, routes] = await Promise.all([
      row.currentBuildId
        ? db.select().from(builds).where(eq(builds.id, row.currentBuildId))
        : Promise.resolve([]),
      db
        .select({ domain: domains.domain })
        .from(domains)
        .where(and(eq(domains.deploymentId, deploymentId), eq(domains.status, "verified"))),
      db
        .select({ containerId: deploymentLocations.containerId, port: deploymentLocations.port })
        .from(deploymentLocations)
        .where(eq(deploymentLocations.deploymentId, deploymentId)),
      db
        .select({ domain: deploymentRouting.domain, targetPort: deploymentRouting.targetPort })
        .from(deploymentRouting)
        .where(eq(deploymentRouting.deploymentId, deploymentId)),
    ]);
    return {
      row,
      build: build[0],
      domains: domainRows.map((d) => d.domain),
      recorded: { locations, routes },
    };
  }

  async exists(deploymentId: string): Promise<boolean> {
    const [row] = await this.deps.db
      .select({ id: deployments.id })
      .from(deployments)
      .where(eq(deployments.id, deploymentId));
    return row !== undefined;
  }

  env(deploymentId: string): Promise<Record<string, string>> {
    return deploymentEnv(this.deps.db, this.deps.secrets, deploymentId);
  }

  async setStatus(row: DeploymentRow, change: StatusChange | BuildStatus): Promise<DeploymentRow> {
    const [updated] = await this.deps.db
      .update(deployments)
      .set({ status: change.status, statusMessage: change.message, updatedAt: this.deps.now() })
      .where(eq(deployments.id, row.id))
      .returning();
    return this.told(
      row,
      updated ?? { ...row, status: change.status, statusMessage: change.message },
    );
  }

  async setStatusWhileWantingBuild(
    row: DeploymentRow,
    change: BuildStatus,
  ): Promise<DeploymentRow | undefined> {
    const [updated] = await this.deps.db
      .update(deployments)
      .set({ status: change.status, statusMessage: change.message, updatedAt: this.deps.now() })
      .where(
        and(
          eq(deployments.id, row.id),
          isNull(deployments.currentBuildId),
          eq(deployments.desiredState, "running"),
        ),
      )
      .returning();
    return updated ? this.told(row, updated) : undefined;
  }

  async buildAgain(
    row: DeploymentRow,
    lostBuildId: string,
    commit: string,
    change: { status: "queued"; message: string },
  ): Promise<DeploymentRow | undefined> {
    const { deps } = this;
    const updated = await deps.db.transaction(async (tx) => {
      const [next] = await tx
        .update(deployments)
        .set({
          currentBuildId: null,
          wantedCommit: commit,
          buildTrigger: "api",
          status: change.status,
          statusMessage: change.message,
          updatedAt: deps.now(),
        })
        .where(
          and(
            eq(deployments.id, row.id),
            eq(deployments.currentBuildId, lostBuildId),
            eq(deployments.desiredState, "running"),
          ),
        )
        .returning();
      if (next) {
        await tx
          .update(builds)
          .set({ imageId: "" })
          .where(and(eq(builds.id, lostBuildId), eq(builds.deploymentId, row.id)));
      }
      return next;
    });
    return updated ? this.told(row, updated) : undefined;
  }

  /** The cache of the organization forgets, watchers hear of the change, the log says it. */
  private async told(row: DeploymentRow, next: DeploymentRow): Promise<DeploymentRow> {
    await invalidateOrganization(this.deps.cache, row.organizationId);
    await this.publish(next);
    this.deps.logger.info(
      { deploymentId: row.id, status: next.status, message: next.statusMessage },
      "deployment status",
    );
    return next;
  }

  async record(
    deploymentId: string,
    buildId: string,
    domainNames: readonly string[],
    port: number,
    replicas: readonly RecordedReplica[],
  ): Promise<void> {
    const { deps } = this;
    const tls = deps.routeTls;
    await deps.db.transaction(async (tx) => {
      for (const r of replicas) {
        await tx
          .delete(deploymentLocations)
          .where(
            and(
              eq(deploymentLocations.deploymentId, deploymentId),
              eq(deploymentLocations.containerId, r.containerId),
            ),
          );
        await tx.insert(deploymentLocations).values({
          id: randomUUID(),
          deploymentId,
          replica: r.replica,
          nodeId: r.nodeId,
          containerId: r.containerId,
          buildId,
          status: "running",
          address: r.address,
          port: r.port,
          domain: domainNames[0] ?? "",
          healthStatus: "healthy",
          updatedAt: deps.now(),
        });
      }
      // One routing row per domain, at path "/". With no domain, the rows stay as they are.
      if (domainNames.length > 0) {
        await tx
          .delete(deploymentRouting)
          .where(
            and(
              eq(deploymentRouting.deploymentId, deploymentId),
              notInArray(deploymentRouting.domain, [...domainNames]),
            ),
          );
      }
      for (const domain of domainNames) {
        await tx
          .insert(deploymentRouting)
          .values({
            domain,
            pathPrefix: "/",
            deploymentId,
            targetPort: port,
            tls,
            updatedAt: deps.now(),
          })
          .onConflictDoUpdate({
            target: [deploymentRouting.domain, deploymentRouting.pathPrefix],
            set: { deploymentId, targetPort: port, tls, updatedAt: deps.now() },
          });
      }
    });
  }

  async unrecord(deploymentId: string, keepContainerIds: readonly string[]): Promise<void> {
    await this.deps.db
      .delete(deploymentLocations)
      .where(
        keepContainerIds.length > 0
          ? and(
              eq(deploymentLocations.deploymentId, deploymentId),
              notInArray(deploymentLocations.containerId, [...keepContainerIds]),
            )
          : eq(deploymentLocations.deploymentId, deploymentId),
      );
  }

  async unroute(deploymentId: string): Promise<void> {
    await this.deps.db
      .delete(deploymentRouting)
      .where(eq(deploymentRouting.deploymentId, deploymentId));
  }

  async imagesOf(deploymentId: string): Promise<string[]> {
    const rows = await this.deps.db
      .select({ imageId: builds.imageId })
      .from(builds)
      .where(eq(builds.deploymentId, deploymentId));
    return rows.flatMap((r) => (r.imageId ? [r.imageId] : []));
  }

  async forget(row: DeploymentRow): Promise<void> {
    await this.deps.db.delete(deployments).where(eq(deployments.id, row.id));
  }

  async announceDeleted(row: DeploymentRow): Promise<void> {
    const { deps } = this;
    await invalidateOrganization(deps.cache, row.organizationId);
    await this.publish({
      ...row,
      status: "deleting",
      statusMessage: "deleted",
      updatedAt: deps.now(),
    });
  }

  /**
   * Rows are written when a deployment is routed, so a change of EDGE or ACME_CA would otherwise
   * reach each route only at its next deploy.
   */
  async alignRouteTls(): Promise<number> {
    const { deps } = this;
    const tls = deps.routeTls;
    const changed = await deps.db
      .update(deploymentRouting)
      .set({ tls, updatedAt: deps.now() })
      .where(ne(deploymentRouting.tls, tls))
      .returning({ domain: deploymentRouting.domain });
    if (changed.length > 0) {
      deps.logger.info({ routes: changed.length, tls }, "routes follow the edge's TLS setting");
    }
    return changed.length;
  }

  private async publish(row: DeploymentRow) {
    const event: StatusEvent = {
      deploymentId: row.id,
      organizationId: row.organizationId,
      status: row.status,
      message: row.statusMessage,
      at: row.updatedAt.toISOString(),
    };
    await this.deps.bus.publish(statusChannel(row.id), event);
  }
}
