/**
 * Decisions over what the members' agents answered: whose listing to show, which member to take
 * a backup on, and how to tell a person what each member said. Pure.
 */
import type { AgentListing } from "./agent-answer.js";
import type { MemberReport } from "./agent-client.js";

export type Choice<T> = { ok: true; value: T } | { ok: false; problem: string };

const FAILING_OVER = "PostgreSQL may be failing over: try again in a minute";

/** One clause per member: "postgres-2 (http://postgres-2:8009): connection refused". */
export function describeMembers(reports: readonly MemberReport[]): string {
  return reports
    .map((r) => {
      const said = r.error ?? (r.leader ? "the leader" : "a replica");
      return `${r.member} (${r.url}): ${said}`;
    })
    .join("; ");
}

/** The listing to show: the leader's, else that of the first member which gave one. */
export function listingSource(
  reports: readonly MemberReport[],
): Choice<MemberReport & { listing: AgentListing }> {
  const listed = reports.filter(
    (r): r is MemberReport & { listing: AgentListing } => r.listing !== undefined,
  );
  const chosen = listed.find((r) => r.leader) ?? listed[0];
  if (chosen) return { ok: true, value: chosen };
  return {
    ok: false,
    problem: `no backup agent could list the backups: ${describeMembers(reports)}`,
  };
}

/** The member a backup is taken on: the one member whose agent says it leads. */
export function leaderOf(reports: readonly MemberReport[]): Choice<MemberReport> {
  const leaders = reports.filter((r) => r.listing !== undefined && r.leader);
  if (leaders.length === 1 && leaders[0]) return { ok: true, value: leaders[0] };
  if (leaders.length > 1) {
    return {
      ok: false,
      problem: `several members say they lead (${leaders.map((r) => r.member).join(", ")}): ${FAILING_OVER}`,
    };
  }
  if (reports.every((r) => r.listing === undefined)) {
    return { ok: false, problem: `no backup agent answered: ${describeMembers(reports)}` };
  }
  return {
    ok: false,
    problem: `no member says it leads (${FAILING_OVER}): ${describeMembers(reports)}`,
  };
}
