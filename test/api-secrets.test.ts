/**
 * Secrets in errors, logs and files: a mistyped URL names its variable, never its password; the
 * bootstrap admin token is kept in a file only its owner reads, and expires once another way in
 * exists; SECRETS_MASTER_KEY_PREVIOUS opens values sealed before a key rotation, and
 * `obiente secrets rotate` seals every one again under the current key, in batches, idempotently.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { eq, ne, sql } from "drizzle-orm";
import pino from "pino";
import {
  BOOTSTRAP_TOKEN_FILE,
  BOOTSTRAP_TOKEN_NAME,
  BootstrapTokenExpiry,
  expireBootstrapToken,
} from "../src/accounts/bootstrap.js";
import { type RunningPlatform, startPlatform } from "../src/app/platform.js";
import { loadConfig } from "../src/config/config.js";
import {
  generateMasterKey,
  keyFingerprint,
  parseMasterKey,
  SecretBox,
  sealedKeyId,
} from "../src/crypto/secret-box.js";
import { envAad } from "../src/deployments/index.js";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { rotateSecrets, SEALED_COLUMNS } from "../src/secrets/index.js";
import { type Database, openDatabase } from "../src/store/index.js";
import {
  apiTokens,
  deploymentGitCredentials,
  envVars,
  projectDeployKeys,
  users,
} from "../src/store/schema.js";
import {
  addUserWithToken,
  startTestPlatform,
  type TestPlatform,
  transport,
} from "./helpers/api.js";
import { freshPostgresUrl } from "./helpers/databases.js";

const repoRoot = new URL("../", import.meta.url).pathname;

/** Runs `obiente ARGS…` with exactly `env` (and PATH, HOME); its exit code and output. */
function obiente(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin/obiente.js"), ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

describe("a mistyped URL in the configuration", () => {
  it("stops the command naming the variable and what is wrong, never the password", async () => {
    const password = `pw-${randomUUID()}`;
    for (const [name, value] of [
      // '#' ends a URL's authority: the PostgreSQL client would fail with the URL in its error.
      ["DATABASE_URL", `postgres://obiente:${password}#1@127.0.0.1:5432/obiente`],
      ["DATABASE_URL", `postgresq://obiente:${password}@127.0.0.1:5432/obiente`],
      ["REDIS_URL", `redis://:${password}%zz@127.0.0.1:6379`],
    ] as const) {
      const { code, output } = await obiente(["migrate"], {
        [name]: value,
        DATA_DIR: join(tmpdir(), `obiente-never-${randomUUID()}`),
      });
      assert.equal(code, 2, output);
      assert.match(output, new RegExp(`${name} \\(`), output);
      assert.match(output, /expected/);
      assert.ok(!output.includes(password), `the password is in: ${output}`);
    }
  });
});

describe("the bootstrap admin token", () => {
  let t: TestPlatform;
  let file: string;
  const logger = pino({ level: "silent" });

  before(async () => {
    t = await startTestPlatform();
    file = join(t.dataDir, BOOTSTRAP_TOKEN_FILE);
  });
  after(() => t?.close());

  const bootstrapRow = async () => {
    const [row] = await t.platform.database.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.name, BOOTSTRAP_TOKEN_NAME));
    assert.ok(row);
    return row;
  };

  it("is written to DATA_DIR/bootstrap-admin-token, readable by its owner only", async () => {
    assert.equal(await readFile(file, "utf8"), `${t.adminToken}\n`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it("does not expire while it is the only way in, nor for a tenant's token", async () => {
    await addUserWithToken(t.platform.database.db);
    const expiry = new BootstrapTokenExpiry({
      db: t.platform.database.db,
      ttlMs: 24 * 3_600_000,
      dataDir: t.dataDir,
      logger,
    });
    await expiry.check();
    assert.equal((await bootstrapRow()).expiresAt, null);
    await t.client(AuthService).whoAmI({});
  });

  it("expires 24 h after an administrator has another token, then its file goes", async () => {
    await t.client(AuthService).createApiToken({ name: "ops laptop" });
    const now = new Date("2031-01-01T00:00:00.000Z");
    let clock = now;
    const expiry = new BootstrapTokenExpiry({
      db: t.platform.database.db,
      ttlMs: 24 * 3_600_000,
      dataDir: t.dataDir,
      logger,
      now: () => clock,
    });
    await expiry.check();
    assert.deepEqual((await bootstrapRow()).expiresAt, new Date("2031-01-02T00:00:00.000Z"));
    // Checked again later: the expiry stays where it was put.
    clock = new Date("2031-01-01T12:00:00.000Z");
    await expiry.check();
    assert.deepEqual((await bootstrapRow()).expiresAt, new Date("2031-01-02T00:00:00.000Z"));
    assert.equal(await readFile(file, "utf8"), `${t.adminToken}\n`, "kept while it works");
    clock = new Date("2031-01-02T00:00:01.000Z");
    await expiry.check();
    await assert.rejects(stat(file), { code: "ENOENT" });
  });

  it("stops working once it has expired", async () => {
    const db = t.platform.database.db;
    await db
      .update(apiTokens)
      .set({ expiresAt: null })
      .where(eq(apiTokens.name, BOOTSTRAP_TOKEN_NAME));
    const state = await expireBootstrapToken(db, new Date(), 500);
    assert.ok(state?.setNow);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await assert.rejects(
      t.client(AuthService).whoAmI({}),
      (error: unknown) => ConnectError.from(error).code === Code.Unauthenticated,
    );
  });
});

describe("the bootstrap admin token, at start", () => {
  let dataDir: string;
  let platform: RunningPlatform | undefined;
  after(async () => {
    await platform?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      ROLES: "api",
      PORT: "0",
      GRPC_PORT: "0",
      METRICS_PORT: "0",
      LOG_LEVEL: "silent",
      BOOTSTRAP_TOKEN_TTL_HOURS: "2",
    });
    const silence = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      return await startPlatform(config, pino({ level: "silent" }));
    } finally {
      process.stdout.write = silence;
    }
  };

  it("is given its expiry when a process starts and finds an OIDC administrator", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "obiente-bootstrap-"));
    platform = await start();
    assert.ok(platform.bootstrapToken);
    await platform.database.db.insert(users).values({
      id: randomUUID(),
      email: "ops@example.test",
      platformAdmin: true,
      oidcIssuer: "https://issuer.example.test",
      oidcSubject: "ops",
    });
    await platform.close();
    const before = Date.now();
    platform = await start();
    const [row] = await platform.database.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.name, BOOTSTRAP_TOKEN_NAME));
    const expiresAt = row?.expiresAt?.getTime() ?? 0;
    assert.ok(
      expiresAt >= before + 2 * 3_600_000 && expiresAt <= Date.now() + 2 * 3_600_000,
      `expires at ${row?.expiresAt?.toISOString()}`,
    );
  });
});

