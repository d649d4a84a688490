/**
 * What a backup agent answers (deploy/images/postgres/obiente-postgres, "the backup agent"), read
 * into the platform's terms. GET /backups gives {member, leader, stanza}, the stanza being one
 * entry of pgBackRest's `info --output=json`; POST /backups gives {member, backup}, the backup
 * one entry of that stanza's `backup` array; a refusal gives {error, member}. Pure.
 */
import { z } from "zod";

export const BACKUP_TYPES = ["full", "diff", "incr"] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

export interface Backup {
  /** pgBackRest's label: 20261207-100000F (F full, D diff, I incr, after the prior's label). */
  label: string;
  type: BackupType;
  startedAt: Date;
  stoppedAt: Date;
  /** The database cluster's size when it was backed up (pgBackRest's info.size). */
  databaseBytes: number;
  /** What this backup added to the repository, compressed (info.repository.delta). */
  backupBytes: number;
  /** The first and last WAL segments a restore from it needs; empty when pgBackRest has none. */
  walStart: string;
  walStop: string;
  /** The backup a diff or incr builds on; empty for a full one. */
  prior: string;
}

export interface Stanza {
  name: string;
  /** pgBackRest's word for the stanza's health: "ok", "no valid backups", … */
  status: string;
  /** Oldest first, as pgBackRest lists them. */
  backups: Backup[];
}

/** What GET /backups said: the member's name, whether it leads, the repository's backups. */
export interface AgentListing {
  member: string;
  leader: boolean;
  stanza: Stanza;
}

// Only the fields the platform shows; pgBackRest's others (backrest, database, lsn, link, …)
// are left out, and pgBackRest adds fields without notice.
const backupSchema = z.object({
  label: z.string().min(1),
  type: z.enum(BACKUP_TYPES),
  timestamp: z.object({ start: z.number(), stop: z.number() }),
  info: z.object({ size: z.number(), repository: z.object({ delta: z.number() }) }),
  archive: z.object({ start: z.string().nullish(), stop: z.string().nullish() }).nullish(),
  prior: z.string().nullish(),
});

// pgBackRest's stanza status codes (its `info` command's documentation), for an answer that
// carries the code without its message: the agent's own when pgBackRest lists no stanza.
const STATUS: Record<number, string> = {
  0: "ok",
  1: "missing stanza path",
  2: "no valid backups",
  3: "missing stanza data",
  4: "different across repos",
  5: "database mismatch across repos",
  6: "requested backup not found",
  99: "other",
};

const stanzaSchema = z.object({
  name: z.string(),
  status: z.object({ code: z.number(), message: z.string().optional() }),
  backup: z.array(backupSchema).default([]),
});

const listingSchema = z.object({
  member: z.string().min(1),
  leader: z.boolean(),
  stanza: stanzaSchema,
});
const takenSchema = z.object({ member: z.string().min(1), backup: backupSchema.nullable() });
const refusalSchema = z.object({ error: z.string(), member: z.string().optional() });

function backupOf(raw: z.infer<typeof backupSchema>): Backup {
  return {
    label: raw.label,
    type: raw.type,
    startedAt: new Date(raw.timestamp.start * 1000),
    stoppedAt: new Date(raw.timestamp.stop * 1000),
    databaseBytes: raw.info.size,
    backupBytes: raw.info.repository.delta,
    walStart: raw.archive?.start ?? "",
    walStop: raw.archive?.stop ?? "",
    prior: raw.prior ?? "",
  };
}

/** Where an answer does not have the shape expected, and which field, for the member's status. */
function shapeProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "the answer";
  return `another shape than expected (${where}: ${issue?.message ?? "invalid"})`;
}

export type Read<T> = { ok: true; value: T } | { ok: false; problem: string };

/** GET /backups's body. */
export function readListing(body: unknown): Read<AgentListing> {
  const parsed = listingSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problem: shapeProblem(parsed.error) };
  const { member, leader, stanza } = parsed.data;
  return {
    ok: true,
    value: {
      member,
      leader,
      stanza: {
        name: stanza.name,
        status: stanza.status.message ?? STATUS[stanza.status.code] ?? `code ${stanza.status.code}`,
        backups: stanza.backup.map(backupOf),
      },
    },
  };
}

/** POST /backups's body on success: the member, and the new backup (null: none new listed). */
export function readTaken(body: unknown): Read<{ member: string; backup: Backup | undefined }> {
  const parsed = takenSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problem: shapeProblem(parsed.error) };
  const { member, backup } = parsed.data;
  return { ok: true, value: { member, backup: backup ? backupOf(backup) : undefined } };
}

/** The agent's words when it refused or failed ({error, member}), if it said any. */
export function readRefusal(body: unknown): { error: string; member?: string } | undefined {
  const parsed = refusalSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}
