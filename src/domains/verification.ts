/**
 * Proof that an organization owns a domain: a TXT record `_obiente-challenge.<domain>` holding
 * `obiente-verification=<the organization's token>`, looked up through DNS (DNS_RESOLVERS, or the
 * system's resolvers). One token per organization, so that one record proves the domain for
 * every deployment of the organization and for no other organization.
 */
import { randomBytes } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { and, eq, isNull } from "drizzle-orm";
import { type Db, organizations, type Tx } from "../store/index.js";

export const CHALLENGE_LABEL = "_obiente-challenge";
const VALUE_PREFIX = "obiente-verification=";

export const challengeRecordName = (domain: string) => `${CHALLENGE_LABEL}.${domain}`;
export const challengeRecordValue = (token: string) => `${VALUE_PREFIX}${token}`;

/** What a person needs to prove they own `domain`. */
export interface DomainInstructions {
  recordName: string;
  recordType: "TXT";
  recordValue: string;
  instructions: string;
}

export function domainInstructions(domain: string, token: string): DomainInstructions {
  const recordName = challengeRecordName(domain);
  const recordValue = challengeRecordValue(token);
  return {
    recordName,
    recordType: "TXT",
    recordValue,
    instructions: `add a TXT record ${recordName} with the value "${recordValue}" at your DNS provider, then verify the domain; keep the record: it is checked daily`,
  };
}

/** A DNS TXT lookup's outcome, told apart by what it means for ownership. */
export type TxtAnswer =
  | { kind: "found"; values: string[] }
  /** The name has no TXT record (NXDOMAIN or no data): a definite "no". */
  | { kind: "missing"; reason: string }
  /** The lookup itself failed (timeout, refused, SERVFAIL): says nothing about ownership. */
  | { kind: "error"; reason: string };

export interface TxtLookup {
  lookup(name: string): Promise<TxtAnswer>;
}

/** Lookups through node's resolver: the given servers ("127.0.0.1:5353"), or the system's. */
export function dnsTxtLookup(options: {
  servers?: readonly string[];
  timeoutMs: number;
}): TxtLookup {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
  if (options.servers && options.servers.length > 0) resolver.setServers([...options.servers]);
  return {
    async lookup(name) {
      try {
        const records = await resolver.resolveTxt(name);
        return { kind: "found", values: records.map((chunks) => chunks.join("")) };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "";
        if (code === "ENOTFOUND" || code === "ENODATA") {
          return { kind: "missing", reason: `no TXT record at ${name}` };
        }
        return { kind: "error", reason: `the DNS lookup of ${name} failed (${code || "error"})` };
      }
    },
  };
}

export type Judgement =
  | { ok: true }
  /** `definite`: the record is not there (counts toward the grace period); else a lookup failure. */
  | { ok: false; definite: boolean; message: string };

/** Whether an answer proves ownership with this token. Pure. */
export function judge(answer: TxtAnswer, domain: string, token: string): Judgement {
  const name = challengeRecordName(domain);
  const expected = challengeRecordValue(token);
  if (answer.kind === "error") return { ok: false, definite: false, message: answer.reason };
  if (answer.kind === "missing") return { ok: false, definite: true, message: answer.reason };
  if (answer.values.some((value) => value.trim() === expected)) return { ok: true };
  const ours = answer.values.filter((value) => value.trim().startsWith(VALUE_PREFIX));
  return {
    ok: false,
    definite: true,
    message:
      ours.length > 0
        ? `the TXT record at ${name} holds another organization's value, not "${expected}"`
        : `the TXT records at ${name} do not include "${expected}"`,
  };
}

/**
 * The organization's token, made on first use. Concurrent first uses agree: only a NULL is
 * replaced, and whoever loses reads the winner's.
 */
export async function organizationDomainToken(
  db: Db | Tx,
  organizationId: string,
): Promise<string> {
  const [row] = await db
    .select({ token: organizations.domainToken })
    .from(organizations)
    .where(eq(organizations.id, organizationId));
  if (row?.token) return row.token;
  await db
    .update(organizations)
    .set({ domainToken: randomBytes(18).toString("base64url") })
    .where(and(eq(organizations.id, organizationId), isNull(organizations.domainToken)));
  const [made] = await db
    .select({ token: organizations.domainToken })
    .from(organizations)
    .where(eq(organizations.id, organizationId));
  if (!made?.token) throw new Error(`organization ${organizationId} has no domain token`);
  return made.token;
}
