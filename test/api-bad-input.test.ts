/**
 * Bad input through the real API on a real PostgreSQL: every case gets InvalidArgument, NotFound
 * or AlreadyExists with a message a person understands, and changes nothing (docs/architecture.md,
 * "Security": "Bad input gets a clear error and changes nothing"). Each case compares the row
 * count and a digest of every table, the audit log included, before and after.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { is, sql } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeService } from "../src/gen/obiente/cloud/node/v1/node_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { executeRows } from "../src/store/database.js";
import * as schema from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { createUserWithToken } from "./helpers/users.js";

/** An error answer, whichever way it came: a Connect client, the Connect protocol, or REST. */
interface Failure {
  code: string;
  message: string;
  /** The HTTP status, for raw requests. */
  status?: number;
}

interface BadCase {
  name: string;
  run: () => Promise<unknown>;
  code: "invalid_argument" | "not_found" | "already_exists";
  message: RegExp;
  /** Strings the message must not hold (another organization's names). */
  hides?: string[];
  status?: number;
}

const tableNames = Object.values(schema as Record<string, unknown>)
  .filter((value): value is PgTable => is(value, PgTable))
  .map((table) => getTableConfig(table).name)
  .sort();

const snake = (code: Code) => Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();

describe("bad input through the API (PostgreSQL)", () => {
  let t: TestPlatform;
  const ids = {
    org: "",
    project: "",
    deployment: "",
    otherOrgName: "Zeta Holdings",
    otherOrgSlug: "zeta-holdings",
    otherOrg: "",
    otherDeployment: "",
  };
  const takenDomain = "taken.zeta.example";
  /** An id that exists nowhere (fixed for the file, since case names quote it). */
  const unknown = randomUUID();

  const org = () => t.client(OrganizationService);
  const project = () => t.client(ProjectService);
  const deployment = () => t.client(DeploymentService);

  /** Every table: its row count and a digest of its rows (api_tokens without last_used_at). */
  async function state(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const table of tableNames) {
      const [row] = await executeRows<{ n: number | string; h: string | null }>(
        t.platform.database.db,
        sql`SELECT count(*)::int AS n,
                   md5(string_agg((to_jsonb(x) - 'last_used_at')::text, ',' ORDER BY (to_jsonb(x) - 'last_used_at')::text)) AS h
            FROM ${sql.identifier(table)} x`,
      );
      out[table] = `${row?.n} rows, ${row?.h ?? "-"}`;
    }
    return out;
  }

  async function failure(run: () => Promise<unknown>): Promise<Failure> {
    let value: unknown;
    try {
      value = await run();
    } catch (error) {
      const e = ConnectError.from(error);
      return { code: snake(e.code), message: e.rawMessage };
    }
    if (value && typeof value === "object" && "status" in value && "body" in value) {
      const raw = value as { status: number; body: { code?: string; message?: string } };
      if (raw.status >= 400) {
        return { code: raw.body.code ?? "?", message: raw.body.message ?? "", status: raw.status };
      }
    }
    assert.fail(
      `the call succeeded: ${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`,
    );
  }

  /** A raw HTTP request with the admin's token; the answer's status and JSON body. */
  async function raw(path: string, body: string, contentType = "application/json") {
    const res = await fetch(`${t.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": contentType, authorization: `Bearer ${t.adminToken}` },
      body,
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { code: "?", message: `not JSON: ${text.slice(0, 200)}` };
    }
    return { status: res.status, body: parsed as { code?: string; message?: string } };
  }

  before(async () => {
    t = await startTestPlatform({ database: "postgres" });
    const me = await t.client(AuthService).whoAmI({});
    const home = me.memberships[0];
    assert.ok(home);
    ids.org = home.organizationId;
    const p = (await project().createProject({ organizationId: ids.org, name: "Main" })).project;
    assert.ok(p);
    ids.project = p.id;
    const d = (
      await deployment().createDeployment({
        projectId: p.id,
        name: "web",
        gitRepo: "https://git.example.com/acme/web.git",
        branch: "main",
        envVars: { GOOD_KEY: "value" },
        domain: "web.acme.example",
      })
    ).deployment;
    assert.ok(d);
    ids.deployment = d.id;
    await t.platform.database.db
      .insert(schema.nodeMetadata)
      .values({ id: "node-1", hostname: "worker-1" });

    // Another organization, of another user, that owns a domain.
    const other = await createUserWithToken(t, "owner@zeta.test");
    const asOther = (service: typeof OrganizationService) => t.client(service, other.token);
    const otherOrg = (
      await asOther(OrganizationService).createOrganization({
        name: ids.otherOrgName,
        slug: ids.otherOrgSlug,
      })
    ).organization;
    assert.ok(otherOrg);
    ids.otherOrg = otherOrg.id;
    const otherProject = (
      await t
        .client(ProjectService, other.token)
        .createProject({ organizationId: otherOrg.id, name: "Zeta Site" })
    ).project;
    assert.ok(otherProject);
    const otherDeployment = (
      await t.client(DeploymentService, other.token).createDeployment({
        projectId: otherProject.id,
        name: "zeta-app",
        gitRepo: "https://git.example.com/zeta/app.git",
        branch: "main",
        domain: takenDomain,
      })
    ).deployment;
    assert.ok(otherDeployment);
    ids.otherDeployment = otherDeployment.id;
    // Verified by the other organization (as its TXT record would prove): taken for everyone else.
    await t.platform.database.db
      .update(schema.domains)
      .set({ status: "verified", verifiedAt: new Date() })
      .where(sql`${schema.domains.domain} = ${takenDomain}`);
  });
  after(() => t?.close());

  const hidesOther = () => [
    ids.otherOrgName,
    ids.otherOrgSlug,
    ids.otherOrg,
    ids.otherDeployment,
    "zeta-app",
    "owner@zeta.test",
  ];

  const create = (fields: Record<string, unknown>) => () =>
    deployment().createDeployment({
      projectId: ids.project,
      gitRepo: "https://git.example.com/acme/api.git",
      branch: "main",
      ...fields,
    });

  const cases = (): BadCase[] => {
    const longName = "n".repeat(101);
    const badDomains: Array<[string, string, RegExp]> = [
      ["no dot", "localhost", /at least two labels/],
      ["an IPv4 address", "192.168.1.10", /IP addresses are not domains/],
      ["hyphens at the label's ends", "-bad-.com", /each label is 1 to 63/],
      ["300 characters", `${`${"a".repeat(63)}.`.repeat(4)}${"b".repeat(40)}.com`, /at most 253/],
      ["a wildcard", "*.acme.example", /wildcards are not supported/],
      ["under the platform domain", "x.localhost", /under the platform's domain localhost/],
      ["the platform domain's own name, uppercase", "X.LOCALHOST", /under the platform's domain/],
      ["empty", "", /domain must not be empty/],
      ["a space inside", "my shop.example", /not a valid domain name/],
      ["a URL", "https://shop.example.com/", /host name only, without a scheme, port or path/],
      ["a port", "shop.example.com:8080", /host name only/],
      ["a 64-character label", `${"l".repeat(64)}.example`, /1 to 63/],
    ];
    const list: BadCase[] = [];

    // Names.
    list.push(
      {
        name: "organization: empty name",
        run: () => org().createOrganization({ name: "" }),
        code: "invalid_argument",
        message: /name must not be empty/,
      },
      {
        name: "organization: blank name",
        run: () => org().createOrganization({ name: "   \t " }),
        code: "invalid_argument",
        message: /name must not be empty/,
      },
      {
        name: "organization: 101-character name",
        run: () => org().createOrganization({ name: longName }),
        code: "invalid_argument",
        message: /name must be at most 100 characters/,
      },
      {
        name: "organization: control character in the name",
        run: () => org().createOrganization({ name: "Evil\u0007Corp" }),
        code: "invalid_argument",
        message: /control characters/,
      },
      {
        name: "organization: invalid slug",
        run: () => org().createOrganization({ name: "Good", slug: "Not A Slug" }),
        code: "invalid_argument",
        message: /slug must be 1 to 40 lowercase letters/,
      },
      {
        name: "organization: slug of 41 characters",
        run: () => org().createOrganization({ name: "Good", slug: "s".repeat(41) }),
        code: "invalid_argument",
        message: /slug must be 1 to 40/,
      },
      {
        name: "organization: a slug another organization has",
        run: () => org().createOrganization({ name: "Copy", slug: ids.otherOrgSlug }),
        code: "already_exists",
        message: /already exists/,
        hides: [ids.otherOrgName, ids.otherOrg],
      },
      {
        name: "organization: rename to empty",
        run: () => org().updateOrganization({ id: ids.org, name: "" }),
        code: "invalid_argument",
        message: /name must not be empty/,
      },
      {
        name: "organization: rename to 101 characters",
        run: () => org().updateOrganization({ id: ids.org, name: longName }),
        code: "invalid_argument",
        message: /at most 100 characters/,
      },
      {
        name: "project: empty name",
        run: () => project().createProject({ organizationId: ids.org, name: "" }),
        code: "invalid_argument",
        message: /name must not be empty/,
      },
      {
        name: "project: 101-character name",
        run: () => project().createProject({ organizationId: ids.org, name: longName }),
        code: "invalid_argument",
        message: /name must be at most 100 characters/,
      },
      {
        name: "project: a name with no letter or digit",
        run: () => project().createProject({ organizationId: ids.org, name: "!!! ???" }),
        code: "invalid_argument",
        message: /needs at least one letter or digit/,
      },
      {
        name: "project: 1001-character description",
        run: () =>
          project().createProject({
            organizationId: ids.org,
            name: "Docs",
            description: "d".repeat(1001),
          }),
        code: "invalid_argument",
        message: /description must be at most 1000 characters/,
      },
      {
        name: "project: the name of an existing project",
        run: () => project().createProject({ organizationId: ids.org, name: "MAIN" }),
        code: "already_exists",
        message: /a project named "main" already exists/,
      },
      {
        name: "project: rename to empty",
        run: () => project().updateProject({ id: ids.project, name: " " }),
        code: "invalid_argument",
        message: /name must not be empty/,
      },
      {
        name: "deployment: invalid name",
        run: create({ name: "Web_App" }),
        code: "invalid_argument",
        message: /name must be 1 to 40 lowercase letters/,
      },
      {
        name: "deployment: the name of an existing deployment",
        run: create({ name: "web" }),
        code: "already_exists",
        message: /a deployment named "web" already exists in this project/,
      },
      {
        name: "api token: empty name",
        run: () => t.client(AuthService).createApiToken({ name: "" }),
        code: "invalid_argument",
        message: /name must not be empty/,
      },
      {
        name: "api token: expiry beyond ten years",
        run: () => t.client(AuthService).createApiToken({ name: "ci", expiresInDays: 4000 }),
        code: "invalid_argument",
        message: /expires_in_days must be between 0 \(never\) and 3650/,
      },
      {
        name: "member: not an email address",
        run: () =>
          org().addMember({ organizationId: ids.org, email: "not-an-email", role: Role.VIEWER }),
        code: "invalid_argument",
        message: /is not an email address/,
      },
      {
        name: "member: role unspecified",
        run: () =>
          org().addMember({
            organizationId: ids.org,
            email: "someone@acme.test",
            role: Role.UNSPECIFIED,
          }),
        code: "invalid_argument",
        message: /role must be one of ROLE_OWNER/,
      },
      {
        name: "member: unknown role number",
        run: () =>
          org().addMember({
            organizationId: ids.org,
            email: "someone@acme.test",
            role: 42 as Role,
          }),
        code: "invalid_argument",
        message: /role must be one of/,
      },
      {
        name: "node: label key with spaces",
        run: () => t.client(NodeService).labelNode({ id: "node-1", set: { "Bad Key": "x" } }),
        code: "invalid_argument",
        message: /label key "Bad Key" is invalid/,
      },
      {
        name: "node: malformed node id",
        run: () => t.client(NodeService).drainNode({ id: "../../etc/passwd" }),
        code: "invalid_argument",
        message: /id must be a node id/,
      },
    );

    // Domains, through AddDomain and CreateDeployment.
    for (const [what, value, message] of badDomains) {
      list.push({
        name: `domain: ${what} (AddDomain)`,
        run: () => deployment().addDomain({ deploymentId: ids.deployment, domain: value }),
        code: "invalid_argument",
        message,
      });
      if (value !== "") {
        list.push({
          name: `domain: ${what} (CreateDeployment)`,
          run: create({ name: "api", domain: value }),
          code: "invalid_argument",
          message,
        });
      }
    }
    list.push(
      {
        name: "domain: owned by another organization (AddDomain)",
        run: () => deployment().addDomain({ deploymentId: ids.deployment, domain: takenDomain }),
        code: "already_exists",
        message: /the domain taken\.zeta\.example is already in use/,
        hides: hidesOther(),
      },
      {
        name: "domain: owned by another organization, other case (CreateDeployment)",
        run: create({ name: "api", domain: "Taken.Zeta.Example." }),
        code: "already_exists",
        message: /the domain taken\.zeta\.example is already in use/,
        hides: hidesOther(),
      },
      {
        name: "domain: already on this deployment",
        run: () =>
          deployment().addDomain({ deploymentId: ids.deployment, domain: "web.acme.example" }),
        code: "already_exists",
        message: /already in use/,
      },
      {
        name: "domain: removing one the deployment does not have",
        run: () => deployment().removeDomain({ deploymentId: ids.deployment, domain: takenDomain }),
        code: "not_found",
        message: /domain taken\.zeta\.example on this deployment not found/,
        hides: hidesOther(),
      },
    );

    // Env vars.
    const badKeys: Array<[string, RegExp]> = [
      ["1ABC", /env var key "1ABC" is invalid/],
      ["A-B", /env var key "A-B" is invalid/],
      ["", /env var key "" is invalid/],
      ["OBIENTE_X", /"OBIENTE_X" is reserved/],
      ["WITH SPACE", /is invalid: use letters, digits and underscores/],
      ["K".repeat(257), /is invalid/],
    ];
    for (const [key, message] of badKeys) {
      list.push(
        {
          name: `env var key ${JSON.stringify(key.slice(0, 12))} (SetEnvVars)`,
          run: () =>
            deployment().setEnvVars({
              deploymentId: ids.deployment,
              envVars: { FINE: "1", [key]: "v" },
            }),
          code: "invalid_argument",
          message,
        },
        {
          name: `env var key ${JSON.stringify(key.slice(0, 12))} (CreateDeployment)`,
          run: create({ name: "api", envVars: { [key]: "v" } }),
          code: "invalid_argument",
          message,
        },
      );
    }
    list.push(
      {
        name: "env vars: none given",
        run: () => deployment().setEnvVars({ deploymentId: ids.deployment, envVars: {} }),
        code: "invalid_argument",
        message: /env_vars must not be empty/,
      },
      {
        name: "env vars: a value over 32 KiB",
        run: () =>
          deployment().setEnvVars({
            deploymentId: ids.deployment,
            envVars: { BIG: "x".repeat(33 * 1024) },
          }),
        code: "invalid_argument",
        message: /env var BIG is too long: at most 32 KiB/,
      },
      {
        name: "env vars: a NUL byte in a value",
        run: () =>
          deployment().setEnvVars({ deploymentId: ids.deployment, envVars: { NUL: "a\u0000b" } }),
        code: "invalid_argument",
        message: /must not contain NUL bytes/,
      },
      {
        name: "env vars: more than 200",
        run: () =>
          deployment().setEnvVars({
            deploymentId: ids.deployment,
            envVars: Object.fromEntries(
              Array.from({ length: 201 }, (_, i) => [`KEY_${i}`, String(i)]),
            ),
          }),
        code: "invalid_argument",
        message: /at most 200 env vars/,
      },
      {
        name: "env vars: 200 new keys beside an existing one",
        run: () =>
          deployment().setEnvVars({
            deploymentId: ids.deployment,
            envVars: Object.fromEntries(
              Array.from({ length: 200 }, (_, i) => [`NEW_${i}`, String(i)]),
            ),
          }),
        code: "invalid_argument",
        message: /at most 200 env vars/,
      },
      {
        name: "env vars: deleting an invalid key",
        run: () => deployment().deleteEnvVar({ deploymentId: ids.deployment, key: "1ABC" }),
        code: "invalid_argument",
        message: /env var key "1ABC" is invalid/,
      },
      {
        name: "env vars: deleting a key that is not set",
        run: () => deployment().deleteEnvVar({ deploymentId: ids.deployment, key: "MISSING" }),
        code: "not_found",
        message: /env var MISSING not found/,
      },
    );

    // Unknown ids: NotFound.
    list.push(
      {
        name: "unknown organization",
        run: () => org().getOrganization({ id: unknown }),
        code: "not_found",
        message: /^organization not found$/,
      },
      {
        name: "unknown organization (CreateProject)",
        run: () => project().createProject({ organizationId: unknown, name: "X" }),
        code: "not_found",
        message: /organization not found/,
      },
      {
        name: "unknown project",
        run: () => project().getProject({ id: unknown }),
        code: "not_found",
        message: /^project not found$/,
      },
      {
        name: "unknown project (CreateDeployment)",
        run: () =>
          deployment().createDeployment({
            projectId: unknown,
            gitRepo: "https://git.example.com/a/b.git",
            branch: "main",
          }),
        code: "not_found",
        message: /^project not found$/,
      },
      {
        name: "unknown deployment",
        run: () => deployment().getDeployment({ id: unknown }),
        code: "not_found",
        message: /^deployment not found$/,
      },
      {
        name: "unknown deployment (DeleteDeployment)",
        run: () => deployment().deleteDeployment({ id: unknown }),
        code: "not_found",
        message: /^deployment not found$/,
      },
      {
        name: "unknown deployment (SetEnvVars)",
        run: () => deployment().setEnvVars({ deploymentId: unknown, envVars: { A: "1" } }),
        code: "not_found",
        message: /^deployment not found$/,
      },
      {
        name: "unknown project (GetDeployKey)",
        run: () => project().getDeployKey({ projectId: unknown }),
        code: "not_found",
        message: /^project not found$/,
      },
      {
        name: "unknown project (RotateDeployKey)",
        run: () => project().rotateDeployKey({ projectId: unknown }),
        code: "not_found",
        message: /^project not found$/,
      },
      {
        name: "unknown deployment (CancelBuild)",
        run: () => deployment().cancelBuild({ deploymentId: unknown }),
        code: "not_found",
        message: /^deployment not found$/,
      },
      {
        name: "unknown build (RollbackDeployment)",
        run: () => deployment().rollbackDeployment({ id: ids.deployment, buildId: unknown }),
        code: "not_found",
        message: /^build not found$/,
      },
      {
        name: "unknown member",
        run: () =>
          org().updateMemberRole({ organizationId: ids.org, userId: unknown, role: Role.VIEWER }),
        code: "not_found",
        message: /^member not found$/,
      },
      {
        name: "unknown member (RemoveMember)",
        run: () => org().removeMember({ organizationId: ids.org, userId: unknown }),
        code: "not_found",
        message: /^member not found$/,
      },
      {
        name: "unknown api token",
        run: () => t.client(AuthService).revokeApiToken({ id: unknown }),
        code: "not_found",
        message: /^api token not found$/,
      },
      {
        name: "unknown node",
        run: () => t.client(NodeService).getNode({ id: "node-404" }),
        code: "not_found",
        message: /^node not found$/,
      },
      {
        name: "unknown node (DrainNode)",
        run: () => t.client(NodeService).drainNode({ id: "node-404" }),
        code: "not_found",
        message: /^node not found$/,
      },
    );

    // Malformed ids: InvalidArgument naming the field.
    const malformed = ["not-a-uuid", "", "'; DROP TABLE users; --", "123", `${unknown}x`];
    for (const bad of malformed) {
      const shown = JSON.stringify(bad);
      list.push(
        {
          name: `malformed id ${shown} (GetOrganization)`,
          run: () => org().getOrganization({ id: bad }),
          code: "invalid_argument",
          message: /id must be an id \(a UUID\)/,
        },
        {
          name: `malformed id ${shown} (ListProjects)`,
          run: () => project().listProjects({ organizationId: bad }),
          code: "invalid_argument",
          message: /organization_id must be an id \(a UUID\)/,
        },
        {
          name: `malformed id ${shown} (DeleteDeployment)`,
          run: () => deployment().deleteDeployment({ id: bad }),
          code: "invalid_argument",
          message: /id must be an id \(a UUID\)/,
        },
        {
          name: `malformed id ${shown} (CreateDeployment project_id)`,
          run: () =>
            deployment().createDeployment({
              projectId: bad,
              gitRepo: "https://git.example.com/a/b.git",
              branch: "main",
            }),
          code: "invalid_argument",
          message: /project_id must be an id \(a UUID\)/,
        },
        {
          name: `malformed id ${shown} (RemoveMember user_id)`,
          run: () => org().removeMember({ organizationId: ids.org, userId: bad }),
          code: "invalid_argument",
          message: /user_id must be an id \(a UUID\)/,
        },
        {
          name: `malformed id ${shown} (RevokeApiToken)`,
          run: () => t.client(AuthService).revokeApiToken({ id: bad }),
          code: "invalid_argument",
          message: /id must be an id \(a UUID\)/,
        },
      );
    }
    list.push(
      {
        name: "malformed project id (GetDeployKey)",
        run: () => project().getDeployKey({ projectId: "shop" }),
        code: "invalid_argument",
        message: /project_id must be an id \(a UUID\)/,
      },
      {
        name: "malformed project id (RotateDeployKey)",
        run: () => project().rotateDeployKey({ projectId: "" }),
        code: "invalid_argument",
        message: /project_id must be an id \(a UUID\)/,
      },
      {
        name: "malformed deployment id (CancelBuild)",
        run: () => deployment().cancelBuild({ deploymentId: "web" }),
        code: "invalid_argument",
        message: /deployment_id must be an id \(a UUID\)/,
      },
      {
        name: "malformed build id (RollbackDeployment)",
        run: () => deployment().rollbackDeployment({ id: ids.deployment, buildId: "latest" }),
        code: "invalid_argument",
        message: /build_id must be an id \(a UUID\)/,
      },
      {
        name: "ListDeployments without a project or an organization",
        run: () => deployment().listDeployments({}),
        code: "invalid_argument",
        message: /give project_id or organization_id/,
      },
    );

    // Git URLs and branches.
    const badRepos: Array<[string, RegExp]> = [
      ["ext::sh -c touch% /tmp/pwned", /must not contain spaces/],
      ["ext::ssh%20-oProxyCommand=touch%20/tmp/pwned", /remote helper \("ext::"\)/],
      ["fd::17", /remote helper/],
      ["--upload-pack=x", /must not start with '-'/],
      ["-u/tmp/x", /must not start with '-'/],
      ["file:///tmp/repo", /file:\/\/ URLs are disabled on this platform/],
      ["FILE:///etc", /file:\/\/ URLs are disabled/],
      ["/srv/git/repo.git", /is not a git URL/],
      ["../other-repo", /is not a git URL/],
      ["ftp://git.example.com/r.git", /scheme "ftp" is not allowed/],
      ["https://", /is not a (valid URL|git URL)|has no valid host/],
      ["https://-oProxyCommand=x/r.git", /has no valid host/],
      ["", /git_repo must not be empty/],
      [`https://git.example.com/${"r".repeat(2050)}`, /at most 2048 characters/],
    ];
    for (const [repo, message] of badRepos) {
      list.push({
        name: `git_repo ${JSON.stringify(repo.slice(0, 40))} (CreateDeployment)`,
        run: create({ name: "api", gitRepo: repo }),
        code: "invalid_argument",
        message,
      });
    }
    list.push({
      name: "git_repo file:// (UpdateDeployment)",
      run: () => deployment().updateDeployment({ id: ids.deployment, gitRepo: "file:///tmp/r" }),
      code: "invalid_argument",
      message: /file:\/\/ URLs are disabled/,
    });
    const badBranches: Array<[string, RegExp]> = [
      ["--upload-pack=touch /tmp/pwned", /must not start with '-'/],
      ["a..b", /must not contain '\.\.'/],
      ["", /branch must not be empty/],
      ["feature/", /must not start or end with '\/'/],
      ["main.lock", /end with '\.' or '\.lock'/],
      ["has space", /must not contain spaces/],
      ["a~1", /must not contain spaces, control characters or any of/],
      ["ref@{1}", /'@\{'/],
      ["x/.hidden", /no part may start with '\.'/],
      ["b".repeat(256), /at most 255 characters/],
    ];
    for (const [branch, message] of badBranches) {
      list.push({
        name: `branch ${JSON.stringify(branch.slice(0, 40))} (CreateDeployment)`,
        run: create({ name: "api", branch }),
        code: "invalid_argument",
        message,
      });
    }
    list.push({
      name: "branch a..b (UpdateDeployment)",
      run: () => deployment().updateDeployment({ id: ids.deployment, branch: "a..b" }),
      code: "invalid_argument",
      message: /must not contain '\.\.'/,
    });

    // Replicas and resources.
    for (const replicas of [0, -1, 1000]) {
      list.push({
        name: `replicas ${replicas} (ScaleDeployment)`,
        run: () => deployment().scaleDeployment({ id: ids.deployment, replicas }),
        code: "invalid_argument",
        message: new RegExp(`replicas must be between 1 and 20, got ${replicas}`),
      });
    }
    for (const replicas of [-1, 1000, 21]) {
      // 0 means 1 in CreateDeployment (the contract's default), so it is not bad input there.
      list.push({
        name: `replicas ${replicas} (CreateDeployment)`,
        run: create({ name: "api", replicas }),
        code: "invalid_argument",
        message: new RegExp(`replicas must be between 1 and 20, got ${replicas}`),
      });
    }
    const badResources: Array<[string, { cpuMillicores: number; memoryMb: number }, RegExp]> = [
      [
        "cpu 5 millicores",
        { cpuMillicores: 5, memoryMb: 0 },
        /cpu_millicores must be between 10 and 64000/,
      ],
      [
        "cpu 100000 millicores",
        { cpuMillicores: 100_000, memoryMb: 0 },
        /cpu_millicores must be between/,
      ],
      ["cpu -1", { cpuMillicores: -1, memoryMb: 0 }, /cpu_millicores must be between/],
      ["memory 8 MB", { cpuMillicores: 0, memoryMb: 8 }, /memory_mb must be between 16 and 262144/],
      ["memory 300000 MB", { cpuMillicores: 0, memoryMb: 300_000 }, /memory_mb must be between/],
      ["memory -512", { cpuMillicores: 0, memoryMb: -512 }, /memory_mb must be between/],
    ];
    for (const [what, resources, message] of badResources) {
      list.push(
        {
          name: `resources: ${what} (CreateDeployment)`,
          run: create({ name: "api", resources }),
          code: "invalid_argument",
          message,
        },
        {
          name: `resources: ${what} (UpdateDeployment)`,
          run: () => deployment().updateDeployment({ id: ids.deployment, resources }),
          code: "invalid_argument",
          message,
        },
      );
    }
    list.push({
      name: "placement strategy out of the enum",
      run: create({ name: "api", strategy: 99 }),
      code: "invalid_argument",
      message: /strategy must be one of the PlacementStrategy values/,
    });

    // The wire: malformed JSON and unknown fields over the Connect protocol and the REST alias.
    const connectPath = "/obiente.cloud.project.v1.ProjectService/CreateProject";
    list.push(
      {
        name: "Connect: malformed JSON",
        run: () => raw(connectPath, '{"organizationId": "'),
        code: "invalid_argument",
        message: /JSON/i,
        status: 400,
      },
      {
        name: "Connect: JSON that is not an object",
        run: () => raw(connectPath, "[1, 2, 3]"),
        code: "invalid_argument",
        message: /JSON|object|CreateProjectRequest/i,
        status: 400,
      },
      {
        name: "Connect: an unknown field",
        run: () =>
          raw(connectPath, JSON.stringify({ organizationId: ids.org, name: "X", bogus: 1 })),
        code: "invalid_argument",
        message: /bogus/,
        status: 400,
      },
      {
        name: "Connect: a field of the wrong type",
        run: () => raw(connectPath, JSON.stringify({ organizationId: ids.org, name: 42 })),
        code: "invalid_argument",
        message: /name/,
        status: 400,
      },
      {
        name: "REST: malformed JSON",
        run: () => raw("/api/v1/projects", '{"organization_id": '),
        code: "invalid_argument",
        message: /the body is not valid JSON/,
        status: 400,
      },
      {
        name: "REST: an unknown field",
        run: () =>
          raw(
            "/api/v1/projects",
            JSON.stringify({ organization_id: ids.org, name: "X", bogus: true }),
          ),
        code: "invalid_argument",
        message: /unknown field: bogus/,
        status: 400,
      },
      {
        name: "REST: an unknown field (deployments)",
        run: () =>
          raw(
            "/api/v1/deployments",
            JSON.stringify({
              project_id: ids.project,
              git_repo: "https://git.example.com/a/b.git",
              branch: "main",
              replicas: 1,
              privileged: true,
            }),
          ),
        code: "invalid_argument",
        message: /unknown field: privileged/,
        status: 400,
      },
      {
        name: "REST: a missing field",
        run: () => raw("/api/v1/projects", JSON.stringify({ organization_id: ids.org })),
        code: "invalid_argument",
        message: /name/,
        status: 400,
      },
      {
        name: "REST: a bad value, validated like the RPC",
        run: () =>
          raw(
            "/api/v1/deployments",
            JSON.stringify({ project_id: ids.project, git_repo: "ext::sh", branch: "main" }),
          ),
        code: "invalid_argument",
        message: /remote helper/,
        status: 400,
      },
      {
        name: "REST: organization name overlong",
        run: () => raw("/api/v1/organizations", JSON.stringify({ name: longName })),
        code: "invalid_argument",
        message: /at most 100 characters/,
        status: 400,
      },
    );
    return list;
  };

  // The cases read ids made in before() only when they run: list them by name now, and build
  // them again inside each test.
  const names = cases().map((c) => c.name);
  const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
  assert.deepEqual(duplicates, [], "case names must be unique");

  for (const name of names) {
    it(name, async () => {
      const c = cases().find((x) => x.name === name);
      assert.ok(c);
      const before = await state();
      const got = await failure(c.run);
      assert.equal(got.code, c.code, `code (message: ${got.message})`);
      assert.match(got.message, c.message);
      assert.ok(got.message.length < 400, `an overlong message: ${got.message.length} characters`);
      assert.doesNotMatch(got.message, /internal error|SQL|select |insert |\bat .*\.ts:/i);
      for (const hidden of c.hides ?? []) {
        assert.ok(!got.message.includes(hidden), `the message reveals ${hidden}: ${got.message}`);
      }
      if (c.status !== undefined) assert.equal(got.status, c.status, "HTTP status");
      assert.deepEqual(await state(), before, "the database changed");
    });
  }

  it("the state digest notices a change (self-check)", async () => {
    const before = await state();
    await project().createProject({ organizationId: ids.org, name: "Self Check" });
    const after = await state();
    assert.notEqual(after.projects, before.projects);
    assert.notEqual(after.audit_log, before.audit_log);
  });
});
