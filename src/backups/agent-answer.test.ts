import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readListing, readRefusal, readTaken } from "./agent-answer.js";

/**
 * One stanza of `pgbackrest --output=json info` as pgBackRest 2.x documents and prints it (a full
 * backup, then an incremental on top of it), inside the agent's GET /backups answer.
 */
const STANZA = {
  archive: [
    {
      database: { id: 1, "repo-key": 1 },
      id: "15-1",
      max: "000000010000000000000007",
      min: "000000010000000000000003",
    },
  ],
  backup: [
    {
      archive: { start: "000000010000000000000003", stop: "000000010000000000000003" },
      backrest: { format: 5, version: "2.54.0" },
      database: { id: 1, "repo-key": 1 },
      error: false,
      info: {
        delta: 31_049_162,
        repository: { delta: 4_106_998, size: 4_106_998 },
        size: 31_049_162,
      },
      label: "20261207-100000F",
      link: null,
      lsn: { start: "0/3000028", stop: "0/3000138" },
      prior: null,
      reference: null,
      tablespace: null,
      timestamp: { start: 1_796_637_600, stop: 1_796_637_612 },
      type: "full",
    },
    {
      archive: { start: "000000010000000000000006", stop: "000000010000000000000006" },
      backrest: { format: 5, version: "2.54.0" },
      database: { id: 1, "repo-key": 1 },
      error: false,
      info: {
        delta: 1_212_416,
        repository: { delta: 163_840, size: 4_110_000 },
        size: 31_080_448,
      },
      label: "20261207-100000F_20261207-110000I",
      link: null,
      lsn: { start: "0/6000028", stop: "0/6000100" },
      prior: "20261207-100000F",
      reference: ["20261207-100000F"],
      tablespace: null,
      timestamp: { start: 1_796_641_200, stop: 1_796_641_203 },
      type: "incr",
    },
  ],
  cipher: "none",
  db: [{ id: 1, "repo-key": 1, "system-id": 7_591_364_124_800_804_000, version: "15" }],
  name: "obiente",
  repo: [{ cipher: "none", key: 1, status: { code: 0, message: "ok" } }],
  status: { code: 0, lock: { backup: { held: false } }, message: "ok" },
};

describe("the backup agent's answers", () => {
  test("GET /backups: the member, whether it leads, and pgBackRest's backups in the platform's terms", () => {
    const read = readListing({ member: "postgres-2", leader: true, stanza: STANZA });
    assert.ok(read.ok, read.ok ? "" : read.problem);
    assert.equal(read.value.member, "postgres-2");
    assert.equal(read.value.leader, true);
    assert.equal(read.value.stanza.name, "obiente");
    assert.equal(read.value.stanza.status, "ok");
    assert.deepEqual(read.value.stanza.backups, [
      {
        label: "20261207-100000F",
        type: "full",
        startedAt: new Date("2026-12-07T10:00:00Z"),
        stoppedAt: new Date("2026-12-07T10:00:12Z"),
        databaseBytes: 31_049_162,
        backupBytes: 4_106_998,
        walStart: "000000010000000000000003",
        walStop: "000000010000000000000003",
        prior: "",
      },
      {
        label: "20261207-100000F_20261207-110000I",
        type: "incr",
        startedAt: new Date("2026-12-07T11:00:00Z"),
        stoppedAt: new Date("2026-12-07T11:00:03Z"),
        databaseBytes: 31_080_448,
        backupBytes: 163_840,
        walStart: "000000010000000000000006",
        walStop: "000000010000000000000006",
        prior: "20261207-100000F",
      },
    ]);
  });

  test("a stanza without backups: the agent's own answer when pgBackRest lists none, and pgBackRest's", () => {
    const agents = readListing({
      member: "postgres-1",
      leader: false,
      stanza: { name: "obiente", backup: [], status: { code: 1 } },
    });
    assert.ok(agents.ok);
    assert.equal(agents.value.stanza.status, "missing stanza path");
    const pgbackrests = readListing({
      member: "postgres-1",
      leader: false,
      stanza: { ...STANZA, backup: [], status: { code: 2, message: "no valid backups" } },
    });
    assert.ok(pgbackrests.ok);
    assert.deepEqual(pgbackrests.value.stanza.backups, []);
    assert.equal(pgbackrests.value.stanza.status, "no valid backups");
  });

  test("archive start and stop may be null (archive checks off)", () => {
    const [full] = STANZA.backup;
    const read = readListing({
      member: "postgres-1",
      leader: true,
      stanza: { ...STANZA, backup: [{ ...full, archive: { start: null, stop: null } }] },
    });
    assert.ok(read.ok);
    assert.equal(read.value.stanza.backups[0]?.walStart, "");
  });

  test("an answer of another shape names where it differs", () => {
    for (const [body, where] of [
      [{ member: "postgres-1", leader: "yes", stanza: STANZA }, /leader/],
      [{ member: "postgres-1", leader: true }, /stanza/],
      [
        {
          member: "postgres-1",
          leader: true,
          stanza: { ...STANZA, backup: [{ ...STANZA.backup[0], type: "weekly" }] },
        },
        /stanza\.backup\.0\.type/,
      ],
      ["not an object", /the answer/],
    ] as const) {
      const read = readListing(body);
      assert.equal(read.ok, false);
      if (!read.ok) assert.match(read.problem, where);
    }
  });

  test("POST /backups: the new backup, none, or the agent's refusal", () => {
    const taken = readTaken({ member: "postgres-2", backup: STANZA.backup[0] });
    assert.ok(taken.ok);
    assert.equal(taken.value.member, "postgres-2");
    assert.equal(taken.value.backup?.label, "20261207-100000F");
    const none = readTaken({ member: "postgres-2", backup: null });
    assert.ok(none.ok);
    assert.equal(none.value.backup, undefined);
    assert.deepEqual(
      readRefusal({ error: "a backup is running on this member", member: "postgres-2" }),
      { error: "a backup is running on this member", member: "postgres-2" },
    );
    assert.equal(readRefusal({ status: "busy" }), undefined);
  });
});