describe("master key rotation", () => {
  const K1 = generateMasterKey();
  const K2 = generateMasterKey();
  const K3 = generateMasterKey();
  const [id1, id2, id3] = [K1, K2, K3].map((k) => keyFingerprint(parseMasterKey(k)));
  let pg: { url: string; drop(): Promise<void> };
  let database: Database;
  const dataDirs: string[] = [];
  const expected = new Map<string, Record<string, string>>();
  let adminToken: string | undefined;

  /** The api role on the rotation's database, with `env`; a client acting as the administrator. */
  const platform = async (env: Record<string, string>) => {
    const dataDir = await mkdtemp(join(tmpdir(), "obiente-rotation-"));
    dataDirs.push(dataDir);
    const config = loadConfig({
      DATABASE_URL: pg.url,
      DATA_DIR: dataDir,
      ROLES: "api",
      PORT: "0",
      GRPC_PORT: "0",
      METRICS_PORT: "0",
      LOG_LEVEL: "silent",
      ...env,
    });
    const silence = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let running: RunningPlatform;
    try {
      running = await startPlatform(config, pino({ level: "silent" }));
    } finally {
      process.stdout.write = silence;
    }
    adminToken ??= running.bootstrapToken ?? "";
    const baseUrl = `http://127.0.0.1:${running.ports?.http}`;
    const client = <S extends DescService>(service: S): Client<S> =>
      createClient(service, transport(baseUrl, adminToken));
    return { running, client, deployments: client(DeploymentService) };
  };
  const keyIds = async () =>
    (await database.db.select({ sealed: envVars.valueEncrypted }).from(envVars)).map((r) =>
      sealedKeyId(r.sealed),
    );
  const cli = (args: string[], env: Record<string, string>) =>
    obiente(["secrets", "rotate", ...args], {
      DATABASE_URL: pg.url,
      DATA_DIR: dataDirs[0] ?? tmpdir(),
      ...env,
    });

  before(async () => {
    pg = await freshPostgresUrl();
    const first = await platform({ SECRETS_MASTER_KEY: K1 });
    const { deployments } = first;
    try {
      assert.ok(adminToken);
      const { organization } = await first
        .client(OrganizationService)
        .createOrganization({ name: "Rotation" });
      assert.ok(organization);
      const { project } = await first
        .client(ProjectService)
        .createProject({ organizationId: organization.id, name: "Keys" });
      assert.ok(project);
      // The project's deploy key is sealed too (project_deploy_keys).
      await first.client(ProjectService).getDeployKey({ projectId: project.id });
      for (const [name, count] of [
        ["alpha", 60],
        ["beta", 45],
      ] as const) {
        const { deployment } = await deployments.createDeployment({
          projectId: project.id,
          name,
          // alpha's credential is sealed too (deployment_git_credentials).
          gitRepo:
            name === "alpha"
              ? "https://deploy:rotation-token@git.example.com/rotation/app.git"
              : "https://git.example.com/rotation/app.git",
          branch: "main",
        });
        assert.ok(deployment);
        const vars = Object.fromEntries(
          Array.from({ length: count }, (_, i) => [
            `KEY_${i}`,
            `${name}-secret-${i}-${randomUUID()}`,
          ]),
        );
        await deployments.setEnvVars({ deploymentId: deployment.id, envVars: vars });
        expected.set(deployment.id, vars);
      }
    } finally {
      await first.running.close();
    }
    database = await openDatabase({ url: pg.url, maxConnections: 2 });
    // A value sealed under a key the installation no longer has.
    const beta = [...expected.keys()][1] as string;
    await database.db.insert(envVars).values({
      deploymentId: beta,
      key: "ORPHAN",
      valueEncrypted: new SecretBox(parseMasterKey(K3)).encrypt("lost", envAad(beta, "ORPHAN")),
    });
  });

  after(async () => {
    await database?.close();
    await pg?.drop();
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  });

  it("reads values sealed under a previous key (SECRETS_MASTER_KEY_PREVIOUS), not without it", async () => {
    const alpha = [...expected.keys()][0] as string;
    const without = await platform({ SECRETS_MASTER_KEY: K2 });
    try {
      await assert.rejects(
        without.deployments.listEnvVars({ deploymentId: alpha }),
        (error: unknown) => ConnectError.from(error).code === Code.Internal,
      );
    } finally {
      await without.running.close();
    }
    const rotated = await platform({ SECRETS_MASTER_KEY: K2, SECRETS_MASTER_KEY_PREVIOUS: K1 });
    try {
      const { envVars: listed } = await rotated.deployments.listEnvVars({ deploymentId: alpha });
      assert.deepEqual(
        Object.fromEntries(listed.map((v) => [v.key, v.value])),
        expected.get(alpha),
      );
    } finally {
      await rotated.running.close();
    }
  });

  it("re-encrypts in batches, one transaction each: a run cut short keeps its whole batches", async () => {
    const box = new SecretBox(parseMasterKey(K2), { previousKeys: [parseMasterKey(K1)] });
    let batches = 0;
    await assert.rejects(
      rotateSecrets(database.db, box, SEALED_COLUMNS, {
        batchSize: 20,
        onBatch: () => {
          batches += 1;
          if (batches === 3) throw new Error("cut short");
        },
      }),
      /cut short/,
    );
    const ids = await keyIds();
    assert.equal(ids.filter((id) => id === id2).length, 40, "two batches of 20 committed");
    assert.equal(ids.filter((id) => id === id1).length, 105 - 40);
  });

  it("`obiente secrets rotate` finishes the job, reports what it cannot open, and changes nothing run again", async () => {
    const env = { SECRETS_MASTER_KEY: K2, SECRETS_MASTER_KEY_PREVIOUS: K1 };
    const dry = await cli(["--dry-run"], env);
    assert.equal(dry.code, 0, dry.output);
    assert.match(dry.output, /env_vars\.value_encrypted: 66 to re-encrypt/);
    assert.match(dry.output, /deployment_git_credentials\.credential_encrypted: 1 to re-encrypt/);
    assert.match(dry.output, /project_deploy_keys\.private_key_encrypted: 1 to re-encrypt/);

    const first = await cli(["--batch-size", "20"], env);
    assert.equal(first.code, 1, first.output);
    assert.match(
      first.output,
      /env_vars\.value_encrypted: 65 re-encrypted, 1 could not be decrypted/,
    );
    assert.match(first.output, new RegExp(`env var ORPHAN: .*encrypted with key ${id3}`));
    assert.ok(!first.output.includes(K1) && !first.output.includes(K2), "no key in the output");
    assert.match(first.output, /deployment_git_credentials\.credential_encrypted: 1 re-encrypted/);
    const [credential] = await database.db.select().from(deploymentGitCredentials);
    assert.equal(credential && sealedKeyId(credential.credentialEncrypted), id2);
    const [deployKey] = await database.db.select().from(projectDeployKeys);
    assert.equal(deployKey && sealedKeyId(deployKey.privateKeyEncrypted), id2);
    const ids = await keyIds();
    assert.equal(ids.filter((id) => id === id2).length, 105);
    assert.deepEqual(
      ids.filter((id) => id !== id2),
      [id3],
    );

    await database.db.delete(envVars).where(eq(envVars.key, "ORPHAN"));
    const sealedBefore = await database.db.select().from(envVars);
    const second = await cli([], env);
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, /env_vars\.value_encrypted: 0 re-encrypted/);
    assert.match(second.output, new RegExp(`every value is under key ${id2}`));
    assert.deepEqual(await database.db.select().from(envVars), sealedBefore, "nothing rewritten");
  });

  it("leaves every value readable with the new key alone", async () => {
    const { running, deployments } = await platform({ SECRETS_MASTER_KEY: K2 });
    try {
      for (const [id, vars] of expected) {
        const { envVars: listed } = await deployments.listEnvVars({ deploymentId: id });
        assert.deepEqual(Object.fromEntries(listed.map((v) => [v.key, v.value])), vars);
      }
    } finally {
      await running.close();
    }
  });

  it("refuses to run without a master key rather than make one up", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "obiente-nokey-"));
    dataDirs.push(dataDir);
    const { code, output } = await obiente(["secrets", "rotate"], {
      DATABASE_URL: pg.url,
      DATA_DIR: dataDir,
      SECRETS_MASTER_KEY_PREVIOUS: K1,
    });
    assert.equal(code, 1, output);
    assert.match(output, /no master key: SECRETS_MASTER_KEY is not set/);
    await assert.rejects(stat(join(dataDir, "master.key")), { code: "ENOENT" });
    assert.equal(
      (
        await database.db
          .select({ n: sql<number>`count(*)::int` })
          .from(envVars)
          .where(ne(sql`split_part(${envVars.valueEncrypted}, ':', 2)`, id2))
      )[0]?.n,
      0,
    );
  });
});
