import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AgentListing } from "./agent-answer.js";
import type { MemberReport } from "./agent-client.js";
import { type Choice, describeMembers, leaderOf, listingSource } from "./members.js";

const listing = (member: string, leader: boolean): AgentListing => ({
  member,
  leader,
  stanza: { name: "obiente", status: "ok", backups: [] },
});
const answered = (member: string, leader: boolean): MemberReport => ({
  url: `http://${member}:8009`,
  member,
  leader,
  listing: listing(member, leader),
});
const silent = (member: string, error: string): MemberReport => ({
  url: `http://${member}:8009`,
  member,
  leader: false,
  error,
});

/** The member chosen (by name), or the problem said. */
function expectChoice(chosen: Choice<MemberReport>, expected: string | RegExp) {
  if (typeof expected === "string") {
    assert.ok(chosen.ok, chosen.ok ? "" : chosen.problem);
    assert.equal(chosen.value.member, expected);
  } else {
    assert.ok(!chosen.ok, "no member chosen");
    assert.match(chosen.problem, expected);
  }
}

describe("which member's answer counts", () => {
  test("the listing: the leader's, else the first that gave one, else why none did", () => {
    for (const [reports, expected] of [
      [[answered("postgres-1", false), answered("postgres-2", true)], "postgres-2"],
      [[silent("postgres-1", "connection refused"), answered("postgres-3", false)], "postgres-3"],
      [
        [silent("postgres-1", "connection refused"), silent("postgres-2", "no answer within 30 s")],
        /^no backup agent could list the backups: postgres-1 \(http:\/\/postgres-1:8009\): connection refused; postgres-2 \(http:\/\/postgres-2:8009\): no answer within 30 s$/,
      ],
    ] as const) {
      expectChoice(listingSource(reports), expected);
    }
  });

  test("the leader: the one member that says it leads, or why there is none", () => {
    for (const [reports, expected] of [
      [[answered("postgres-1", false), answered("postgres-2", true)], "postgres-2"],
      [
        [silent("postgres-1", "connection refused"), silent("postgres-2", "connection refused")],
        /^no backup agent answered: postgres-1 .*connection refused; postgres-2 /,
      ],
      [
        [
          answered("postgres-1", false),
          silent("postgres-2", "the name postgres-2 does not resolve"),
        ],
        /^no member says it leads \(PostgreSQL may be failing over: try again in a minute\): postgres-1 \(http:\/\/postgres-1:8009\): a replica; postgres-2 .*does not resolve$/,
      ],
      [
        [answered("postgres-1", true), answered("postgres-2", true)],
        /^several members say they lead \(postgres-1, postgres-2\)/,
      ],
    ] as const) {
      expectChoice(leaderOf(reports), expected);
    }
  });

  test("a leader whose listing failed is not taken as the leader", () => {
    const report: MemberReport = {
      ...silent("postgres-1", "pgbackrest info exited 82"),
      leader: true,
    };
    assert.equal(leaderOf([report]).ok, false);
    assert.equal(
      describeMembers([report]),
      "postgres-1 (http://postgres-1:8009): pgbackrest info exited 82",
    );
  });
});
