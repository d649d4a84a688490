/**
 * `obiente backup ls|now`: the platform database's backups, for platform administrators, through
 * the API's BackupService, which asks the PostgreSQL members' backup agents (docs/ha.md,
 * "Backups and restore").
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { type Command, Option } from "commander";
import {
  type Backup,
  type BackupMember,
  BackupService,
  BackupType,
  type ListBackupsResponse,
  type TakeBackupResponse,
} from "../gen/obiente/cloud/backup/v1/backup_pb.js";
import { transportFor } from "./client.js";
import { loadCredentials } from "./credentials.js";
import { backupJson, backupListingJson } from "./json-shapes.js";
import { bytes } from "./metrics-commands.js";
import { note, out, printJson, table } from "./output.js";

const TYPES = { full: BackupType.FULL, diff: BackupType.DIFF, incr: BackupType.INCR } as const;

export const backupTypeName = (type: BackupType) => BackupType[type]?.toLowerCase() ?? "unknown";

/** "2026-12-07 10:00:00Z", or "-". */
function when(backup: Backup, field: "startedAt" | "stoppedAt"): string {
  const t = backup[field];
  return t ? `${timestampDate(t).toISOString().slice(0, 19).replace("T", " ")}Z` : "-";
}

/** The WAL a restore from the backup needs: one segment, or the first and the last. */
function wal(backup: Backup): string {
  if (!backup.walStart) return "-";
  return backup.walStop && backup.walStop !== backup.walStart
    ? `${backup.walStart}-${backup.walStop}`
    : backup.walStart;
}

function memberRows(members: readonly BackupMember[]): string[][] {
  return members.map((m) => [
    m.member,
    m.reachable ? (m.leader ? "leader" : "replica") : "-",
    m.url,
    m.reachable ? "ok" : m.error,
  ]);
}

/** `backup ls`: the backups, oldest first, then what each member's agent answered. */
export function formatBackups(listing: ListBackupsResponse): string[] {
  const rows = listing.backups.map((b) => [
    b.label,
    backupTypeName(b.type),
    when(b, "startedAt"),
    when(b, "stoppedAt"),
    bytes(Number(b.databaseBytes)),
    bytes(Number(b.backupBytes)),
    wal(b),
  ]);
  const header = ["LABEL", "TYPE", "STARTED", "STOPPED", "DATABASE", "BACKUP", "WAL"];
  return [
    ...(rows.length > 0 ? table([header, ...rows]) : ["no backups yet"]),
    "",
    `stanza ${listing.stanza}: ${listing.stanzaStatus} (as ${listing.listedBy} lists it)`,
    ...table([["MEMBER", "ROLE", "AGENT", "STATUS"], ...memberRows(listing.members)]),
  ];
}

/** `backup now`: the backup taken, in one line. */
export function formatTaken(taken: TakeBackupResponse): string {
  const b = taken.backup;
  if (!b) return `a backup was taken on ${taken.member}`;
  const seconds =
    b.startedAt && b.stoppedAt
      ? Math.round(
          (timestampDate(b.stoppedAt).getTime() - timestampDate(b.startedAt).getTime()) / 1000,
        )
      : undefined;
  return `${backupTypeName(b.type)} backup ${b.label} taken on ${taken.member}${seconds === undefined ? "" : ` in ${seconds} s`}: database ${bytes(Number(b.databaseBytes))}, backup ${bytes(Number(b.backupBytes))}, WAL ${wal(b)}`;
}

async function client() {
  return createClient(BackupService, transportFor(await loadCredentials()));
}

export function registerBackupCommands(program: Command) {
  const backup = program
    .command("backup")
    .description(
      "the platform database's backups, through the PostgreSQL members' backup agents (platform administrators)",
    );
  backup
    .command("ls", { isDefault: true })
    .description("list pgBackRest's backups, and what each member's backup agent answered")
    .option("--json", "print JSON (one object: the stanza, its backups, the members)")
    .action(async (o: { json?: boolean }) => {
      const listing = await (await client()).listBackups({});
      if (o.json) return printJson(backupListingJson(listing));
      for (const line of formatBackups(listing)) out(line);
    });
  backup
    .command("now")
    .description(
      "take a backup on the leader now, and wait until it is done (BACKUP_TIMEOUT_SECONDS at most)",
    )
    .addOption(
      new Option(
        "--type <type>",
        "full, diff (changes since the last full) or incr (since the last backup)",
      )
        .choices(Object.keys(TYPES))
        .default("full"),
    )
    .option("--json", "print JSON (the member and the backup)")
    .action(async (o: { type: keyof typeof TYPES; json?: boolean }) => {
      const c = await client();
      note(
        `asking the leader for a backup (${o.type}); this waits until it is done (Ctrl-C stops waiting, not the backup)`,
      );
      const taken = await c.takeBackup({ type: TYPES[o.type] });
      if (o.json) {
        return printJson({
          member: taken.member,
          backup: taken.backup ? backupJson(taken.backup) : null,
        });
      }
      out(formatTaken(taken));
    });
}
