/**
 * Quotas per organization, on the real server (PostgreSQL, so that concurrent requests really
 * run concurrently): each quota refuses with ResourceExhausted naming the quota, its limit and
 * the use; two creates at once cannot both take the last slot; a platform administrator sets
 * limits for one organization (RPC and CLI); and the resource fit check applies on one engine.
 *
 * The platform runs the API alone: deployments stay queued, which is what the build quota
 * counts. Each test works in an organization of its own.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { count, eq } from "drizzle-orm";
import { registerAdminCommands } from "../src/cli/admin-commands.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { builds, deployments, nodeMetadata } from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { runCommands } from "./helpers/cli.js";
import { createUserWithToken } from "./helpers/users.js";

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("the call was not refused");
}

async function exhausted(promise: Promise<unknown>, message: RegExp) {
  const error = await refusal(promise);
  assert.equal(Code[error.code], "ResourceExhausted", error.rawMessage);
  assert.match(error.rawMessage, message);
}

describe("quotas per organization", () => {
  let t: TestPlatform;
  const db = () => t.platform.database.db;
  const orgs = () => t.client(OrganizationService);
  const deploymentsApi = (token?: string) => t.client(DeploymentService, token);

  /** An organization of the administrator's with a project; its id, slug and project id. */
  async function organization(slug: string) {
    const org = (await orgs().createOrganization({ name: slug, slug })).organization;
    assert.ok(org);
    const project = (
      await t.client(ProjectService).createProject({ organizationId: org.id, name: "app" })
    ).project;
    assert.ok(project);
    return { id: org.id, slug: org.slug, project: project.id };
  }

  const deploy = (
    project: string,
    name: string,
    extra: {
      replicas?: number;
      resources?: { cpuMillicores: number; memoryMb: number };
      domain?: string;
    } = {},
  ) =>
    deploymentsApi().createDeployment({
      projectId: project,
      name,
      gitRepo: `https://git.example.com/acme/${name}.git`,
      branch: "main",
      ...extra,
    });

  const deploymentCount = async (organizationId: string) =>
    (
      await db()
        .select({ n: count() })
        .from(deployments)
        .where(eq(deployments.organizationId, organizationId))
    )[0]?.n;

  before(async () => {
    t = await startTestPlatform({
      database: "postgres",
      env: {
        QUOTA_DEPLOYMENTS: "3",
        QUOTA_REPLICAS: "4",
        QUOTA_CPU_MILLICORES: "2000",
        QUOTA_MEMORY_MB: "1024",
        QUOTA_DOMAINS: "1",
        QUOTA_CONCURRENT_BUILDS: "100",
        QUOTA_CONCURRENT_STREAMS: "2",
        QUOTA_LOG_TAIL_LINES: "500",
        DEFAULT_CPU_MILLICORES: "500",
        DEFAULT_MEMORY_MB: "256",
      },
    });
  });
  after(() => t?.close());

  it("deployments: the fourth is refused, naming the quota, the limit and the use", async () => {
    const o = await organization("acme");
    for (const name of ["one", "two", "three"]) await deploy(o.project, name);
    await exhausted(
      deploy(o.project, "four"),
      /^organization acme has 3 of 3 deployments \(quota deployments\): delete one first, or ask a platform administrator to raise the quota$/,
    );
    assert.equal(await deploymentCount(o.id), 3, "nothing written");
  });

  it("two creates at once cannot both take the last slot", async () => {
    const o = await organization("racers");
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => deploy(o.project, `racer-${i}`)),
    );
    const created = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) =>
      r.status === "rejected" ? [ConnectError.from(r.reason)] : [],
    );
    assert.equal(created.length, 3, refused.map((e) => e.rawMessage).join("\n"));
    for (const error of refused) {
      assert.equal(Code[error.code], "ResourceExhausted", error.rawMessage);
      assert.match(error.rawMessage, /has 3 of 3 deployments \(quota deployments\)/);
    }
    assert.equal(await deploymentCount(o.id), 3);
  });

  it("replicas, CPU and memory count the deployments that should run", async () => {
    const o = await organization("sizes");
    await exhausted(
      deploy(o.project, "wide", { replicas: 5 }),
      /^organization sizes runs 0 of 4 replicas, and this needs 5 more \(quota replicas\)/,
    );
    const d = (
      await deploy(o.project, "web", {
        replicas: 2,
        resources: { cpuMillicores: 800, memoryMb: 300 },
      })
    ).deployment;
    assert.ok(d);
    await exhausted(
      deploymentsApi().scaleDeployment({ id: d.id, replicas: 3 }),
      /^organization sizes requests 1600m of 2000m CPU, and this needs 800m more \(quota cpu_millicores\)/,
    );
    await exhausted(
      deploymentsApi().updateDeployment({
        id: d.id,
        resources: { cpuMillicores: 800, memoryMb: 600 },
      }),
      /^organization sizes requests 600 MB of 1024 MB memory, and this needs 600 MB more \(quota memory_mb\)/,
    );
    // The platform's default limits count for a deployment that sets none.
    await exhausted(
      deploy(o.project, "defaults"),
      /requests 1600m of 2000m CPU, and this needs 500m more \(quota cpu_millicores\)/,
    );
    // A stopped deployment requests nothing; starting it again is checked.
    await deploymentsApi().stopDeployment({ id: d.id });
    const other = (await deploy(o.project, "other", { replicas: 2 })).deployment;
    assert.ok(other);
    await exhausted(
      deploymentsApi().startDeployment({ id: d.id }),
      /^organization sizes runs 2 of 4 replicas|requests 1000m of 2000m CPU, and this needs 1600m more/,
    );
    const quotas = await orgs().getQuotas({ organization: o.slug });
    const used = Object.fromEntries(quotas.quotas.map((q) => [q.name, Number(q.used)]));
    assert.deepEqual(
      { ...used, concurrent_streams: 0 },
      {
        deployments: 2,
        replicas: 2,
        cpu_millicores: 1000,
        memory_mb: 512,
        domains: 0,
        concurrent_builds: 1,
        concurrent_streams: 0,
        log_tail_lines: 0,
      },
    );
    // Lowering is always allowed.
    await deploymentsApi().scaleDeployment({ id: other.id, replicas: 1 });
  });

  it("custom domains", async () => {
    const o = await organization("domains");
    const d = (await deploy(o.project, "site", { domain: "www.first-domain.example" })).deployment;
    assert.ok(d);
    await exhausted(
      deploymentsApi().addDomain({ deploymentId: d.id, domain: "www.second-domain.example" }),
      /^organization domains has 1 of 1 custom domains \(quota domains\): remove one first/,
    );
  });

  it("concurrent builds: queued and running ones count, finished ones do not", async () => {
    const o = await organization("builders");
    await orgs().setQuotas({ organization: o.slug, limits: { concurrent_builds: 2n } });
    const first = (await deploy(o.project, "b1")).deployment;
    await deploy(o.project, "b2");
    await exhausted(
      deploy(o.project, "b3"),
      /^organization builders has 2 of 2 builds queued or running \(quota concurrent_builds\): wait until one finishes/,
    );
    assert.ok(first);
    // The first build is done (what the controller records): a slot is free again.
    const buildId = randomUUID();
    await db().insert(builds).values({
      id: buildId,
      deploymentId: first.id,
      status: "succeeded",
      gitRepo: first.gitRepo,
      branch: first.branch,
      imageId: "sha256:built",
    });
    await db()
      .update(deployments)
      .set({ currentBuildId: buildId, status: "running" })
      .where(eq(deployments.id, first.id));
    const third = (await deploy(o.project, "b3")).deployment;
    assert.ok(third);
    // A redeploy builds again: over the quota now.
    await exhausted(
      deploymentsApi().redeployDeployment({ id: first.id }),
      /has 2 of 2 builds queued or running \(quota concurrent_builds\)/,
    );
  });

  it("concurrent streams: the third open stream is refused, a closed one frees its place", async () => {
    const o = await organization("streamers");
    const d = (await deploy(o.project, "logs")).deployment;
    assert.ok(d);
    const buildId = randomUUID();
    await db().insert(builds).values({
      id: buildId,
      deploymentId: d.id,
      status: "running",
      gitRepo: d.gitRepo,
      branch: d.branch,
    });
    const open = () => {
      const controller = new AbortController();
      const done = (async () => {
        for await (const _ of deploymentsApi().streamBuildLogs(
          { buildId },
          { signal: controller.signal },
        )) {
          // A running build with no lines: the stream stays open, quiet.
        }
      })().catch((error: unknown) => ConnectError.from(error));
      return { controller, done };
    };
    const streamsInUse = async () =>
      Number(
        (await orgs().getQuotas({ organization: o.slug })).quotas.find(
          (q) => q.name === "concurrent_streams",
        )?.used,
      );
    const a = open();
    const b = open();
    for (let i = 0; i < 200 && (await streamsInUse()) < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(await streamsInUse(), 2);
    const c = open();
    const third = await Promise.race([
      c.done,
      new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 10_000).unref()),
    ]);
    if (!(third instanceof ConnectError)) {
      for (const s of [a, b, c]) s.controller.abort();
      assert.fail("the third stream was not refused");
    }
    assert.equal(Code[third.code], "ResourceExhausted", third.rawMessage);
    assert.match(
      third.rawMessage,
      /^organization streamers has 2 of 2 log and metrics streams open \(quota concurrent_streams\): close one first/,
    );
    a.controller.abort();
    await a.done;
    for (let i = 0; i < 200 && (await streamsInUse()) > 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(await streamsInUse(), 1);
    const d2 = open();
    for (let i = 0; i < 200 && (await streamsInUse()) < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(await streamsInUse(), 2);
    b.controller.abort();
    d2.controller.abort();
    await Promise.all([b.done, d2.done]);
  });

  it("log tail: a request over the limit is refused before any log is read", async () => {
    const o = await organization("tails");
    const d = (await deploy(o.project, "chatty")).deployment;
    assert.ok(d);
    await exhausted(
      deploymentsApi().getDeploymentLogs({ deploymentId: d.id, tail: 501 }),
      /^a log tail of 501 lines is over the limit of organization tails: at most 500 lines per request \(quota log_tail_lines\)/,
    );
    // Within the limit, the request goes on (to a runtime this API process does not have).
    const within = await refusal(
      deploymentsApi().getDeploymentLogs({ deploymentId: d.id, tail: 500 }),
    );
    assert.equal(Code[within.code], "Unavailable", within.rawMessage);
  });

  it("a platform administrator sets limits per organization; members read them, and only read", async () => {
    const o = await organization("tuned");
    const member = await createUserWithToken(t, `owner-${randomUUID().slice(0, 8)}@tuned.test`);
    await orgs().addMember({ organizationId: o.id, email: member.email, role: Role.OWNER });

    const set = await orgs().setQuotas({
      organization: o.slug,
      limits: { deployments: 5n, log_tail_lines: 50n },
    });
    const byName = (q: typeof set.quotas) => Object.fromEntries(q.map((x) => [x.name, x]));
    assert.equal(byName(set.quotas).deployments?.limit, 5n);
    assert.equal(byName(set.quotas).deployments?.overridden, true);
    assert.equal(byName(set.quotas).replicas?.overridden, false);

    const seen = await t
      .client(OrganizationService, member.token)
      .getQuotas({ organization: o.id });
    assert.equal(byName(seen.quotas).deployments?.limit, 5n);
    assert.equal(byName(seen.quotas).log_tail_lines?.limit, 50n);
    // An owner of the organization is not a platform administrator.
    const denied = await refusal(
      t
        .client(OrganizationService, member.token)
        .setQuotas({ organization: o.id, limits: { deployments: 1000n } }),
    );
    assert.equal(Code[denied.code], "PermissionDenied", denied.rawMessage);
    // Another organization's quotas are not to be seen: as if it did not exist.
    const outsider = await createUserWithToken(t, `outsider-${randomUUID().slice(0, 8)}@x.test`);
    const hidden = await refusal(
      t.client(OrganizationService, outsider.token).getQuotas({ organization: o.slug }),
    );
    assert.equal(Code[hidden.code], "NotFound", hidden.rawMessage);
    // Bad input: a clear error, nothing changed.
    for (const [limits, message] of [
      [{ deployment: 3n }, /unknown quota "deployment": one of deployments, replicas/],
      [{ deployments: 3_000_000_000n }, /quota deployments must be a whole number from 0 to/],
    ] as const) {
      const bad = await refusal(orgs().setQuotas({ organization: o.slug, limits }));
      assert.equal(Code[bad.code], "InvalidArgument", bad.rawMessage);
      assert.match(bad.rawMessage, message);
    }

    // The CLI: `obiente quotas set|get`.
    const target = { api: t.baseUrl, token: t.adminToken };
    const printed = await runCommands(
      [registerAdminCommands],
      ["quotas", "set", o.slug, "deployments=default", "replicas=7"],
      target,
    );
    assert.equal(printed[0], `tuned (${o.id})`);
    assert.match(printed[1] ?? "", /^QUOTA\s+USED\s+LIMIT\s+FROM$/);
    assert.ok(
      printed.some((l) => /^deployments\s+0\s+3\s+platform default$/.test(l)),
      printed.join("\n"),
    );
    assert.ok(printed.some((l) => /^replicas\s+0\s+7\s+set for this organization$/.test(l)));
    const read = await runCommands([registerAdminCommands], ["quotas", "get", o.id], {
      api: t.baseUrl,
      token: member.token,
    });
    assert.ok(read.some((l) => /^log_tail_lines\s+-\s+50\s+set for this organization$/.test(l)));
  });

  it("the resource fit check applies on one engine: a deployment larger than the engine is refused", async () => {
    const o = await organization("giants");
    await orgs().setQuotas({
      organization: o.slug,
      limits: { cpu_millicores: 1_000_000n, memory_mb: 1_000_000n, replicas: 100n },
    });
    // The engine this platform runs on, as its agent records it: 2 CPUs, 4 GiB.
    await db()
      .insert(nodeMetadata)
      .values({
        id: "engine-of-giants",
        hostname: "the-engine",
        address: "127.0.0.1",
        cpuCores: 2,
        memoryBytes: 4 * 1024 ** 3,
        labels: { compute: "true" },
        lastHeartbeat: new Date(),
      });
    try {
      await exhausted(
        deploy(o.project, "too-much-cpu", { resources: { cpuMillicores: 3000, memoryMb: 0 } }),
        /not enough CPU: 2000m free, 3000m requested/,
      );
      await exhausted(
        deploy(o.project, "too-many", { replicas: 5 }),
        /replica 5 of 5 .* not enough CPU: 0m free, 500m requested/,
      );
      await exhausted(
        deploy(o.project, "too-much-memory", { resources: { cpuMillicores: 0, memoryMb: 8192 } }),
        /not enough memory/,
      );
      assert.equal(await deploymentCount(o.id), 0);
      // What fits, fits.
      await deploy(o.project, "fits", { replicas: 4 });
    } finally {
      await db().delete(nodeMetadata).where(eq(nodeMetadata.id, "engine-of-giants"));
    }
  });
});
