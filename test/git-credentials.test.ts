/**
 * A private repository's credential through the whole platform: a real git server over HTTPS on
 * loopback (`git http-backend` behind basic auth) serves the fixture app only to the right
 * token. A deployment made with `https://user:TOKEN@host/…` builds and runs, while the token
 * appears nowhere a person can read it: not in a viewer's (or the owner's) GetDeployment and
 * ListDeployments, not in the audit rows, not in the build log, not in the stored deployment or
 * build rows. The owner replaces the credential; a wrong one fails the build, saying so.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { sealGitCredentials } from "../src/deployments/git-credentials.js";
import {
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { auditLog, builds, deploymentGitCredentials, deployments } from "../src/store/schema.js";
import { addUserWithToken } from "./helpers/api.js";
import {
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { type GitHttpServer, startGitHttpServer } from "./helpers/git-http-server.js";
import { gitEnv } from "./helpers/repo.js";

const run = promisify(execFile);
const TOKEN = `tok-${randomUUID()}`;
const NEW_TOKEN = `tok-${randomUUID()}`;

describe("git credentials (real HTTPS git server with basic auth)", () => {
  const leftovers = new Leftovers();
  let fixture: FixtureRepo | undefined;
  let root: string;
  let server: GitHttpServer | undefined;
  let h: DeployHarness | undefined;
  let projectId = "";
  let viewerToken = "";
  let deploymentId = "";
  const savedCaInfo = process.env.GIT_SSL_CAINFO;

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const db = () => harness().t.platform.ctx.db;
  const viewer = () => harness().t.client(DeploymentService, viewerToken);

  /** Everything below must never hold the token. */
  const assertNoTrace = (what: string, value: unknown, ...tokens: string[]) => {
    const text = JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? String(v) : v));
    for (const token of tokens.length > 0 ? tokens : [TOKEN, NEW_TOKEN]) {
      assert.ok(!text.includes(token), `${what} holds the token: ${text.slice(0, 2000)}`);
    }
  };

  async function buildLog(buildId: string): Promise<string[]> {
    const lines: string[] = [];
    for await (const message of viewer().streamBuildLogs({ buildId })) lines.push(message.line);
    return lines;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "obiente-git-credentials-"));
    fixture = await makeFixtureRepo();
    const bare = join(root, "private.git");
    await run("git", ["clone", "-q", "--bare", fixture.dir, bare], { env: gitEnv(root) });
    server = await startGitHttpServer(bare, { username: "deploy", password: TOKEN });
    // The platform's git trusts the test server's certificate (passed through to git).
    process.env.GIT_SSL_CAINFO = server.caFile;
    h = await startDeployHarness({}, leftovers);
    projectId = await h.project("Private repo");
    const user = await addUserWithToken(db());
    viewerToken = user.token;
    await h.t
      .client(OrganizationService)
      .addMember({ organizationId: h.organizationId, email: user.email, role: Role.VIEWER });
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await server?.close();
    await fixture?.cleanup();
    if (savedCaInfo === undefined) delete process.env.GIT_SSL_CAINFO;
    else process.env.GIT_SSL_CAINFO = savedCaInfo;
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it("the server refuses a clone without the token", async () => {
    assert.ok(server);
    await assert.rejects(
      run("git", ["ls-remote", server.url], {
        env: { ...gitEnv(root), GIT_SSL_CAINFO: server.caFile, GIT_TERMINAL_PROMPT: "0" },
      }),
      /Authentication failed|could not read Username|terminal prompts disabled/,
    );
  });

  it("builds from the private repository, and the token is nowhere to be read", async () => {
    assert.ok(server);
    const withToken = server.url.replace("https://", `https://deploy:${TOKEN}@`);
    const { id } = await harness().deploy({
      projectId,
      name: "private",
      gitRepo: withToken,
      branch: "dockerfile",
    });
    deploymentId = id;
    const seen = await waitForStatus(harness().deployments, id, DeploymentStatus.RUNNING, 120_000);
    assert.equal(seen.status, DeploymentStatus.RUNNING, seen.message);
    assert.ok(server.served > 0, "the server answered the platform with the right token");

    const { deployment } = await viewer().getDeployment({ id });
    assert.equal(deployment?.gitRepo, server.url);
    assert.equal(deployment?.hasGitCredential, true);
    assertNoTrace("a viewer's GetDeployment", deployment);
    assertNoTrace("a viewer's ListDeployments", await viewer().listDeployments({ projectId }));
    assertNoTrace("the owner's GetDeployment", await harness().deployments.getDeployment({ id }));

    const { builds: list } = await viewer().listBuilds({ deploymentId: id });
    const build = list[0];
    assert.ok(build);
    const log = await buildLog(build.id);
    assert.ok(
      log.some((line) => line === `cloning ${server?.url}, branch dockerfile`),
      log.join("\n"),
    );
    assertNoTrace("the build log", log);

    assertNoTrace("the audit rows", await db().select().from(auditLog));
    assertNoTrace("the deployment row", await db().select().from(deployments));
    assertNoTrace("the build rows", await db().select().from(builds));
    assertNoTrace("the sealed credential", await db().select().from(deploymentGitCredentials));
  });

  it("the owner replaces the credential; the next build uses the new one", async () => {
    assert.ok(server && deploymentId);
    server.credential = { username: "deploy", password: NEW_TOKEN };
    const { deployment } = await harness().deployments.updateDeployment({
      id: deploymentId,
      gitCredential: { username: "deploy", password: NEW_TOKEN },
    });
    assert.equal(deployment?.hasGitCredential, true);
    assertNoTrace("UpdateDeployment's answer", deployment);
    await viewer()
      .updateDeployment({ id: deploymentId, gitCredential: { username: "x", password: "y" } })
      .then(
        () => assert.fail("a viewer replaced the credential"),
        (error: Error) => assert.match(error.message, /permission|denied/i),
      );
    const served = server.served;
    await harness().deployments.redeployDeployment({ id: deploymentId });
    const seen = await waitForStatus(
      harness().deployments,
      deploymentId,
      DeploymentStatus.RUNNING,
      120_000,
    );
    assert.equal(seen.status, DeploymentStatus.RUNNING, seen.message);
    assert.ok(server.served > served, "cloned again with the new token");
    assertNoTrace("the audit rows", await db().select().from(auditLog));
  });

  it("a wrong credential fails the build, saying so, and shows no token", async () => {
    assert.ok(server && deploymentId);
    const wrong = `wrong-${randomUUID()}`;
    await harness().deployments.updateDeployment({
      id: deploymentId,
      gitCredential: { username: "deploy", password: wrong },
    });
    await harness().deployments.redeployDeployment({ id: deploymentId });
    const seen = await waitForStatus(
      harness().deployments,
      deploymentId,
      DeploymentStatus.FAILED,
      120_000,
    );
    assert.match(seen.message, /was not found, or it needs credentials/);
    const { builds: list } = await viewer().listBuilds({ deploymentId });
    const log = await buildLog(list[0]?.id ?? "");
    assertNoTrace("the failed build's log", log, TOKEN, NEW_TOKEN, wrong);
    assertNoTrace("the audit rows", await db().select().from(auditLog), TOKEN, NEW_TOKEN, wrong);
  });

  it("removing the credential, and a new host drops it", async () => {
    assert.ok(server && deploymentId);
    const removed = await harness().deployments.updateDeployment({
      id: deploymentId,
      gitCredential: { username: "", password: "" },
    });
    assert.equal(removed.deployment?.hasGitCredential, false);
    await harness().deployments.updateDeployment({
      id: deploymentId,
      gitCredential: { username: "deploy", password: NEW_TOKEN },
    });
    const moved = await harness().deployments.updateDeployment({
      id: deploymentId,
      gitRepo: "https://127.0.0.2:1/elsewhere.git",
    });
    assert.equal(moved.deployment?.hasGitCredential, false, "not sent to another host");
  });

  it("moves a credential still written in an older deployment's URL out of it at start", async () => {
    assert.ok(server && deploymentId);
    const legacy = server.url.replace("https://", `https://deploy:${TOKEN}@`);
    await db().update(deployments).set({ gitRepo: legacy }).where(eq(deployments.id, deploymentId));
    assert.equal(await sealGitCredentials(harness().t.platform.ctx), 1);
    const [row] = await db().select().from(deployments).where(eq(deployments.id, deploymentId));
    assert.equal(row?.gitRepo, server.url);
    const { deployment } = await viewer().getDeployment({ id: deploymentId });
    assert.equal(deployment?.hasGitCredential, true);
    assertNoTrace("the deployment row", row);
  });
});
