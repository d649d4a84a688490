/**
 * Backups of the platform's database, for platform administrators: the backups pgBackRest holds,
 * as the members' backup agents report them, and a backup taken on the leader now
 * (docs/ha.md, "Backups and restore"). The agents run in the PostgreSQL image
 * (deploy/images/postgres); this service only asks them.
 */
import { requirePlatformAdmin } from "../access/index.js";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import type { Config } from "../config/index.js";
import {
  aborted,
  DomainError,
  failedPrecondition,
  invalidArgument,
  unavailable,
} from "../domain/index.js";
import type { Db } from "../store/index.js";
import { BACKUP_TYPES, type Backup, type BackupType } from "./agent-answer.js";
import { BackupAgentClient, type MemberReport } from "./agent-client.js";
import { leaderOf, listingSource } from "./members.js";

export interface BackupAgents {
  /** The agents' origins (BACKUP_AGENT_URLS). */
  urls: readonly string[];
  token: string;
  /** How long an agent may take to say who it is and list the backups. */
  statusTimeoutMs: number;
  /** How long the leader's agent may take to take a backup (BACKUP_TIMEOUT_SECONDS). */
  backupTimeoutMs: number;
}

/** pgBackRest lists a local or NFS repository in well under a second; S3 takes longer. */
const STATUS_TIMEOUT_MS = 30_000;

/** The agents as the configuration names them; undefined when backups are not configured. */
export function backupAgentsFrom(
  config: Pick<Config, "BACKUP_AGENT_URLS" | "BACKUP_AGENT_TOKEN" | "BACKUP_TIMEOUT_SECONDS">,
): BackupAgents | undefined {
  const { BACKUP_AGENT_URLS: urls, BACKUP_AGENT_TOKEN: token } = config;
  if (!urls?.length || !token) return undefined;
  return {
    urls,
    token,
    statusTimeoutMs: STATUS_TIMEOUT_MS,
    backupTimeoutMs: config.BACKUP_TIMEOUT_SECONDS * 1000,
  };
}

/** What one member's agent answered, as the API shows it. */
export interface MemberStatus {
  member: string;
  url: string;
  leader: boolean;
  reachable: boolean;
  error: string;
}

export interface BackupListing {
  stanza: string;
  stanzaStatus: string;
  /** The member whose agent's listing this is. */
  listedBy: string;
  backups: Backup[];
  members: MemberStatus[];
}

const statusOf = (r: MemberReport): MemberStatus => ({
  member: r.member,
  url: r.url,
  leader: r.leader,
  reachable: r.listing !== undefined,
  error: r.error ?? "",
});

export class BackupService {
  private readonly clients: BackupAgentClient[];

  constructor(
    private readonly agents: BackupAgents | undefined,
    /** Where each backup asked for is recorded (audit_log), with its outcome. */
    private readonly db: Db,
  ) {
    this.clients = (agents?.urls ?? []).map(
      (url) => new BackupAgentClient(url, agents?.token ?? ""),
    );
  }

  async list(principal: Principal): Promise<BackupListing> {
    requirePlatformAdmin(principal);
    const agents = this.configured();
    const reports = await this.reports(agents);
    const source = listingSource(reports);
    if (!source.ok) throw unavailable(source.problem);
    const { listing } = source.value;
    return {
      stanza: listing.stanza.name,
      stanzaStatus: listing.stanza.status,
      listedBy: listing.member,
      backups: listing.stanza.backups,
      members: reports.map(statusOf),
    };
  }

  /**
   * Takes a backup (default full) on the member that leads, and answers once it is done.
   * `signal` stops waiting (the caller went away); the backup itself goes on on the member.
   */
  async take(
    principal: Principal,
    type: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ member: string; backup: Backup }> {
    requirePlatformAdmin(principal);
    const kind = type ?? "full";
    if (!(BACKUP_TYPES as readonly string[]).includes(kind)) {
      throw invalidArgument(
        `backup type "${kind.slice(0, 40)}" is unknown: expected ${BACKUP_TYPES.join(", ")}`,
      );
    }
    const agents = this.configured();
    let taken: { member: string; backup: Backup };
    try {
      taken = await this.takeOn(agents, kind as BackupType, signal);
    } catch (error) {
      const outcome = error instanceof DomainError ? error.kind : "internal";
      await this.audit(principal, kind, { outcome, reason: errorText(error) });
      throw error;
    }
    await this.audit(principal, kind, {
      outcome: "taken",
      member: taken.member,
      label: taken.backup.label,
    });
    return taken;
  }

  /** An administrator's backup, asked for and answered either way, in the audit log. */
  private async audit(principal: Principal, kind: string, details: Record<string, unknown>) {
    await this.db.transaction((tx) =>
      recordAudit(tx, {
        principal,
        action: "backup.take",
        resourceType: "backup",
        resourceId: kind,
        details: { type: kind, ...details },
      }),
    );
  }

  private async takeOn(
    agents: BackupAgents,
    kind: BackupType,
    signal: AbortSignal | undefined,
  ): Promise<{ member: string; backup: Backup }> {
    const reports = await this.reports(agents);
    const leader = leaderOf(reports);
    if (!leader.ok) throw unavailable(leader.problem);
    const client = this.clients.find((c) => c.url === leader.value.url);
    if (!client) throw new DomainError("internal", `no agent at ${leader.value.url}`);
    const outcome = await client.take(kind, agents.backupTimeoutMs, signal);
    switch (outcome.kind) {
      case "taken":
        if (!outcome.backup) {
          throw new DomainError(
            "internal",
            `${outcome.member} finished the backup, but pgBackRest lists no new backup: see \`obiente backup ls\``,
          );
        }
        return { member: outcome.member, backup: outcome.backup };
      case "refused":
        throw aborted(`${outcome.member} did not take the backup: ${outcome.reason}`);
      case "failed":
        throw new DomainError(
          "internal",
          `the backup on ${outcome.member} failed: ${outcome.reason}`,
        );
      case "unanswered":
        if (outcome.timedOut) {
          throw new DomainError(
            "deadline_exceeded",
            `${outcome.member} did not finish the backup within ${Math.round(agents.backupTimeoutMs / 1000)} s (BACKUP_TIMEOUT_SECONDS); it may still be running there: see \`obiente backup ls\``,
          );
        }
        throw unavailable(
          `the backup on ${outcome.member} has no outcome: ${outcome.reason}; it may still be running there: see \`obiente backup ls\``,
        );
    }
  }

  private configured(): BackupAgents {
    if (!this.agents) {
      throw failedPrecondition(
        "backups are not configured: set BACKUP_AGENT_URLS and BACKUP_AGENT_TOKEN",
      );
    }
    return this.agents;
  }

  /** Every member's agent, asked at once. */
  private reports(agents: BackupAgents): Promise<MemberReport[]> {
    return Promise.all(this.clients.map((client) => client.report(agents.statusTimeoutMs)));
  }
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}
