/**
 * The daily re-check of verified custom domains, run by the leading controller. A domain whose
 * record is found stays verified. One whose record is missing keeps being routed for a grace
 * period (a DNS change in progress, a mistake put right), with a status message saying when it
 * will stop; past it, the domain becomes `unverified`, its route goes, and the audit log and
 * the controller's log say so. A lookup that fails (the resolver down, a timeout) proves
 * nothing either way: it is retried at the next pass and never counts toward the grace period.
 */
import { and, eq, isNull, lte, or } from "drizzle-orm";
import type { Logger } from "pino";
import { recordAudit } from "../audit/index.js";
import { Periodic } from "../platform/index.js";
import { type Db, deploymentRouting, domains, organizations } from "../store/index.js";
import { challengeRecordName, judge, type TxtLookup } from "./verification.js";

export interface DomainRecheckOptions {
  db: Db;
  lookup: TxtLookup;
  logger: Logger;
  /** A verified domain is looked up again this long after its last check (DOMAIN_RECHECK_HOURS). */
  recheckAfterMs: number;
  /** How long a missing record is tolerated before the domain stops being routed. */
  graceMs: number;
  /** How often the loop looks for domains due (default: an hour, or recheckAfterMs if shorter). */
  intervalMs?: number;
  /** Told the deployments whose domains stopped being routed, to update the edges. */
  onUnrouted: (deploymentIds: string[]) => Promise<void>;
  now?: () => Date;
  /** Domains looked up per pass at most (default 1000); the rest wait for the next pass. */
  batch?: number;
}

export interface RecheckReport {
  checked: number;
  confirmed: number;
  /** Missing, within the grace period. */
  failing: number;
  unverified: string[];
  /** Lookups that failed, to try again. */
  errors: number;
}

const HOUR_MS = 3_600_000;

export class DomainRecheck {
  private readonly loop: Periodic;
  private readonly now: () => Date;

  constructor(private readonly options: DomainRecheckOptions) {
    this.now = options.now ?? (() => new Date());
    this.loop = new Periodic({
      name: "domain re-check pass",
      intervalMs: options.intervalMs ?? Math.min(HOUR_MS, options.recheckAfterMs),
      run: () => this.recheckOnce(),
      logger: options.logger,
    });
  }

  /** Starts the loop (on election); a pass runs at once, then every interval. */
  start(): void {
    this.loop.start();
  }

  /** Stops the loop (on demotion) and waits for the pass in progress; start() may follow. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  close(): Promise<void> {
    return this.loop.close();
  }

  /** One pass over the verified custom domains that are due. */
  async recheckOnce(): Promise<RecheckReport> {
    const { db, lookup, logger, recheckAfterMs, graceMs } = this.options;
    const now = this.now();
    const due = new Date(now.getTime() - recheckAfterMs);
    const rows = await db
      .select({ domain: domains, token: organizations.domainToken })
      .from(domains)
      .innerJoin(organizations, eq(organizations.id, domains.organizationId))
      .where(
        and(
          eq(domains.isDefault, false),
          eq(domains.status, "verified"),
          or(isNull(domains.checkedAt), lte(domains.checkedAt, due)),
        ),
      )
      .orderBy(domains.checkedAt)
      .limit(this.options.batch ?? 1000);
    const report: RecheckReport = {
      checked: 0,
      confirmed: 0,
      failing: 0,
      unverified: [],
      errors: 0,
    };
    const unrouted = new Set<string>();
    for (const { domain: row, token } of rows) {
      report.checked++;
      const key = and(
        eq(domains.domain, row.domain),
        eq(domains.organizationId, row.organizationId),
      );
      // An organization that verified before tokens existed has none: nothing can prove it.
      const verdict = token
        ? judge(await lookup.lookup(challengeRecordName(row.domain)), row.domain, token)
        : ({
            ok: false,
            definite: true,
            message: "the organization has no verification token",
          } as const);
      if (verdict.ok) {
        report.confirmed++;
        await db
          .update(domains)
          .set({
            checkedAt: now,
            failingSince: null,
            verifiedAt: row.verifiedAt ?? now,
            statusMessage: `ownership confirmed by its TXT record on ${now.toISOString()}`,
          })
          .where(key);
        continue;
      }
      if (!verdict.definite) {
        report.errors++;
        await db
          .update(domains)
          .set({
            statusMessage: `could not be checked on ${now.toISOString()}: ${verdict.message}; trying again later`,
          })
          .where(key);
        continue;
      }
      const since = row.failingSince ?? now;
      const until = new Date(since.getTime() + graceMs);
      if (now.getTime() < until.getTime()) {
        report.failing++;
        await db
          .update(domains)
          .set({
            checkedAt: now,
            failingSince: since,
            statusMessage: `${verdict.message} (checked ${now.toISOString()}): put the record back, or the domain stops being routed on ${until.toISOString()}`,
          })
          .where(key);
        logger.warn(
          { domain: row.domain, organizationId: row.organizationId, until: until.toISOString() },
          "a verified domain's TXT record is missing: grace period running",
        );
        continue;
      }
      const message = `no longer routed since ${now.toISOString()}: ${verdict.message} since ${since.toISOString()}; add the record and verify the domain again`;
      await db.transaction(async (tx) => {
        await tx
          .update(domains)
          .set({
            status: "unverified",
            checkedAt: now,
            failingSince: since,
            statusMessage: message,
          })
          .where(key);
        await tx
          .delete(deploymentRouting)
          .where(
            and(
              eq(deploymentRouting.domain, row.domain),
              eq(deploymentRouting.deploymentId, row.deploymentId),
            ),
          );
        await recordAudit(tx, {
          principal: undefined,
          organizationId: row.organizationId,
          action: "domain.unverified",
          resourceType: "deployment",
          resourceId: row.deploymentId,
          details: {
            domain: row.domain,
            reason: verdict.message,
            failingSince: since.toISOString(),
          },
        });
      });
      logger.warn(
        { domain: row.domain, organizationId: row.organizationId, deploymentId: row.deploymentId },
        `domain unverified: ${message}`,
      );
      report.unverified.push(row.domain);
      unrouted.add(row.deploymentId);
    }
    if (unrouted.size > 0) await this.options.onUnrouted([...unrouted]);
    return report;
  }
}
