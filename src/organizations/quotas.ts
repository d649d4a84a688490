/**
 * Quotas per organization: the platform's defaults (QUOTA_* variables), or limits a platform
 * administrator set for one organization (organization_quotas, a NULL column following the
 * default).
 *
 * Every check runs inside the transaction of the write it guards, after locking the
 * organization's row (SELECT … FOR UPDATE): two requests that would each take the last slot are
 * serialized there, and the second sees the first's row. A change is refused only when it
 * raises a use that would then be over its limit; lowering a use is always allowed, even over
 * a limit lowered meanwhile.
 */
import { randomUUID } from "node:crypto";
import { and, count, eq, lt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { authorize, requirePlatformAdmin } from "../access/index.js";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import {
  invalidArgument,
  notFound,
  resourceExhausted,
  validation as valid,
} from "../domain/index.js";
import {
  type Db,
  domains,
  executeRows,
  organizationQuotas,
  organizations,
  streamLeases,
  type Tx,
} from "../store/index.js";

export const QUOTA_NAMES = [
  "deployments",
  "replicas",
  "cpu_millicores",
  "memory_mb",
  "domains",
  "concurrent_builds",
  "concurrent_streams",
  "log_tail_lines",
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];
export type Limits = Record<QuotaName, number>;

/** What an organization uses now, per quota (log_tail_lines bounds each request: always 0). */
export type Usage = Record<QuotaName, number>;

export interface QuotaView {
  name: QuotaName;
  limit: number;
  used: number;
  overridden: boolean;
  description: string;
}

const DESCRIPTIONS: Record<QuotaName, string> = {
  deployments: "deployments (not counting those being deleted)",
  replicas: "replicas of the deployments that should run",
  cpu_millicores:
    "CPU requested by the deployments that should run: replicas × each one's limit (or the platform's default), in millicores",
  memory_mb:
    "memory requested by the deployments that should run: replicas × each one's limit (or the platform's default), in MB",
  domains: "custom domains, pending or verified",
  concurrent_builds: "builds queued or running at once",
  concurrent_streams: "log and metrics streams open at once",
  log_tail_lines: "lines one log request may ask for",
};

const COLUMNS = {
  deployments: "deployments",
  replicas: "replicas",
  cpu_millicores: "cpuMillicores",
  memory_mb: "memoryMb",
  domains: "domains",
  concurrent_builds: "concurrentBuilds",
  concurrent_streams: "concurrentStreams",
  log_tail_lines: "logTailLines",
} as const satisfies Record<QuotaName, keyof typeof organizationQuotas.$inferSelect>;

/** The largest limit a column holds (integer). */
const MAX_LIMIT = 2_147_483_647;

/** A stream's lease lasts this long unless renewed; renewed every third of it. */
export const STREAM_LEASE_TTL_MS = 60_000;

/** How much a change adds to each use; absent or ≤ 0: nothing to check for that quota. */
export type QuotaDelta = Partial<Record<Exclude<QuotaName, "log_tail_lines">, number>>;

/** What a deployment counts for, while it should run. */
export interface Footprint {
  replicas: number;
  cpuMillicores: number;
  memoryMb: number;
}

/** An open stream's place in the concurrent_streams quota; close() gives it back. */
export interface StreamLease {
  close(): Promise<void>;
}

/** What QuotaService uses: the database, the clock, a logger, and the platform's defaults. */
export interface QuotaServiceDeps {
  readonly db: Db;
  readonly now: () => Date;
  readonly logger: Logger;
  /** The platform's limits (QUOTA_*), for organizations that have none of their own. */
  readonly defaults: Readonly<Limits>;
  /**
   * What a replica counts for when its deployment sets no limit (DEFAULT_CPU_MILLICORES,
   * DEFAULT_MEMORY_MB).
   */
  readonly resourceDefaults: { readonly cpuMillicores: number; readonly memoryMb: number };
}

export class QuotaService {
  constructor(private readonly deps: QuotaServiceDeps) {}

  /** The platform's defaults, from the configuration. */
  defaults(): Limits {
    return { ...this.deps.defaults };
  }

  /** A deployment's footprint: its replicas, and their limits or the platform's defaults. */
  footprint(d: { replicas: number; cpuMillicores: number; memoryMb: number }): Footprint {
    const { cpuMillicores, memoryMb } = this.deps.resourceDefaults;
    return {
      replicas: d.replicas,
      cpuMillicores: d.replicas * (d.cpuMillicores || cpuMillicores),
      memoryMb: d.replicas * (d.memoryMb || memoryMb),
    };
  }

  /** The limits of one organization, and which of them were set for it. */
  async limits(db: Tx | Db, organizationId: string) {
    const defaults = this.defaults();
    const [row] = await db
      .select()
      .from(organizationQuotas)
      .where(eq(organizationQuotas.organizationId, organizationId));
    const limits = { ...defaults };
    const overridden = new Set<QuotaName>();
    for (const name of QUOTA_NAMES) {
      const value = row?.[COLUMNS[name]];
      if (typeof value === "number") {
        limits[name] = value;
        overridden.add(name);
      }
    }
    return { limits, overridden };
  }

  /** What the organization uses now. */
  async usage(db: Tx | Db, organizationId: string): Promise<Usage> {
    const { cpuMillicores, memoryMb } = this.deps.resourceDefaults;
    const [d] = await executeRows<{
      deployments: number | string;
      replicas: number | string | null;
      cpu: number | string | null;
      memory: number | string | null;
      builds: number | string;
    }>(
      db,
      sql`SELECT
            count(*) AS deployments,
            sum(replicas) FILTER (WHERE desired_state = 'running') AS replicas,
            sum(replicas * CASE WHEN cpu_millicores > 0 THEN cpu_millicores ELSE ${cpuMillicores} END)
              FILTER (WHERE desired_state = 'running') AS cpu,
            sum(replicas * CASE WHEN memory_mb > 0 THEN memory_mb ELSE ${memoryMb} END)
              FILTER (WHERE desired_state = 'running') AS memory,
            count(*) FILTER (
              WHERE desired_state = 'running' AND current_build_id IS NULL
                AND status IN ('queued', 'building')
            ) AS builds
          FROM deployments
          WHERE organization_id = ${organizationId} AND desired_state <> 'deleted'`,
    );
    const [custom] = await db
      .select({ n: count() })
      .from(domains)
      .where(and(eq(domains.organizationId, organizationId), eq(domains.isDefault, false)));
    const [streams] = await db
      .select({ n: count() })
      .from(streamLeases)
      .where(
        and(
          eq(streamLeases.organizationId, organizationId),
          sql`${streamLeases.expiresAt} > ${this.deps.now().toISOString()}`,
        ),
      );
    return {
      deployments: Number(d?.deployments ?? 0),
      replicas: Number(d?.replicas ?? 0),
      cpu_millicores: Number(d?.cpu ?? 0),
      memory_mb: Number(d?.memory ?? 0),
      domains: custom?.n ?? 0,
      concurrent_builds: Number(d?.builds ?? 0),
      concurrent_streams: streams?.n ?? 0,
      log_tail_lines: 0,
    };
  }

  /**
   * Inside the caller's transaction: locks the organization, then refuses (ResourceExhausted)
   * a change that would take a use over its limit. Call it before the change's own writes.
   */
  async enforce(
    tx: Tx,
    organizationId: string,
    change: QuotaDelta | (() => Promise<QuotaDelta>),
  ): Promise<void> {
    const slug = await this.lock(tx, organizationId);
    // A function reads what the change adds once the lock is held, so that it sees every
    // change made before it under the same lock.
    const delta = typeof change === "function" ? await change() : change;
    const raising = (Object.entries(delta) as Array<[QuotaName, number]>).filter(([, n]) => n > 0);
    if (raising.length === 0) return;
    const [{ limits }, used] = await Promise.all([
      this.limits(tx, organizationId),
      this.usage(tx, organizationId),
    ]);
    for (const [name, more] of raising) {
      if (used[name] + more > limits[name]) {
        throw resourceExhausted(overQuota(slug, name, limits[name], used[name], more));
      }
    }
  }

  /** The largest log tail one request of the organization may ask for. */
  async logTailLimit(organizationId: string): Promise<number> {
    return (await this.limits(this.deps.db, organizationId)).limits.log_tail_lines;
  }

  /** Refuses a log tail over the organization's limit; returns the tail to use (100 when 0). */
  async logTail(organizationId: string, requested: number): Promise<number> {
    const limit = await this.logTailLimit(organizationId);
    if (requested === 0) return Math.min(100, limit);
    if (requested > limit) {
      const [org] = await this.deps.db
        .select({ slug: organizations.slug })
        .from(organizations)
        .where(eq(organizations.id, organizationId));
      throw resourceExhausted(
        `a log tail of ${requested} lines is over the limit of organization ${org?.slug ?? organizationId}: at most ${limit} lines per request (quota log_tail_lines); ask for fewer lines`,
      );
    }
    return requested;
  }

  /**
   * Takes a place among the organization's open streams (concurrent_streams), renewed while the
   * stream lasts; close() gives it back. A lease whose process died expires on its own.
   */
  async openStream(organizationId: string, kind: string): Promise<StreamLease> {
    const id = randomUUID();
    const expiry = () => new Date(this.deps.now().getTime() + STREAM_LEASE_TTL_MS);
    await this.deps.db.transaction(async (tx) => {
      await this.lock(tx, organizationId);
      await tx
        .delete(streamLeases)
        .where(
          and(
            eq(streamLeases.organizationId, organizationId),
            lt(streamLeases.expiresAt, this.deps.now()),
          ),
        );
      await this.enforce(tx, organizationId, { concurrent_streams: 1 });
      await tx.insert(streamLeases).values({ id, organizationId, kind, expiresAt: expiry() });
    });
    const renew = setInterval(() => {
      this.deps.db
        .update(streamLeases)
        .set({ expiresAt: expiry() })
        .where(eq(streamLeases.id, id))
        .catch((error: unknown) =>
          this.deps.logger.warn(
            { err: error, organizationId, kind },
            "renewing a stream lease failed",
          ),
        );
    }, STREAM_LEASE_TTL_MS / 3);
    renew.unref();
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= (async () => {
          clearInterval(renew);
          await this.deps.db.delete(streamLeases).where(eq(streamLeases.id, id));
        })();
        return closing;
      },
    };
  }

  /** GetQuotas: members see their organization's; platform administrators any organization's. */
  async get(principal: Principal, organization: string) {
    const org = await this.resolve(organization);
    if (!principal.platformAdmin) {
      if (!org) throw notFound("organization");
      await authorize(this.deps.db, principal, org.id, "read");
    }
    if (!org) throw notFound("organization");
    return this.view(org);
  }

  /** SetQuotas: platform administrators only. */
  async set(
    principal: Principal,
    input: { organization: string; limits: Record<string, number | bigint>; reset: string[] },
  ) {
    requirePlatformAdmin(principal);
    const org = await this.resolve(input.organization);
    if (!org) throw notFound("organization");
    const changes: Partial<Record<(typeof COLUMNS)[QuotaName], number | null>> = {};
    for (const [name, value] of Object.entries(input.limits)) {
      const quota = quotaName(name);
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > MAX_LIMIT) {
        throw invalidArgument(`quota ${quota} must be a whole number from 0 to ${MAX_LIMIT}`);
      }
      changes[COLUMNS[quota]] = n;
    }
    for (const name of input.reset) {
      const quota = quotaName(name);
      if (quota in input.limits) {
        throw invalidArgument(`quota ${quota} is both set and reset: choose one`);
      }
      changes[COLUMNS[quota]] = null;
    }
    if (Object.keys(changes).length === 0) {
      throw invalidArgument(`give limits to set or quotas to reset (${QUOTA_NAMES.join(", ")})`);
    }
    await this.deps.db.transaction(async (tx) => {
      await tx
        .insert(organizationQuotas)
        .values({ organizationId: org.id, ...changes, updatedAt: this.deps.now() })
        .onConflictDoUpdate({
          target: organizationQuotas.organizationId,
          set: { ...changes, updatedAt: this.deps.now() },
        });
      await recordAudit(tx, {
        principal,
        organizationId: org.id,
        action: "quotas.set",
        resourceType: "organization",
        resourceId: org.id,
        details: {
          limits: Object.fromEntries(Object.entries(input.limits).map(([k, v]) => [k, Number(v)])),
          reset: input.reset,
        },
      });
    });
    return this.view(org);
  }

  private async view(org: { id: string; slug: string }) {
    const [{ limits, overridden }, used] = await Promise.all([
      this.limits(this.deps.db, org.id),
      this.usage(this.deps.db, org.id),
    ]);
    const quotas: QuotaView[] = QUOTA_NAMES.map((name) => ({
      name,
      limit: limits[name],
      used: used[name],
      overridden: overridden.has(name),
      description: DESCRIPTIONS[name],
    }));
    return { organizationId: org.id, organizationSlug: org.slug, quotas };
  }

  /** An organization by id or slug. */
  private async resolve(ref: string): Promise<{ id: string; slug: string } | undefined> {
    const text = ref.trim();
    if (text === "") throw invalidArgument("organization must not be empty: give its id or slug");
    const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
    const [row] = await this.deps.db
      .select({ id: organizations.id, slug: organizations.slug })
      .from(organizations)
      .where(
        isId
          ? eq(organizations.id, valid.uuid("organization", text))
          : eq(organizations.slug, text.toLowerCase()),
      );
    return row;
  }

  /** Locks the organization's row for the rest of the transaction; returns its slug. */
  private async lock(tx: Tx, organizationId: string): Promise<string> {
    const [row] = await tx
      .select({ slug: organizations.slug })
      .from(organizations)
      .where(eq(organizations.id, organizationId))
      .for("update");
    if (!row) throw notFound("organization");
    return row.slug;
  }
}

