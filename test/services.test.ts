/**
 * The domain services (organizations, projects, deployments, accounts, bootstrap) called
 * directly, with an AppContext built here, on both store drivers: PGlite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { and, count, eq, sql } from "drizzle-orm";
import pino from "pino";
import { bootstrap } from "../src/accounts/bootstrap.js";
import { storeAuthLookups } from "../src/accounts/lookups.js";
import { AccountService } from "../src/accounts/service.js";
import {
  accountServiceDeps,
  deploymentServiceDeps,
  organizationServiceDeps,
  projectServiceDeps,
} from "../src/app/service-deps.js";
import type { Principal } from "../src/auth/principal.js";
import { loadConfig } from "../src/config/config.js";
import type { AppContext } from "../src/core/index.js";
import {
  generateMasterKey,
  hashApiToken,
  looksLikeApiToken,
  parseMasterKey,
  SecretBox,
} from "../src/crypto/index.js";
import { type StatusEvent, statusChannel } from "../src/deployments/events.js";
import { DeploymentService } from "../src/deployments/service.js";
import { DomainError } from "../src/domain/errors.js";
import * as valid from "../src/domain/validation.js";
import { OrganizationService } from "../src/organizations/service.js";
import { createPlatformServices, type PlatformServices } from "../src/platform/index.js";
import { ProjectService } from "../src/projects/service.js";
import { type Database, openDatabase } from "../src/store/database.js";
import {
  apiTokens,
  auditLog,
  builds,
  deploymentLocations,
  deployments as deploymentsTable,
  domains,
  envVars,
  memberships,
  organizations,
  projects as projectsTable,
  users,
} from "../src/store/schema.js";
import { type TestDatabase, testDrivers } from "./helpers/databases.js";
import { createUserWithTokenInDb, type TestUser } from "./helpers/users.js";

/** Awaits `promise` and checks it failed with a DomainError of this kind (and message). */
async function rejectsWith(
  promise: Promise<unknown>,
  kind: DomainError["kind"],
  message?: RegExp,
): Promise<DomainError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof DomainError,
    `expected a DomainError (${kind}), got ${String(caught)}`,
  );
  assert.equal(caught.kind, kind, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const repo = (name: string) => `https://git.example.com/acme/${name}.git`;

for (const driver of testDrivers) {
  describe(`domain services on ${driver.name}`, () => {
    let database: TestDatabase;
    let services: PlatformServices;
    let ctx: AppContext;
    let orgs: OrganizationService;
    let projects: ProjectService;
    let deployments: DeploymentService;
    let accounts: AccountService;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;

    before(async () => {
      database = await driver.open();
      services = await createPlatformServices({});
      ctx = {
        // No controller runs here, so deployments stay queued: the build quota would refuse the
        // fifth. Quotas have their own test (test/quotas.test.ts).
        config: loadConfig({ LOG_LEVEL: "silent", QUOTA_CONCURRENT_BUILDS: "1000" }),
        db: database.db,
        services,
        secrets: new SecretBox(parseMasterKey(generateMasterKey())),
        logger: pino({ level: "silent" }),
        now: () => new Date(),
      };
      orgs = new OrganizationService(organizationServiceDeps(ctx));
      projects = new ProjectService(projectServiceDeps(ctx));
      deployments = new DeploymentService(deploymentServiceDeps(ctx));
      accounts = new AccountService(accountServiceDeps(ctx));
      alice = await createUserWithTokenInDb(database.db, "alice@acme.test");
      bob = await createUserWithTokenInDb(database.db, "bob@other.test");
      carol = await createUserWithTokenInDb(database.db, "carol@acme.test");
    });
    after(async () => {
      await services?.close();
      await database?.close();
    });

    const auditCount = async (action: string, resourceId?: string) => {
      const [row] = await database.db
        .select({ n: count() })
        .from(auditLog)
        .where(
          resourceId === undefined
            ? eq(auditLog.action, action)
            : and(eq(auditLog.action, action), eq(auditLog.resourceId, resourceId)),
        );
      return row?.n ?? 0;
    };

    /** An organization of `owner` with one project. */
    async function orgWithProject(owner: Principal, name: string) {
      const org = await orgs.create(owner, { name });
      const project = await projects.create(owner, { organizationId: org.id, name: "Shop" });
      return { org, project };
    }

    describe("OrganizationService", () => {
      it("creates an organization whose creator is its owner, audited", async () => {
        const org = await orgs.create(alice.principal, { name: "Acme Rockets!" });
        assert.equal(org.slug, "acme-rockets");
        assert.equal(org.role, "owner");
        const members = await orgs.listMembers(alice.principal, org.id);
        assert.deepEqual(
          members.map((m) => [m.email, m.role]),
          [["alice@acme.test", "owner"]],
        );
        assert.equal(await auditCount("organization.create", org.id), 1);
      });

      it("refuses a slug that is taken, and derives a free one from a taken name", async () => {
        await orgs.create(alice.principal, { name: "Taken", slug: "taken-slug" });
        await rejectsWith(
          orgs.create(bob.principal, { name: "Other", slug: "taken-slug" }),
          "already_exists",
          /slug "taken-slug" already exists/,
        );
        const second = await orgs.create(bob.principal, { name: "Taken Slug" });
        assert.match(second.slug, /^taken-slug-[0-9a-f]{6}$/);
      });

      it("creates organizations of one name at once, each with its own slug", async () => {
        const created = await Promise.all(
          Array.from({ length: 5 }, () => orgs.create(alice.principal, { name: "Same Name" })),
        );
        assert.equal(new Set(created.map((o) => o.slug)).size, 5);
        for (const org of created) valid.slug("slug", org.slug);
      });

      it("shows an organization only to its members", async () => {
        const { org } = await orgWithProject(alice.principal, "Private Co");
        await rejectsWith(orgs.get(bob.principal, org.id), "not_found", /^organization not found$/);
        await rejectsWith(orgs.listMembers(bob.principal, org.id), "not_found");
        assert.ok((await orgs.list(bob.principal)).every((o) => o.id !== org.id));
        assert.ok((await orgs.list(alice.principal)).some((o) => o.id === org.id));
      });

      it("adds members by email, creating the user once", async () => {
        const org = await orgs.create(alice.principal, { name: "Members Inc" });
        const member = await orgs.addMember(alice.principal, {
          organizationId: org.id,
          email: "  New.Person@Example.COM ",
          role: "developer",
        });
        assert.equal(member.email, "new.person@example.com");
        await rejectsWith(
          orgs.addMember(alice.principal, {
            organizationId: org.id,
            email: "new.person@example.com",
            role: "viewer",
          }),
          "already_exists",
          /already a member \(developer\)/,
        );
        const rows = await database.db
          .select()
          .from(users)
          .where(sql`lower(${users.email}) = 'new.person@example.com'`);
        assert.equal(rows.length, 1);
        assert.equal(await auditCount("member.add", member.userId), 1);
      });

      it("adds the same new email to two organizations at once: one user", async () => {
        const one = await orgs.create(alice.principal, { name: "Race One" });
        const two = await orgs.create(bob.principal, { name: "Race Two" });
        const email = `racer-${randomUUID().slice(0, 8)}@example.com`;
        const [a, b] = await Promise.all([
          orgs.addMember(alice.principal, { organizationId: one.id, email, role: "viewer" }),
          orgs.addMember(bob.principal, { organizationId: two.id, email, role: "viewer" }),
        ]);
        assert.equal(a.userId, b.userId);
      });

      it("adds the same email to one organization twice at once: one AlreadyExists", async () => {
        const org = await orgs.create(alice.principal, { name: "Race Same" });
        const email = `twice-${randomUUID().slice(0, 8)}@example.com`;
        const results = await Promise.allSettled([
          orgs.addMember(alice.principal, { organizationId: org.id, email, role: "viewer" }),
          orgs.addMember(alice.principal, { organizationId: org.id, email, role: "viewer" }),
        ]);
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        const failed = results.find((r) => r.status === "rejected");
        assert.ok(failed?.status === "rejected");
        assert.ok(failed.reason instanceof DomainError, String(failed.reason));
        assert.equal(failed.reason.kind, "already_exists");
      });

      it("keeps an owner, and ownership is an owner's to give", async () => {
        const org = await orgs.create(alice.principal, { name: "Owners" });
        await orgs.addMember(alice.principal, {
          organizationId: org.id,
          email: carol.email,
          role: "admin",
        });
        await rejectsWith(
          orgs.removeMember(alice.principal, { organizationId: org.id, userId: alice.userId }),
          "failed_precondition",
          /at least one owner/,
        );
        await rejectsWith(
          orgs.updateMemberRole(alice.principal, {
            organizationId: org.id,
            userId: alice.userId,
            role: "admin",
          }),
          "failed_precondition",
        );
        await rejectsWith(
          orgs.updateMemberRole(carol.principal, {
            organizationId: org.id,
            userId: carol.userId,
            role: "owner",
          }),
          "permission_denied",
          /only an owner/,
        );
        await rejectsWith(
          orgs.removeMember(carol.principal, { organizationId: org.id, userId: alice.userId }),
          "permission_denied",
        );
        await rejectsWith(orgs.delete(carol.principal, org.id), "permission_denied");
        await orgs.updateMemberRole(alice.principal, {
          organizationId: org.id,
          userId: carol.userId,
          role: "owner",
        });
        // Two owners: either may now step down.
        await orgs.removeMember(alice.principal, { organizationId: org.id, userId: alice.userId });
        await rejectsWith(orgs.get(alice.principal, org.id), "not_found");
      });

      it("deletes an organization only once its deployments are gone", async () => {
        const { org, project } = await orgWithProject(alice.principal, "Short Lived");
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          gitRepo: repo("short"),
          branch: "main",
        });
        await rejectsWith(
          orgs.delete(alice.principal, org.id),
          "failed_precondition",
          /deployments/,
        );
        await deployments.delete(alice.principal, d.id);
        await orgs.delete(alice.principal, org.id);
        const left = await database.db
          .select({ n: count() })
          .from(projectsTable)
          .where(eq(projectsTable.organizationId, org.id));
        assert.equal(left[0]?.n, 0);
        const members = await database.db
          .select({ n: count() })
          .from(memberships)
          .where(eq(memberships.organizationId, org.id));
        assert.equal(members[0]?.n, 0);
        assert.equal(await auditCount("organization.delete", org.id), 1);
      });
    });

    describe("ProjectService", () => {
      it("creates, lists, renames and deletes projects", async () => {
        const org = await orgs.create(alice.principal, { name: "Projects Ltd" });
        const web = await projects.create(alice.principal, {
          organizationId: org.id,
          name: "Web Site",
          description: "  the site ",
        });
        assert.equal(web.slug, "web-site");
        assert.equal(web.description, "the site");
        await projects.create(alice.principal, { organizationId: org.id, name: "API" });
        assert.deepEqual(
          (await projects.list(alice.principal, org.id)).map((p) => p.name),
          ["API", "Web Site"],
        );
        await rejectsWith(
          projects.create(alice.principal, { organizationId: org.id, name: "web site" }),
          "already_exists",
          /"web-site" already exists/,
        );
        await rejectsWith(
          projects.create(alice.principal, { organizationId: org.id, name: "???" }),
          "invalid_argument",
          /at least one letter or digit/,
        );
        const renamed = await projects.update(alice.principal, { id: web.id, name: "Website" });
        assert.equal(renamed.name, "Website");
        assert.equal(renamed.slug, "web-site", "the slug stays: it is in domains and names");
        await rejectsWith(projects.get(bob.principal, web.id), "not_found", /^project not found$/);
        await projects.delete(alice.principal, web.id);
        await rejectsWith(projects.get(alice.principal, web.id), "not_found");
        for (const action of ["project.create", "project.update", "project.delete"]) {
          assert.equal(await auditCount(action, web.id), 1, action);
        }
      });

      it("refuses to delete a project that has deployments", async () => {
        const { project } = await orgWithProject(alice.principal, "Busy Projects");
        await deployments.create(alice.principal, {
          projectId: project.id,
          gitRepo: repo("busy"),
          branch: "main",
        });
        await rejectsWith(
          projects.delete(alice.principal, project.id),
          "failed_precondition",
          /still has deployments/,
        );
      });

      it("lets a viewer read and nothing more", async () => {
        const { org, project } = await orgWithProject(alice.principal, "Viewed");
        await orgs.addMember(alice.principal, {
          organizationId: org.id,
          email: carol.email,
          role: "viewer",
        });
        assert.equal((await projects.get(carol.principal, project.id)).id, project.id);
        await rejectsWith(
          projects.update(carol.principal, { id: project.id, name: "Nope" }),
          "permission_denied",
          /\(viewer\) cannot do this: it needs developer/,
        );
        await rejectsWith(
          projects.create(carol.principal, { organizationId: org.id, name: "Nope" }),
          "permission_denied",
        );
      });
    });

    describe("DeploymentService", () => {
      let org: Awaited<ReturnType<typeof orgWithProject>>["org"];
      let project: Awaited<ReturnType<typeof orgWithProject>>["project"];

      before(async () => {
        ({ org, project } = await orgWithProject(alice.principal, "Deployers"));
      });

      it("creates a queued deployment with a default and a custom domain, audited", async () => {
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          gitRepo: repo("storefront"),
          branch: "main",
          domain: "Shop.Example.COM.",
          envVars: { API_KEY: "k" },
        });
        assert.equal(d.name, "storefront");
        assert.equal(d.status, "queued");
        assert.equal(d.replicas, 1);
        assert.deepEqual(d.domains, ["storefront.localhost", "shop.example.com"]);
        assert.equal(await auditCount("deployment.create", d.id), 1);
        const [audit] = await database.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.action, "deployment.create"), eq(auditLog.resourceId, d.id)));
        assert.deepEqual(audit?.details.envKeys, ["API_KEY"]);
        assert.ok(!JSON.stringify(audit?.details).includes('"k"'));
      });

      it("keeps env vars encrypted at rest, readable with the right key only", async () => {
        const plaintext = "sk_live_51HcQ7PlainTextSecretValue";
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "secrets",
          gitRepo: repo("secrets"),
          branch: "main",
          envVars: { STRIPE_KEY: plaintext, OTHER: "other-value" },
        });
        const rows = await database.db.select().from(envVars).where(eq(envVars.deploymentId, d.id));
        const stored = rows.find((r) => r.key === "STRIPE_KEY");
        assert.ok(stored);
        for (const encoding of ["utf8", "base64", "base64url", "hex"] as const) {
          const encoded = Buffer.from(plaintext).toString(encoding);
          assert.ok(!stored.valueEncrypted.includes(encoded), `the stored value holds ${encoding}`);
        }
        assert.ok(!stored.valueEncrypted.includes("sk_live"));
        assert.match(stored.valueEncrypted, /^v1:[0-9a-f]{8}:/);
        // The service decrypts with its key.
        assert.deepEqual(await deployments.envFor(d.id), {
          STRIPE_KEY: plaintext,
          OTHER: "other-value",
        });
        // Another master key cannot.
        const otherKey = new DeploymentService(
          deploymentServiceDeps({
            ...ctx,
            secrets: new SecretBox(parseMasterKey(generateMasterKey())),
          }),
        );
        await rejectsWith(otherKey.envFor(d.id), "internal", /cannot decrypt/);
        assert.throws(
          () =>
            new SecretBox(parseMasterKey(generateMasterKey())).decrypt(
              stored.valueEncrypted,
              `env:${d.id}:STRIPE_KEY`,
            ),
          /cannot decrypt/,
        );
        // A ciphertext copied to another key does not decrypt there.
        await database.db
          .update(envVars)
          .set({ valueEncrypted: stored.valueEncrypted })
          .where(and(eq(envVars.deploymentId, d.id), eq(envVars.key, "OTHER")));
        await rejectsWith(deployments.envFor(d.id), "internal", /associated data/);
        // Setting again overwrites with a fresh ciphertext and keeps other keys.
        await deployments.setEnvVars(alice.principal, d.id, { OTHER: "fixed", NEW: "n" });
        const after = await deployments.envFor(d.id);
        assert.deepEqual(after, { STRIPE_KEY: plaintext, OTHER: "fixed", NEW: "n" });
        const [again] = await database.db
          .select()
          .from(envVars)
          .where(and(eq(envVars.deploymentId, d.id), eq(envVars.key, "OTHER")));
        assert.notEqual(again?.valueEncrypted, stored.valueEncrypted);
        const audits = await database.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.resourceId, d.id), eq(auditLog.action, "env_vars.set")));
        assert.equal(audits.length, 1);
        assert.deepEqual(audits[0]?.details.keys, ["OTHER", "NEW"]);
        assert.ok(!JSON.stringify(audits).includes("fixed"));
      });

      it("shows env var values to developers, keys only to viewers", async () => {
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "env-view",
          gitRepo: repo("env-view"),
          branch: "main",
          envVars: { TOKEN: "t0k3n" },
        });
        await orgs.addMember(alice.principal, {
          organizationId: org.id,
          email: carol.email,
          role: "viewer",
        });
        assert.deepEqual(await deployments.listEnvVars(carol.principal, d.id), [
          { key: "TOKEN", value: "" },
        ]);
        assert.deepEqual(await deployments.listEnvVars(alice.principal, d.id), [
          { key: "TOKEN", value: "t0k3n" },
        ]);
        await rejectsWith(
          deployments.setEnvVars(carol.principal, d.id, { TOKEN: "x" }),
          "permission_denied",
        );
        await rejectsWith(deployments.listEnvVars(bob.principal, d.id), "not_found");
      });

      it("gives a domain to one deployment on the whole platform", async () => {
        const mine = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "unique-domain",
          gitRepo: repo("unique"),
          branch: "main",
          domain: "www.unique.example",
        });
        const other = await orgWithProject(bob.principal, "Other Org Name");
        // A claim alone proves nothing: while alice's is pending, bob may claim the name too.
        const early = await deployments.create(bob.principal, {
          projectId: other.project.id,
          name: "early-claim",
          gitRepo: repo("early"),
          branch: "main",
          domain: "www.unique.example",
        });
        assert.ok(early.domains.includes("www.unique.example"));
        await deployments.delete(bob.principal, early.id);
        // Alice proves she owns it (what VerifyDomain records once the TXT record is found;
        // test/domain-verification.test.ts does it through DNS): now it is hers alone.
        await database.db
          .update(domains)
          .set({ status: "verified", verifiedAt: new Date() })
          .where(and(eq(domains.domain, "www.unique.example"), eq(domains.deploymentId, mine.id)));
        const refused = await rejectsWith(
          deployments.create(bob.principal, {
            projectId: other.project.id,
            name: "copycat",
            gitRepo: repo("copycat"),
            branch: "main",
            domain: "WWW.Unique.Example",
          }),
          "already_exists",
          /^the domain www\.unique\.example is already in use$/,
        );
        assert.ok(!refused.message.includes(org.name));
        const theirs = await deployments.create(bob.principal, {
          projectId: other.project.id,
          name: "copycat",
          gitRepo: repo("copycat"),
          branch: "main",
        });
        await rejectsWith(
          deployments.addDomain(bob.principal, theirs.id, "www.unique.example"),
          "already_exists",
          /already in use/,
        );
        // Nor may anyone take a name under the platform's domain.
        await rejectsWith(
          deployments.addDomain(bob.principal, theirs.id, "unique-domain.localhost"),
          "invalid_argument",
          /under the platform's domain/,
        );
        // Once removed, it is free again.
        await deployments.removeDomain(alice.principal, mine.id, "www.unique.example");
        const added = await deployments.addDomain(bob.principal, theirs.id, "www.unique.example");
        assert.equal(added.deploymentId, theirs.id);
        assert.equal(added.organizationId, other.org.id);
        await rejectsWith(
          deployments.removeDomain(alice.principal, mine.id, "unique-domain.localhost"),
          "failed_precondition",
          /default domain cannot be removed/,
        );
      });

      it("gives deployments of one name in several projects their own default domains, even at once", async () => {
        const longSlugProject = await projects.create(alice.principal, {
          organizationId: org.id,
          name: "p".repeat(40),
        });
        const more = await Promise.all(
          ["Two", "Three", "Four", "Five"].map((name) =>
            projects.create(alice.principal, { organizationId: org.id, name }),
          ),
        );
        const all = [project, longSlugProject, ...more];
        // 40 characters, the longest name: with the project slug it is over a DNS label's 63.
        const names = [`n${"x".repeat(38)}z`, "race-a", "race-b", "race-c"];
        for (const name of names) {
          const created = await Promise.all(
            all.map((p) =>
              deployments.create(alice.principal, {
                projectId: p.id,
                name,
                gitRepo: repo("same"),
                branch: "main",
              }),
            ),
          );
          const defaults = created.map((d) => d.domains[0] ?? "");
          assert.equal(new Set(defaults).size, created.length, defaults.join(", "));
          for (const domain of defaults) {
            assert.ok(domain.endsWith(".localhost"), domain);
            // Each a valid host name: every label at most 63 characters.
            assert.equal(valid.domain(domain), domain);
          }
          for (const d of created) await deployments.delete(alice.principal, d.id);
        }
      });

      it("publishes status events when stopped and scaled", async () => {
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "eventful",
          gitRepo: repo("eventful"),
          branch: "main",
        });
        const events: StatusEvent[] = [];
        const unsubscribe = await services.bus.subscribe(statusChannel(d.id), (message) => {
          events.push(message as StatusEvent);
        });
        try {
          const stopped = await deployments.stop(alice.principal, d.id);
          assert.equal(stopped.desiredState, "stopped");
          await until(() => events.length >= 1, "the stop event");
          const scaled = await deployments.scale(alice.principal, d.id, 3);
          assert.equal(scaled.replicas, 3);
          await until(() => events.length >= 2, "the scale event");
          for (const event of events) {
            assert.equal(event.deploymentId, d.id);
            assert.equal(event.organizationId, org.id);
            assert.ok(!Number.isNaN(Date.parse(event.at)));
          }
          await rejectsWith(
            deployments.restart(alice.principal, d.id),
            "failed_precondition",
            /stopped: start it instead/,
          );
          assert.equal(await auditCount("deployment.stop", d.id), 1);
          const [scaleAudit] = await database.db
            .select()
            .from(auditLog)
            .where(and(eq(auditLog.action, "deployment.scale"), eq(auditLog.resourceId, d.id)));
          assert.deepEqual(scaleAudit?.details, { from: 1, to: 3, via: "api_token" });
          // A refused change publishes nothing.
          const before = events.length;
          await rejectsWith(deployments.scale(alice.principal, d.id, 0), "invalid_argument");
          await rejectsWith(deployments.scale(carol.principal, d.id, 2), "permission_denied");
          await new Promise((resolve) => setTimeout(resolve, 50));
          assert.equal(events.length, before);
        } finally {
          await unsubscribe();
        }
      });

      it("streams the current status, then changes, to a watcher", async () => {
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "watched",
          gitRepo: repo("watched"),
          branch: "main",
        });
        const controller = new AbortController();
        const watch = deployments.watchStatus(alice.principal, d.id, controller.signal);
        try {
          const first = await watch.next();
          assert.equal(first.value?.status, "queued");
          const next = watch.next();
          await deployments.scale(alice.principal, d.id, 2);
          const second = await next;
          assert.equal(second.value?.deploymentId, d.id);
          const deleted = watch.next();
          await deployments.delete(alice.principal, d.id);
          assert.equal((await deleted).value?.status, "deleting");
          assert.equal((await watch.next()).done, true, "the stream ends once deleted");
        } finally {
          controller.abort();
          await watch.return(undefined);
        }
        await rejectsWith(
          deployments.watchStatus(bob.principal, d.id, controller.signal).next(),
          "not_found",
        );
      });

      it("rolls back only to a successful build of its own", async () => {
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "rollback",
          gitRepo: repo("rollback"),
          branch: "main",
        });
        const good = randomUUID();
        const bad = randomUUID();
        await database.db.insert(builds).values([
          {
            id: good,
            deploymentId: d.id,
            status: "succeeded",
            gitRepo: d.gitRepo,
            branch: "main",
            imageId: "img:1",
          },
          { id: bad, deploymentId: d.id, status: "failed", gitRepo: d.gitRepo, branch: "main" },
        ]);
        await rejectsWith(
          deployments.rollback(alice.principal, d.id, bad),
          "failed_precondition",
          /did not succeed/,
        );
        await rejectsWith(deployments.rollback(alice.principal, d.id, randomUUID()), "not_found");
        const rolled = await deployments.rollback(alice.principal, d.id, good);
        assert.equal(rolled.currentBuildId, good);
        assert.equal(rolled.status, "deploying");
        assert.deepEqual(
          (await deployments.listBuilds(alice.principal, d.id)).map((b) => b.id).sort(),
          [good, bad].sort(),
        );
      });

      it("deletes a deployment that never ran at once, with its env vars and domains", async () => {
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "doomed",
          gitRepo: repo("doomed"),
          branch: "main",
          domain: "doomed.example.org",
          envVars: { A: "1" },
        });
        const events: StatusEvent[] = [];
        const unsubscribe = await services.bus.subscribe(statusChannel(d.id), (m) => {
          events.push(m as StatusEvent);
        });
        try {
          await deployments.delete(alice.principal, d.id);
          await until(() => events.length >= 1, "the deleted event");
          assert.equal(events[0]?.status, "deleting");
          assert.equal(events[0]?.message, "deleted");
        } finally {
          await unsubscribe();
        }
        await rejectsWith(deployments.get(alice.principal, d.id), "not_found");
        const left = await Promise.all([
          database.db
            .select({ n: count() })
            .from(deploymentsTable)
            .where(eq(deploymentsTable.id, d.id)),
          database.db.select({ n: count() }).from(envVars).where(eq(envVars.deploymentId, d.id)),
          database.db.select({ n: count() }).from(domains).where(eq(domains.deploymentId, d.id)),
        ]);
        assert.deepEqual(
          left.map(([row]) => row?.n),
          [0, 0, 0],
        );
        assert.equal(await auditCount("deployment.delete", d.id), 1);
      });

      it("marks a running deployment for the controller to delete, and hides it", async () => {
        const d = await deployments.create(alice.principal, {
          projectId: project.id,
          name: "running",
          gitRepo: repo("running"),
          branch: "main",
        });
        await database.db
          .insert(deploymentLocations)
          .values({ id: randomUUID(), deploymentId: d.id, nodeId: "node-1", containerId: "c1" });
        await deployments.delete(alice.principal, d.id);
        const [row] = await database.db
          .select()
          .from(deploymentsTable)
          .where(eq(deploymentsTable.id, d.id));
        assert.equal(row?.desiredState, "deleted");
        assert.equal(row?.status, "deleting");
        await rejectsWith(deployments.get(alice.principal, d.id), "not_found");
        const listed = await deployments.list(alice.principal, { projectId: project.id });
        assert.ok(listed.every((x) => x.id !== d.id));
        await rejectsWith(deployments.delete(alice.principal, d.id), "not_found");
      });
    });

    describe("AccountService", () => {
      it("creates a token whose secret is shown once and only hashed in the store", async () => {
        const { token, record } = await accounts.createApiToken(alice.principal, {
          name: "ci",
          expiresInDays: 30,
        });
        assert.ok(looksLikeApiToken(token), token);
        assert.ok(!("tokenHash" in record) && !("userId" in record));
        assert.equal(record.prefix, token.slice(0, 12));
        const [row] = await database.db.select().from(apiTokens).where(eq(apiTokens.id, record.id));
        assert.ok(row);
        assert.equal(row.tokenHash, hashApiToken(token));
        assert.ok(!JSON.stringify(row).includes(token), "the store holds the token itself");
        assert.ok(
          !JSON.stringify(row).includes(token.slice(12)),
          "the store holds its secret part",
        );
        const days = ((row.expiresAt?.getTime() ?? 0) - Date.now()) / 86_400_000;
        assert.ok(days > 29.9 && days <= 30, String(days));
        const found = await storeAuthLookups(database.db).findApiToken(hashApiToken(token));
        assert.equal(found?.userId, alice.userId);
        assert.equal(await auditCount("api_token.create", record.id), 1);
        const [audit] = await database.db
          .select()
          .from(auditLog)
          .where(eq(auditLog.resourceId, record.id));
        assert.ok(!JSON.stringify(audit).includes(token.slice(12)));
      });

      it("lists only the caller's tokens, and revokes only them", async () => {
        const { record: mine } = await accounts.createApiToken(bob.principal, {
          name: "bob's",
          expiresInDays: 0,
        });
        const bobs = await accounts.listApiTokens(bob.principal);
        assert.ok(bobs.some((t) => t.id === mine.id));
        assert.ok(bobs.every((t) => !("tokenHash" in t)));
        const alices = await accounts.listApiTokens(alice.principal);
        assert.ok(alices.every((t) => t.id !== mine.id));
        await rejectsWith(
          accounts.revokeApiToken(alice.principal, mine.id),
          "not_found",
          /^api token not found$/,
        );
        await accounts.revokeApiToken(bob.principal, mine.id);
        const [row] = await database.db.select().from(apiTokens).where(eq(apiTokens.id, mine.id));
        assert.ok(row?.revokedAt instanceof Date);
        assert.equal(row?.expiresAt, null);
        assert.equal(await auditCount("api_token.revoke", mine.id), 1);
      });

      it("refuses bad token input", async () => {
        await rejectsWith(
          accounts.createApiToken(alice.principal, { name: " ", expiresInDays: 0 }),
          "invalid_argument",
          /name must not be empty/,
        );
        await rejectsWith(
          accounts.createApiToken(alice.principal, { name: "x", expiresInDays: 3651 }),
          "invalid_argument",
          /expires_in_days/,
        );
        await rejectsWith(accounts.revokeApiToken(alice.principal, "nope"), "invalid_argument");
      });

      it("tells who the caller is and where they belong", async () => {
        const me = await accounts.whoAmI(bob.principal);
        assert.equal(me.user.email, "bob@other.test");
        assert.equal(me.method, "api_token");
        assert.ok(me.memberships.length > 0);
        assert.ok(me.memberships.every((m) => m.organization.id.length === 36));
      });
    });

    describe("bootstrap", () => {
      it(`creates the first administrator exactly once, even when called 3 times at once${driver.name === "postgres" ? " from 3 connections" : ""}`, async () => {
        const fresh = await driver.open();
        const extra: Database[] = [];
        try {
          // On PostgreSQL, three pools on the fresh database: as three processes starting at once.
          const dbs =
            driver.name === "postgres" && fresh.url
              ? await Promise.all(
                  [1, 2, 3].map(async () => {
                    const db = await openDatabase({ url: fresh.url, maxConnections: 1 });
                    extra.push(db);
                    return db.db;
                  }),
                )
              : [fresh.db, fresh.db, fresh.db];
          const results = await Promise.all(dbs.map((db) => bootstrap(db, "root@example.test")));
          const created = results.filter((r) => r !== undefined);
          assert.equal(created.length, 1);
          const first = created[0];
          assert.ok(first);
          const counts = async () => {
            const out: Record<string, number> = {};
            for (const [name, table] of Object.entries({
              users,
              organizations,
              memberships,
              apiTokens,
            })) {
              const [row] = await fresh.db.select({ n: count() }).from(table);
              out[name] = row?.n ?? 0;
            }
            return out;
          };
          assert.deepEqual(await counts(), {
            users: 1,
            organizations: 1,
            memberships: 1,
            apiTokens: 1,
          });
          const [admin] = await fresh.db.select().from(users);
          assert.equal(admin?.platformAdmin, true);
          assert.equal(admin?.email, "root@example.test");
          const [token] = await fresh.db.select().from(apiTokens);
          assert.equal(token?.tokenHash, hashApiToken(first.token));
          const [membership] = await fresh.db.select().from(memberships);
          assert.equal(membership?.role, "owner");
          const audits = await fresh.db
            .select()
            .from(auditLog)
            .where(eq(auditLog.action, "platform.bootstrap"));
          assert.equal(audits.length, 1);
          assert.ok(!JSON.stringify(audits).includes(first.token));
          // Later starts change nothing.
          assert.equal(await bootstrap(fresh.db, "other@example.test"), undefined);
          assert.deepEqual(await counts(), {
            users: 1,
            organizations: 1,
            memberships: 1,
            apiTokens: 1,
          });
        } finally {
          for (const db of extra) await db.close();
          await fresh.close();
        }
      });
    });
  });
}
