/**
 * Proof of domain ownership, end to end: the whole platform in this process (build, run, the
 * built-in edge), a real DNS server on loopback (dnsmasq) as its resolver (DNS_RESOLVERS).
 * A custom domain is not routed until its organization's TXT record is found; once verified it
 * is, and no other organization can claim it; a pending claim locks nobody out, the first to
 * verify wins; the daily re-check stops routing a domain whose record is gone, after the grace
 * period; the platform's reserved names are never a default name nor a custom domain.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { and, eq } from "drizzle-orm";
import pino from "pino";
import { registerDomainCommands } from "../src/cli/domain-commands.js";
import { DomainRecheck, dnsTxtLookup } from "../src/domains/index.js";
import {
  DeploymentService,
  DeploymentStatus,
  DomainStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { auditLog, deploymentRouting, domains } from "../src/store/schema.js";
import { requestByHost } from "./helpers/caddy.js";
import { runCommands } from "./helpers/cli.js";
import {
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { startDnsServer, type TestDnsServer } from "./helpers/dns.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { createUserWithToken, type TestUser } from "./helpers/users.js";

const HOUR = 3_600_000;
const challenge = (domain: string) => `_obiente-challenge.${domain}`;

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("the call was not refused");
}

describe("custom domains: routed once ownership is proven through DNS", () => {
  const leftovers = new Leftovers();
  let dns: TestDnsServer | undefined;
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let other: TestUser | undefined;
  /** TXT records the DNS server serves now. */
  const records: Record<string, string[]> = {};
  let id = "";
  let defaultDomain = "";
  let token = "";
  const shop = "shop.owned.test";

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const port = () => harness().edgePort ?? 0;
  const theirs = () => {
    assert.ok(other);
    return {
      deployments: harness().t.client(DeploymentService, other.token),
      projects: harness().t.client(ProjectService, other.token),
      orgs: harness().t.client(OrganizationService, other.token),
    };
  };
  const setRecord = async (name: string, values: string[] | undefined) => {
    if (values) records[name] = values;
    else delete records[name];
    await dns?.setTxtRecords(records);
  };
  const statusOf = async (deploymentId: string, domain: string, token?: string) => {
    const client = token ? harness().t.client(DeploymentService, token) : harness().deployments;
    const { domains: all } = await client.listDomains({ deploymentId });
    return all.find((d) => d.domain === domain);
  };

  before(async () => {
    dns = await startDnsServer();
    repo = await makeFixtureRepo();
    h = await startDeployHarness(
      {
        DNS_RESOLVERS: dns.address,
        DNS_TIMEOUT_MS: "2000",
        RESERVED_NAMES: "www,api,login,admin,cloud.owned.test",
      },
      leftovers,
    );
    const projectId = await h.project("Shop");
    const { deployment } = await h.deployments.createDeployment({
      projectId,
      name: "shop",
      gitRepo: repo.url,
      branch: "dockerfile",
      domain: shop,
    });
    assert.ok(deployment);
    leftovers.deploymentIds.add(deployment.id);
    id = deployment.id;
    defaultDomain = deployment.domains.find((d) => d.endsWith(".localhost")) ?? "";
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
    other = await createUserWithToken(h.t, `owner-${randomUUID().slice(0, 8)}@other.test`);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
    await dns?.close();
  });

  it("a pending domain is not routed, and says which record proves it", async () => {
    await untilAnswers(port(), defaultDomain, 200, FIXTURE_CONTENT.dockerfile);
    const pending = await statusOf(id, shop);
    assert.equal(pending?.status, DomainStatus.PENDING);
    assert.equal(pending?.verification?.recordType, "TXT");
    assert.equal(pending?.verification?.recordName, challenge(shop));
    assert.match(pending?.verification?.recordValue ?? "", /^obiente-verification=[\w-]{24}$/);
    token = pending?.verification?.recordValue ?? "";
    const answer = await requestByHost(port(), shop);
    assert.equal(answer.status, 404, "a pending domain reached the deployment");
    const routes = await harness()
      .t.platform.ctx.db.select()
      .from(deploymentRouting)
      .where(eq(deploymentRouting.deploymentId, id));
    assert.ok(!routes.some((r) => r.domain === shop), "a pending domain has a route");

    // The CLI says the same.
    const listed = await runCommands([registerDomainCommands], ["domains", "ls", id], {
      api: harness().t.baseUrl,
      token: harness().t.adminToken,
    });
    assert.ok(listed.includes(`${defaultDomain}  default`), listed.join("\n"));
    assert.ok(
      listed.some((l) => l.startsWith(`${shop}  pending`)),
      listed.join("\n"),
    );
    assert.ok(listed.includes(`    name:  ${challenge(shop)}`), listed.join("\n"));
    assert.ok(listed.includes(`    value: ${token}`), listed.join("\n"));
  });

  it("VerifyDomain without the record: FailedPrecondition saying what to add; still not routed", async () => {
    const missing = await refusal(
      harness().deployments.verifyDomain({ deploymentId: id, domain: shop }),
    );
    assert.equal(Code[missing.code], "FailedPrecondition", missing.rawMessage);
    assert.equal(
      missing.rawMessage,
      `${shop} is not verified: no TXT record at ${challenge(shop)}. Add a TXT record ${challenge(shop)} with the value "${token}", wait until it is visible in DNS, then verify again`,
    );
    // A record with another organization's value proves nothing.
    await setRecord(challenge(shop), ["obiente-verification=someone-elses-token-000"]);
    const wrong = await refusal(
      harness().deployments.verifyDomain({ deploymentId: id, domain: shop }),
    );
    assert.equal(Code[wrong.code], "FailedPrecondition", wrong.rawMessage);
    assert.match(wrong.rawMessage, /holds another organization's value/);
    assert.equal((await statusOf(id, shop))?.status, DomainStatus.PENDING);
    assert.equal((await requestByHost(port(), shop)).status, 404);
  });

  it("with the TXT record: verified and routed (RPC and CLI)", async () => {
    await setRecord(challenge(shop), ["v=spf1 -all", token]);
    const printed = await runCommands([registerDomainCommands], ["domains", "verify", id, shop], {
      api: harness().t.baseUrl,
      token: harness().t.adminToken,
    });
    assert.match(printed[0] ?? "", new RegExp(`^${shop.replaceAll(".", "\\.")}  verified`));
    const verified = await statusOf(id, shop);
    assert.equal(verified?.status, DomainStatus.VERIFIED);
    assert.ok(verified?.verifiedAt);
    await untilAnswers(port(), shop, 200, FIXTURE_CONTENT.dockerfile, 30_000);
    const [audit] = await harness()
      .t.platform.ctx.db.select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "domain.verify"), eq(auditLog.resourceId, id)));
    assert.equal(audit?.details.domain, shop);
  });

  it("another organization claiming a verified domain: AlreadyExists", async () => {
    const c = theirs();
    const org = (await c.orgs.createOrganization({ name: "Other Co" })).organization;
    assert.ok(org);
    const project = (await c.projects.createProject({ organizationId: org.id, name: "x" })).project;
    assert.ok(project);
    leftovers.projectIds.add(project.id);
    const mine = (
      await c.deployments.createDeployment({
        projectId: project.id,
        name: "copycat",
        gitRepo: "https://git.example.com/other/copycat.git",
        branch: "main",
      })
    ).deployment;
    assert.ok(mine);
    leftovers.deploymentIds.add(mine.id);
    for (const call of [
      () => c.deployments.addDomain({ deploymentId: mine.id, domain: shop }),
      () =>
        c.deployments.createDeployment({
          projectId: project.id,
          name: "copycat-2",
          gitRepo: "https://git.example.com/other/copycat.git",
          branch: "main",
          domain: shop.toUpperCase(),
        }),
    ]) {
      const error = await refusal(call());
      assert.equal(Code[error.code], "AlreadyExists", error.rawMessage);
      assert.equal(error.rawMessage, `the domain ${shop} is already in use`);
    }
    // Still ours, still routed.
    assert.equal((await requestByHost(port(), shop)).status, 200);
  });

  it("a pending claim locks nobody out: the first organization to verify has the domain", async () => {
    const c = theirs();
    const contested = "contested.owned.test";
    const { deployments: theirDeployments } = await c.deployments.listDeployments({
      organizationId: (await c.orgs.listOrganizations({})).organizations[0]?.id ?? "",
    });
    const copycat = theirDeployments.find((d) => d.name === "copycat");
    assert.ok(copycat);
    // They claim it first (it is not theirs: a squatter, or someone ahead of the owner).
    const claimed = await c.deployments.addDomain({ deploymentId: copycat.id, domain: contested });
    assert.equal(claimed.domain?.status, DomainStatus.PENDING);
    const theirToken = claimed.domain?.verification?.recordValue ?? "";
    assert.notEqual(theirToken, token, "one token per organization");
    // The owner can still claim it, and proves it.
    const added = await harness().deployments.addDomain({ deploymentId: id, domain: contested });
    assert.equal(added.domain?.status, DomainStatus.PENDING);
    await setRecord(challenge(contested), [token, theirToken]);
    const verified = await harness().deployments.verifyDomain({
      deploymentId: id,
      domain: contested,
    });
    assert.equal(verified.domain?.status, DomainStatus.VERIFIED);
    // Now the other claim can never be verified, whatever the DNS says.
    const late = await refusal(
      c.deployments.verifyDomain({ deploymentId: copycat.id, domain: contested }),
    );
    assert.equal(Code[late.code], "AlreadyExists", late.rawMessage);
    assert.match(late.rawMessage, /another organization verified it first/);
    assert.equal(
      (await statusOf(copycat.id, contested, other?.token))?.status,
      DomainStatus.PENDING,
    );
    await untilAnswers(port(), contested, 200, FIXTURE_CONTENT.dockerfile, 30_000);
    // Removing their claim removes theirs only: the owner's domain stays routed.
    await c.deployments.removeDomain({ deploymentId: copycat.id, domain: contested });
    assert.equal((await statusOf(id, contested))?.status, DomainStatus.VERIFIED);
    assert.equal((await requestByHost(port(), contested)).status, 200);
  });

  it("the re-check keeps routing through the grace period, then stops when the record is gone", async () => {
    const t = harness().t;
    const deploying = t.platform.deploying;
    assert.ok(deploying);
    let clock = new Date(Date.now() + 25 * HOUR);
    const recheck = new DomainRecheck({
      db: t.platform.ctx.db,
      lookup: dnsTxtLookup({ servers: [dns?.address ?? ""], timeoutMs: 2000 }),
      logger: pino({ level: "silent" }),
      recheckAfterMs: 24 * HOUR,
      graceMs: 72 * HOUR,
      onUnrouted: () => deploying.routes.sync(),
      now: () => clock,
    });
    // The record is there: confirmed.
    const confirmed = await recheck.recheckOnce();
    assert.ok(confirmed.confirmed >= 1, JSON.stringify(confirmed));
    // The record goes: a day later, the grace period starts; the domain is still served.
    await setRecord(challenge(shop), undefined);
    clock = new Date(clock.getTime() + 25 * HOUR);
    const failing = await recheck.recheckOnce();
    assert.ok(failing.failing >= 1, JSON.stringify(failing));
    const warned = await statusOf(id, shop);
    assert.equal(warned?.status, DomainStatus.VERIFIED);
    assert.match(
      warned?.statusMessage ?? "",
      /^no TXT record at _obiente-challenge\.shop\.owned\.test \(checked .*\): put the record back, or the domain stops being routed on /,
    );
    assert.equal((await requestByHost(port(), shop)).status, 200);
    // Past the grace period: unverified, unrouted, audited.
    clock = new Date(clock.getTime() + 73 * HOUR);
    const lapsed = await recheck.recheckOnce();
    assert.deepEqual(lapsed.unverified, [shop]);
    const gone = await statusOf(id, shop);
    assert.equal(gone?.status, DomainStatus.UNVERIFIED);
    assert.match(gone?.statusMessage ?? "", /^no longer routed since .*: no TXT record at/);
    assert.equal((await requestByHost(port(), shop)).status, 404);
    const [audit] = await t.platform.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "domain.unverified"), eq(auditLog.resourceId, id)));
    assert.equal(audit?.details.domain, shop);
    // A lookup that fails (the DNS server down) proves nothing: no change.
    const contested = await t.platform.ctx.db
      .select()
      .from(domains)
      .where(eq(domains.domain, "contested.owned.test"));
    await dns?.close();
    clock = new Date(clock.getTime() + 25 * HOUR);
    const blind = await recheck.recheckOnce();
    assert.equal(blind.errors, 1, JSON.stringify(blind));
    const after = await t.platform.ctx.db
      .select()
      .from(domains)
      .where(eq(domains.domain, "contested.owned.test"));
    assert.equal(after[0]?.status, "verified");
    assert.equal(after[0]?.failingSince, contested[0]?.failingSince ?? null);
    await dns?.setTxtRecords(records);
    // Put back, and verified again: routed again.
    await setRecord(challenge(shop), [token]);
    await harness().deployments.verifyDomain({ deploymentId: id, domain: shop });
    await untilAnswers(port(), shop, 200, FIXTURE_CONTENT.dockerfile, 30_000);
  });

  it("reserved names: never a default name, never a custom domain", async () => {
    const projectId = await harness().project("Reserved");
    const { deployment } = await harness().deployments.createDeployment({
      projectId,
      name: "login",
      gitRepo: "https://git.example.com/acme/login.git",
      branch: "main",
    });
    assert.ok(deployment);
    leftovers.deploymentIds.add(deployment.id);
    assert.ok(!deployment.domains.includes("login.localhost"), deployment.domains.join(", "));
    assert.match(deployment.domains[0] ?? "", /^login-reserved\.localhost$/);
    for (const host of ["cloud.owned.test", "CLOUD.owned.test."]) {
      const error = await refusal(
        harness().deployments.addDomain({ deploymentId: deployment.id, domain: host }),
      );
      assert.equal(Code[error.code], "InvalidArgument", error.rawMessage);
      assert.equal(
        error.rawMessage,
        "cloud.owned.test is one of the platform's own hosts and cannot be a custom domain",
      );
    }
  });
});