function quotaName(name: string): QuotaName {
  if ((QUOTA_NAMES as readonly string[]).includes(name)) return name as QuotaName;
  throw invalidArgument(`unknown quota "${name.slice(0, 40)}": one of ${QUOTA_NAMES.join(", ")}`);
}

/** The refusal, naming the quota, its limit and the current use. */
export function overQuota(
  slug: string,
  name: QuotaName,
  limit: number,
  used: number,
  more: number,
): string {
  const org = `organization ${slug}`;
  const raise = "or ask a platform administrator to raise the quota";
  switch (name) {
    case "deployments":
      return `${org} has ${used} of ${limit} deployments (quota deployments): delete one first, ${raise}`;
    case "replicas":
      return `${org} runs ${used} of ${limit} replicas, and this needs ${more} more (quota replicas): scale something down first, ${raise}`;
    case "cpu_millicores":
      return `${org} requests ${used}m of ${limit}m CPU, and this needs ${more}m more (quota cpu_millicores): ask for less, ${raise}`;
    case "memory_mb":
      return `${org} requests ${used} MB of ${limit} MB memory, and this needs ${more} MB more (quota memory_mb): ask for less, ${raise}`;
    case "domains":
      return `${org} has ${used} of ${limit} custom domains (quota domains): remove one first, ${raise}`;
    case "concurrent_builds":
      return `${org} has ${used} of ${limit} builds queued or running (quota concurrent_builds): wait until one finishes, ${raise}`;
    case "concurrent_streams":
      return `${org} has ${used} of ${limit} log and metrics streams open (quota concurrent_streams): close one first, ${raise}`;
    case "log_tail_lines":
      return `${org} may read at most ${limit} log lines per request (quota log_tail_lines)`;
  }
}

/** What a change of footprint adds (the new footprint, less the old one while it ran). */
export function footprintDelta(
  before: Footprint | undefined,
  after: Footprint | undefined,
): QuotaDelta {
  return {
    replicas: (after?.replicas ?? 0) - (before?.replicas ?? 0),
    cpu_millicores: (after?.cpuMillicores ?? 0) - (before?.cpuMillicores ?? 0),
    memory_mb: (after?.memoryMb ?? 0) - (before?.memoryMb ?? 0),
  };
}
