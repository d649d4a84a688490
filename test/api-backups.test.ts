/**
 * BackupService against the real API (PostgreSQL and Redis): who may call it, the platform
 * without backup agents, and agents that do not answer (refused, a name that does not resolve,
 * a connection closed without an answer). The agent itself runs in the PostgreSQL image, with
 * Patroni and pgBackRest: a backup taken and listed through the API is the stack test's
 * (test/stack-deploy.test.ts), not this file's.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { eq } from "drizzle-orm";
import pino from "pino";
import { BackupService, BackupType } from "../src/gen/obiente/cloud/backup/v1/backup_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { auditLog } from "../src/store/schema.js";
import {
  addUserWithToken,
  startTestPlatform,
  type TestPlatform,
  transport,
} from "./helpers/api.js";
import { freePort } from "./helpers/caddy.js";

const TOKEN = `backup-agent-token-${"7f3a9c".repeat(6)}`;

async function rejectsWith(promise: Promise<unknown>, code: Code, message?: RegExp) {
  let caught: ConnectError | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConnectError, `not a ConnectError: ${String(error)}`);
    assert.equal(error.code, code, `${Code[error.code]}: ${error.rawMessage}`);
    if (message) assert.match(error.rawMessage, message);
    assert.ok(!error.rawMessage.includes(TOKEN), "the agents' token is not in the message");
    caught = error;
    return true;
  });
  return caught as ConnectError;
}

/** Accepts connections and closes them unanswered, counting them: an agent that never answers. */
async function closingListener(): Promise<{ server: Server; port: number; connections(): number }> {
  let count = 0;
  const server = createServer((socket: Socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { server, port, connections: () => count };
}

describe("BackupService: platform administrators only, and what an unconfigured or unreachable backup set-up answers", () => {
  let unconfigured: TestPlatform;
  let configured: TestPlatform;
  let closing: Awaited<ReturnType<typeof closingListener>>;
  let refusedPort = 0;
  let member = "";
  const logs: string[] = [];

  before(async () => {
    closing = await closingListener();
    refusedPort = await freePort();
    unconfigured = await startTestPlatform({ database: "postgres", redis: true });
    configured = await startTestPlatform({
      database: "postgres",
      redis: true,
      env: {
        BACKUP_AGENT_URLS: [
          `http://127.0.0.1:${refusedPort}`,
          "http://postgres-9.invalid:8009",
          `http://127.0.0.1:${closing.port}`,
        ].join(","),
        BACKUP_AGENT_TOKEN: TOKEN,
      },
      logger: pino(
        { level: "debug" },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            logs.push(chunk.toString());
            done();
          },
        }),
      ),
    });
    // A member (here the owner) of an organization, not a platform administrator.
    const user = await addUserWithToken(configured.platform.ctx.db);
    const { organization } = await configured
      .client(OrganizationService)
      .createOrganization({ name: "Backups" });
    assert.ok(organization);
    await configured
      .client(OrganizationService)
      .addMember({ organizationId: organization.id, email: user.email, role: Role.OWNER });
    member = user.token;
  });

  after(async () => {
    await unconfigured?.close();
    await configured?.close();
    closing?.server.close();
  });

  it("answers Unauthenticated without a token and PermissionDenied to a member of an organization", async () => {
    const anonymous = createClient(BackupService, transport(configured.baseUrl, undefined));
    await rejectsWith(anonymous.listBackups({}), Code.Unauthenticated);
    await rejectsWith(anonymous.takeBackup({}), Code.Unauthenticated);
    const owner = configured.client(BackupService, member);
    const onlyAdmins = /only platform administrators/;
    await rejectsWith(owner.listBackups({}), Code.PermissionDenied, onlyAdmins);
    await rejectsWith(
      owner.takeBackup({ type: BackupType.FULL }),
      Code.PermissionDenied,
      onlyAdmins,
    );
    assert.equal(closing.connections(), 0, "no agent was asked");
  });

  it("without BACKUP_AGENT_URLS: FailedPrecondition, saying what to set", async () => {
    const admin = unconfigured.client(BackupService);
    const expected = /^backups are not configured: set BACKUP_AGENT_URLS and BACKUP_AGENT_TOKEN$/;
    await rejectsWith(admin.listBackups({}), Code.FailedPrecondition, expected);
    await rejectsWith(admin.takeBackup({}), Code.FailedPrecondition, expected);
  });

  it("a type the contract does not have: InvalidArgument, and no agent is asked", async () => {
    const admin = configured.client(BackupService);
    await rejectsWith(
      admin.takeBackup({ type: 7 as BackupType }),
      Code.InvalidArgument,
      /backup type "7" is unknown: expected full, diff, incr/,
    );
    assert.equal(closing.connections(), 0, "no agent was asked");
    // Over JSON, a name the enum does not have is refused before the service.
    const response = await fetch(
      `${configured.baseUrl}/obiente.cloud.backup.v1.BackupService/TakeBackup`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${configured.adminToken}`,
        },
        body: JSON.stringify({ type: "BACKUP_TYPE_WEEKLY" }),
      },
    );
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { code: string }).code, "invalid_argument");
    assert.equal(closing.connections(), 0, "no agent was asked");
  });

  it("no agent answers: Unavailable naming every member and why, without the token in the message or the logs", async () => {
    const admin = configured.client(BackupService);
    const listed = await rejectsWith(
      admin.listBackups({}),
      Code.Unavailable,
      /^no backup agent could list the backups: /,
    );
    const agents = [
      `127\\.0\\.0\\.1 \\(http://127\\.0\\.0\\.1:${refusedPort}\\): connection refused`,
      "postgres-9\\.invalid \\(http://postgres-9\\.invalid:8009\\): the name postgres-9\\.invalid does not resolve",
      `127\\.0\\.0\\.1 \\(http://127\\.0\\.0\\.1:${closing.port}\\): the connection was closed before an answer`,
    ];
    for (const agent of agents) assert.match(listed.rawMessage, new RegExp(agent));
    assert.equal(closing.connections(), 1, "the agent that closes was asked once");

    const taken = await rejectsWith(
      admin.takeBackup({ type: BackupType.INCR }),
      Code.Unavailable,
      /^no backup agent answered: /,
    );
    for (const agent of agents) assert.match(taken.rawMessage, new RegExp(agent));
    // The backup asked for is in the audit log, with its outcome; a refused type was not asked.
    const audited = await configured.platform.ctx.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "backup.take"));
    assert.equal(audited.length, 1, JSON.stringify(audited));
    assert.equal(audited[0]?.resourceId, "incr");
    assert.equal(audited[0]?.userId !== null, true, "the administrator who asked");
    const details = (audited[0]?.details ?? {}) as Record<string, unknown>;
    assert.equal(details.outcome, "unavailable");
    assert.match(String(details.reason), /^no backup agent answered: /);
    assert.ok(
      !JSON.stringify(audited).includes(TOKEN),
      "the agents' token is not in the audit log",
    );

    const said = logs.join("");
    assert.match(said, /no backup agent could list the backups/, "the failures were logged");
    assert.ok(!said.includes(TOKEN), "the agents' token is not in the logs");
  });
});
