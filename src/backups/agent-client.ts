/**
 * One backup agent over HTTP (fetch, a time limit on every call). What goes wrong becomes a
 * sentence about that agent, for the member's status and the caller's message; the token is
 * sent in the Authorization header only, and taken out of any text that comes back.
 */
import {
  type AgentListing,
  type Backup,
  type BackupType,
  readListing,
  readRefusal,
  readTaken,
} from "./agent-answer.js";

/** What asking went to: an answer (its status and JSON body) or why there was none. */
type Exchange = { status: number; body: unknown } | { failure: string };

/** What one member's agent said to GET /backups. */
export interface MemberReport {
  url: string;
  /** Its name as the agent says it; the URL's host when it did not answer. */
  member: string;
  leader: boolean;
  /** The listing, when the agent gave a readable one. */
  listing?: AgentListing;
  /** Why it did not. */
  error?: string;
}

export type TakeOutcome =
  | { kind: "taken"; member: string; backup: Backup | undefined }
  /** 409: this member does not lead now, or a backup runs. */
  | { kind: "refused"; member: string; reason: string }
  /** The agent answered with an error (pgBackRest failed), or something unreadable. */
  | { kind: "failed"; member: string; reason: string }
  /** No answer: unreachable, or not within the time limit. */
  | { kind: "unanswered"; member: string; reason: string; timedOut: boolean };

/** Longest text taken from an agent's error, so that a message stays a message. */
const MAX_REASON = 500;

export class BackupAgentClient {
  readonly host: string;
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {
    this.host = new URL(url).hostname;
  }

  /** GET /backups: who the member is, whether it leads, and the repository's backups. */
  async report(timeoutMs: number): Promise<MemberReport> {
    const base = { url: this.url, member: this.host, leader: false };
    const answer = await this.exchange(
      "GET",
      "/backups",
      AbortSignal.timeout(timeoutMs),
      timeoutMs,
    );
    if ("failure" in answer) return { ...base, error: answer.failure };
    if (answer.status !== 200) return { ...base, error: this.refusalText(answer) };
    const read = readListing(answer.body);
    if (!read.ok) return { ...base, error: `answered in ${read.problem}` };
    return { ...base, member: read.value.member, leader: read.value.leader, listing: read.value };
  }

  /**
   * POST /backups?type=…, waiting for the backup to finish (the agent answers once it has).
   * `signal` ends the wait sooner (the caller gone); the backup goes on on the member.
   */
  async take(type: BackupType, timeoutMs: number, signal?: AbortSignal): Promise<TakeOutcome> {
    const limit = AbortSignal.timeout(timeoutMs);
    const answer = await this.exchange(
      "POST",
      `/backups?type=${type}`,
      signal ? AbortSignal.any([limit, signal]) : limit,
      timeoutMs,
    );
    if ("failure" in answer) {
      return {
        kind: "unanswered",
        member: this.host,
        reason: answer.failure,
        timedOut: limit.aborted,
      };
    }
    const refusal = readRefusal(answer.body);
    const member = refusal?.member ?? this.host;
    if (answer.status === 409) return { kind: "refused", member, reason: this.refusalText(answer) };
    if (answer.status !== 200) return { kind: "failed", member, reason: this.refusalText(answer) };
    const read = readTaken(answer.body);
    if (!read.ok) return { kind: "failed", member, reason: `answered in ${read.problem}` };
    return { kind: "taken", member: read.value.member, backup: read.value.backup };
  }

  private async exchange(
    method: "GET" | "POST",
    path: string,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<Exchange> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, accept: "application/json" },
        signal,
        redirect: "error",
      });
    } catch (error) {
      return { failure: this.failureText(error, timeoutMs) };
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return { failure: this.failureText(error, timeoutMs) };
    }
    try {
      return { status: response.status, body: JSON.parse(text) as unknown };
    } catch {
      return { failure: `answered HTTP ${response.status} with something other than JSON` };
    }
  }

  /** The agent's words for a refusal or a failure, or the HTTP status when it gave none. */
  private refusalText(answer: { status: number; body: unknown }): string {
    if (answer.status === 401) {
      return "refused the token: BACKUP_AGENT_TOKEN is not the agents' (the obiente_backup_agent_token secret)";
    }
    const words = readRefusal(answer.body)?.error;
    return words ? this.clean(words) : `answered HTTP ${answer.status}`;
  }

  /** Why fetch got no answer, in a few words; the URL and headers are not in it. */
  private failureText(error: unknown, timeoutMs: number): string {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 1000)} s`;
    if (name === "AbortError") return "the call was given up (the caller went away)";
    const cause =
      error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
    switch (cause?.code) {
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return `the name ${this.host} does not resolve`;
      case "ECONNREFUSED":
        return "connection refused";
      case "ECONNRESET":
      case "UND_ERR_SOCKET":
        return "the connection was closed before an answer";
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        return "no route to the host";
      case "ETIMEDOUT":
      case "UND_ERR_CONNECT_TIMEOUT":
        return "the connection timed out";
    }
    const text = cause?.message ?? (error instanceof Error ? error.message : String(error));
    return this.clean(text);
  }

  /** Text from elsewhere, shortened, and never with the token in it. */
  private clean(text: string): string {
    const safe = text.split(this.token).join("[token]").trim();
    return safe.length > MAX_REASON ? `${safe.slice(0, MAX_REASON)}…` : safe;
  }
}
