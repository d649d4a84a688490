/**
 * Deploy keys through the whole platform, against a real ssh git server on loopback (Debian's
 * sshd, a system user of its own whose authorized_keys decides who clones; see
 * helpers/ssh-git-server.ts). Project A's deploy key, read through the API and put into
 * authorized_keys as a user would add it to their forge, clones the ssh-only repository: the
 * deployment builds, runs and answers. Project B's key is not authorised: its deployment of the
 * same repository fails, saying it needs credentials. After A's key is rotated, the old key no
 * longer clones (and what A served keeps serving); a viewer sees the key but cannot rotate it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { eq } from "drizzle-orm";
import {
  BuildStatus,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { projectDeployKeys } from "../src/store/schema.js";
import { addUserWithToken } from "./helpers/api.js";
import {
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import {
  type SshGitServer,
  sshGitServerUnavailable,
  startSshGitServer,
} from "./helpers/ssh-git-server.js";

describe("deploy keys: an ssh-only repository (real sshd, a user of its own)", {
  skip: sshGitServerUnavailable(),
}, () => {
  const leftovers = new Leftovers();
  let fixture: FixtureRepo | undefined;
  let server: SshGitServer | undefined;
  let h: DeployHarness | undefined;
  let url = "";
  let projectA = "";
  let deploymentA = { id: "", domain: "" };

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const projects = () => harness().t.client(ProjectService);

  before(async () => {
    fixture = await makeFixtureRepo();
    server = await startSshGitServer();
    url = await server.serve("app", fixture.dir);
    h = await startDeployHarness({}, leftovers);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await server?.close();
    await fixture?.cleanup();
  });

  it("a project's deploy key is an ed25519 authorized_keys line naming the project", async () => {
    projectA = await harness().project("keyed");
    const { deployKey } = await projects().getDeployKey({ projectId: projectA });
    assert.ok(deployKey);
    assert.equal(deployKey.projectId, projectA);
    assert.match(
      deployKey.publicKey,
      new RegExp(
        `^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+ obiente-project-keyed-${projectA.slice(0, 8)}$`,
      ),
    );
    assert.match(deployKey.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    // The same key every time; the private half is stored sealed, never as the key itself.
    const again = await projects().getDeployKey({ projectId: projectA });
    assert.equal(again.deployKey?.publicKey, deployKey.publicKey);
    const [row] = await harness()
      .t.platform.ctx.db.select()
      .from(projectDeployKeys)
      .where(eq(projectDeployKeys.projectId, projectA));
    assert.ok(row);
    assert.match(row.privateKeyEncrypted, /^v1:/);
    assert.ok(!row.privateKeyEncrypted.includes("PRIVATE KEY"));
  });

  it("the project whose key is authorised deploys from the ssh repository", async () => {
    assert.ok(server);
    const { deployKey } = await projects().getDeployKey({ projectId: projectA });
    assert.ok(deployKey);
    await server.authorize([deployKey.publicKey]);
    deploymentA = await harness().deploy({
      projectId: projectA,
      name: "from-ssh",
      gitRepo: url,
      branch: "dockerfile",
    });
    await waitForStatus(harness().deployments, deploymentA.id, DeploymentStatus.RUNNING, 180_000);
    const edgePort = harness().edgePort;
    assert.ok(edgePort);
    await untilAnswers(edgePort, deploymentA.domain, 200, FIXTURE_CONTENT.dockerfile);
    const { builds } = await harness().deployments.listBuilds({ deploymentId: deploymentA.id });
    assert.equal(builds[0]?.status, BuildStatus.SUCCEEDED);
    assert.equal(builds[0]?.commitSha, fixture?.commits.dockerfile);
    assert.match(server.log(), /Accepted publickey for obgit/);
  });

  it("a project whose key is not authorised cannot clone it", async () => {
    const projectB = await harness().project("unkeyed");
    const { id } = await harness().deploy({
      projectId: projectB,
      name: "from-ssh",
      gitRepo: url,
      branch: "dockerfile",
    });
    await assert.rejects(
      waitForStatus(harness().deployments, id, DeploymentStatus.RUNNING, 180_000),
      /failed: .*needs credentials this platform does not have/,
    );
  });

  it("a viewer sees the key but cannot rotate it; an owner rotates, and the old key stops cloning", async () => {
    const t = harness().t;
    const viewer = await addUserWithToken(t.platform.ctx.db);
    await t.client(OrganizationService).addMember({
      organizationId: harness().organizationId,
      email: viewer.email,
      role: Role.VIEWER,
    });
    const asViewer = t.client(ProjectService, viewer.token);
    const before = (await asViewer.getDeployKey({ projectId: projectA })).deployKey;
    assert.ok(before);
    await assert.rejects(asViewer.rotateDeployKey({ projectId: projectA }), (error: unknown) => {
      assert.equal(ConnectError.from(error).code, Code.PermissionDenied);
      return true;
    });
    assert.equal(
      (await projects().getDeployKey({ projectId: projectA })).deployKey?.publicKey,
      before.publicKey,
    );

    const rotated = (await projects().rotateDeployKey({ projectId: projectA })).deployKey;
    assert.ok(rotated);
    assert.notEqual(rotated.publicKey, before.publicKey);
    // The forge still holds the old key only: the next build cannot clone.
    await harness().deployments.redeployDeployment({ id: deploymentA.id });
    await assert.rejects(
      waitForStatus(harness().deployments, deploymentA.id, DeploymentStatus.RUNNING, 180_000),
      /needs credentials this platform does not have/,
    );
    // What it served before keeps serving.
    const edgePort = harness().edgePort;
    assert.ok(edgePort);
    await untilAnswers(edgePort, deploymentA.domain, 200, FIXTURE_CONTENT.dockerfile);
  });
});
