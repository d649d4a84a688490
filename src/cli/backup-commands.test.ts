import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  BackupSchema,
  BackupType,
  ListBackupsResponseSchema,
  TakeBackupResponseSchema,
} from "../gen/obiente/cloud/backup/v1/backup_pb.js";
import { formatBackups, formatTaken } from "./backup-commands.js";

const full = create(BackupSchema, {
  label: "20261207-100000F",
  type: BackupType.FULL,
  startedAt: timestampFromDate(new Date("2026-12-07T10:00:00Z")),
  stoppedAt: timestampFromDate(new Date("2026-12-07T10:00:12Z")),
  databaseBytes: 31_049_162n,
  backupBytes: 4_106_998n,
  walStart: "000000010000000000000003",
  walStop: "000000010000000000000003",
});
const incr = create(BackupSchema, {
  label: "20261207-100000F_20261207-110000I",
  type: BackupType.INCR,
  startedAt: timestampFromDate(new Date("2026-12-07T11:00:00Z")),
  stoppedAt: timestampFromDate(new Date("2026-12-07T11:00:03Z")),
  databaseBytes: 31_080_448n,
  backupBytes: 163_840n,
  walStart: "000000010000000000000006",
  walStop: "000000010000000000000007",
  prior: "20261207-100000F",
});
const members = [
  { member: "postgres-1", url: "http://postgres-1:8009", leader: true, reachable: true },
  { member: "postgres-2", url: "http://postgres-2:8009", reachable: true },
  { member: "postgres-3", url: "http://postgres-3:8009", error: "connection refused" },
];

describe("backup commands' output", () => {
  test("backup ls: the backups, oldest first, then each member's answer", () => {
    const listing = create(ListBackupsResponseSchema, {
      backups: [full, incr],
      members,
      stanza: "obiente",
      stanzaStatus: "ok",
      listedBy: "postgres-1",
    });
    assert.deepEqual(formatBackups(listing), [
      "LABEL                              TYPE  STARTED               STOPPED               DATABASE  BACKUP     WAL",
      "20261207-100000F                   full  2026-12-07 10:00:00Z  2026-12-07 10:00:12Z  29.6 MiB  3.9 MiB    000000010000000000000003",
      "20261207-100000F_20261207-110000I  incr  2026-12-07 11:00:00Z  2026-12-07 11:00:03Z  29.6 MiB  160.0 KiB  000000010000000000000006-000000010000000000000007",
      "",
      "stanza obiente: ok (as postgres-1 lists it)",
      "MEMBER      ROLE     AGENT                   STATUS",
      "postgres-1  leader   http://postgres-1:8009  ok",
      "postgres-2  replica  http://postgres-2:8009  ok",
      "postgres-3  -        http://postgres-3:8009  connection refused",
    ]);
  });

  test("backup ls with none yet", () => {
    const listing = create(ListBackupsResponseSchema, {
      members: members.slice(0, 1),
      stanza: "obiente",
      stanzaStatus: "missing stanza path",
      listedBy: "postgres-1",
    });
    assert.deepEqual(formatBackups(listing).slice(0, 3), [
      "no backups yet",
      "",
      "stanza obiente: missing stanza path (as postgres-1 lists it)",
    ]);
  });

  test("backup now: the backup in one line", () => {
    assert.equal(
      formatTaken(create(TakeBackupResponseSchema, { member: "postgres-1", backup: full })),
      "full backup 20261207-100000F taken on postgres-1 in 12 s: database 29.6 MiB, backup 3.9 MiB, WAL 000000010000000000000003",
    );
  });
});
