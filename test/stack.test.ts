/**
 * The production Swarm stack (deploy/stack.yml) and the image (Dockerfile): the platform services'
 * environment is what src/config/config.ts accepts, the roles run where docs/swarm.md says,
 * Prometheus's targets and Traefik's provider name what exists; then the image is built through
 * the local engine and its API answers /health, with the stack's own entrypoint and secrets.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { CADDY_METRICS_PORT, CADDY_PROVIDER_PATH } from "../src/app/caddy-provider.js";
import { TRAEFIK_PROVIDER_PATH } from "../src/app/traefik-provider.js";
import { loadConfig } from "../src/config/config.js";
import { parseRedisUrl } from "../src/platform/redis/connection.js";
import {
  buildBaseWithAddonLibraries,
  buildImage,
  docker,
  type InstalledModules,
  installModules,
  REPO_ROOT,
} from "./helpers/image.js";

const STACK_FILE = join(REPO_ROOT, "deploy/stack.yml");
const TRAEFIK_FILE = join(REPO_ROOT, "deploy/stack.traefik.yml");
const STACK_NAME = "obiente";

interface ServiceSecret {
  source: string;
  target?: string;
}
interface Service {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  user?: string;
  environment?: Record<string, string | number | boolean | null>;
  secrets?: (string | ServiceSecret)[];
  volumes?: (string | { type: string; source: string; target: string })[];
  ports?: { target: number; published: number; mode?: string }[];
  sysctls?: Record<string, string | number>;
  deploy?: {
    mode?: string;
    replicas?: string | number;
    endpoint_mode?: string;
    placement?: { constraints?: string[]; max_replicas_per_node?: number };
  };
}
interface Stack {
  services: Record<string, Service>;
  secrets: Record<string, unknown>;
  configs: Record<string, { file: string }>;
}

/** KEY=value lines of a shell env file (comments and blank lines skipped). */
function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1]) env[match[1]] = match[2] ?? "";
  }
  return env;
}

/** docker stack deploy's variable substitution: ${A}, ${A:-d}, ${A-d}, ${A:?e}, ${A?e}, $$. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (whole, name: string | undefined, colon: string, kind: string, arg: string) => {
      if (whole === "$$") return "$";
      const value = env[name as string];
      const missing = colon === ":" ? value === undefined || value === "" : value === undefined;
      if (!missing) return value as string;
      if (kind === "?") throw new Error(`${name} is required: ${arg}`);
      return kind === "-" ? arg : "";
    },
  );
}

function interpolateTree(node: unknown, env: Record<string, string>): unknown {
  if (typeof node === "string") return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item) => interpolateTree(item, env));
  if (node && typeof node === "object") {
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [key, interpolateTree(value, env)]),
    );
  }
  return node;
}

function readStack(file: string, env: Record<string, string>): Stack {
  // go-yaml (the docker CLI) reads YAML 1.1, with merge keys.
  const raw = parse(readFileSync(file, "utf8"), { version: "1.1", merge: true }) as unknown;
  return interpolateTree(raw, env) as Stack;
}

/** The stack as docker stack deploy sees it, with the example settings. */
function loadStack(env: Record<string, string>): Stack {
  return readStack(STACK_FILE, env);
}

/**
 * `-c deploy/stack.yml -c OVERRIDE`, merged as the docker CLI merges: maps key by key, lists of
 * secrets by source, of volumes and ports by target, other lists appended.
 */
function mergeStacks(base: Stack, override: Stack): Stack {
  const byKey = <T>(key: (item: T) => string, a: T[] = [], b: T[] = []) => {
    const merged = new Map(a.map((item) => [key(item), item]));
    for (const item of b) merged.set(key(item), item);
    return [...merged.values()];
  };
  const services: Record<string, Service> = { ...base.services };
  for (const [name, extra] of Object.entries(override.services)) {
    const service = services[name] ?? {};
    services[name] = {
      ...service,
      ...extra,
      environment: { ...service.environment, ...extra.environment },
      secrets: byKey((s) => (typeof s === "string" ? s : s.source), service.secrets, extra.secrets),
      ports: byKey((p) => String(p.target), service.ports, extra.ports),
      deploy: {
        ...service.deploy,
        ...extra.deploy,
        placement: {
          ...service.deploy?.placement,
          ...extra.deploy?.placement,
          constraints: [
            ...(service.deploy?.placement?.constraints ?? []),
            ...(extra.deploy?.placement?.constraints ?? []),
          ],
        },
      },
    };
  }
  return {
    services,
    secrets: { ...base.secrets, ...override.secrets },
    configs: { ...base.configs, ...override.configs },
  };
}

const exampleEnv = readEnvFile(join(REPO_ROOT, "deploy/stack.env.example"));

/** Sample values of the secrets, by the variable they fill. */
const SECRET_SAMPLES: Record<string, string> = {
  DATABASE_URL: "postgres://obiente:p%40ss@postgres:5432/obiente",
  METRICS_DATABASE_URL: "postgres://obiente:p%40ss@postgres:5432/obiente_metrics",
  SECRETS_MASTER_KEY: randomBytes(32).toString("hex"),
  CADDY_PROVIDER_TOKEN: randomBytes(24).toString("hex"),
  TRAEFIK_PROVIDER_TOKEN: randomBytes(24).toString("hex"),
  BACKUP_AGENT_TOKEN: randomBytes(24).toString("hex"),
  REGISTRY_PASSWORD: randomBytes(12).toString("hex"),
};

function secretTargets(service: Service): string[] {
  return (service.secrets ?? []).map((s) => (typeof s === "string" ? s : (s.target ?? s.source)));
}

function bindsDockerSocket(service: Service): boolean {
  return (service.volumes ?? []).some((v) =>
    typeof v === "string"
      ? v.startsWith("/var/run/docker.sock:/var/run/docker.sock")
      : v.source === "/var/run/docker.sock" && v.target === "/var/run/docker.sock",
  );
}

/**
 * Whether src/config/config.ts reads a variable (NAME_FILE: whether it reads NAME). loadConfig
 * drops the ones it does not know, and treats empty ones as unset: given a value alone, a known
 * variable comes back in the result, or the error names it.
 */
function knownToConfig(key: string): boolean {
  const name = key.endsWith("_FILE") ? key.slice(0, -"_FILE".length) : key;
  try {
    return name in loadConfig({ [name]: "1" });
  } catch (error) {
    return (error as Error).message.includes(name);
  }
}

/** Read by the C library and Node's runtime, not by the platform's configuration. */
const RUNTIME_VARIABLES = ["RES_OPTIONS", "UV_THREADPOOL_SIZE"];

const secretFiles = mkdtempSync(join(tmpdir(), "obiente-stack-secrets-"));
after(() => rmSync(secretFiles, { recursive: true, force: true }));

/**
 * The process environment a platform service's task gets: its variables, each NAME_FILE pointing
 * at a file that holds the sample of NAME (as Swarm mounts the secret at /run/secrets/NAME).
 */
function platformEnv(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  const targets = secretTargets(service);
  for (const [key, value] of Object.entries(service.environment ?? {})) {
    const text = value === null ? "" : String(value);
    const secret = /^\/run\/secrets\/([A-Z_]+)$/.exec(text)?.[1];
    if (key.endsWith("_FILE") && secret) {
      assert.ok(targets.includes(secret), `${key}: the service mounts the secret ${secret}`);
      const sample = SECRET_SAMPLES[secret];
      assert.ok(sample, `secret ${secret}: a variable of src/config/config.ts with a sample here`);
      const file = join(secretFiles, secret);
      writeFileSync(file, `${sample}\n`);
      env[key] = file;
    } else {
      env[key] = text;
    }
  }
  return env;
}

describe("deploy/stack.yml", () => {
  const stack = loadStack(exampleEnv);
  const services = stack.services;
  const platform = Object.entries(services).filter(
    ([, service]) => service.image === exampleEnv.OBIENTE_IMAGE,
  );

  test("needs the settings it names, and has them in deploy/stack.env.example", () => {
    assert.throws(() => loadStack({}), /OBIENTE_IMAGE is required/);
    assert.deepEqual(platform.map(([name]) => name).sort(), ["agent", "api", "controller"]);
  });

  test("no message of a required variable has '-' or '?': the docker CLI would read a default there", () => {
    // Docker 20.10's stack deploy looks for "-" before ":?" in ${…}: `${REGISTRY:?e.g.
    // obiente-apps}` gave REGISTRY the value "apps" whatever the environment said.
    for (const file of [STACK_FILE, TRAEFIK_FILE]) {
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/\$\{[A-Za-z_][A-Za-z0-9_]*:?\?([^}]*)\}/g)) {
        assert.doesNotMatch(match[1] ?? "", /[-?]/, `${file}: ${match[0]}`);
      }
    }
  });

  test("every platform service's environment and secrets are accepted by loadConfig", () => {
    for (const [name, service] of platform) {
      const env = platformEnv(service);
      const config = loadConfig(env);
      const unknown = Object.keys(env).filter(
        (key) => !knownToConfig(key) && !RUNTIME_VARIABLES.includes(key),
      );
      assert.deepEqual(unknown, [], `${name}: variables src/config/config.ts does not know`);
      assert.deepEqual(config.ROLES, [name], `${name}: ROLES`);
      assert.equal(config.RUNTIME, "swarm");
      assert.equal(config.EDGE, "caddy");
      assert.equal(config.CADDY_MODE, "pull");
      assert.equal(config.HOST, "0.0.0.0", `${name}: reachable from the overlay network`);
      // Secrets through NAME_FILE: no shell step, the image's own entrypoint.
      assert.equal(config.DATABASE_URL, SECRET_SAMPLES.DATABASE_URL);
      assert.equal(config.METRICS_DATABASE_URL, SECRET_SAMPLES.METRICS_DATABASE_URL);
      assert.equal(config.SECRETS_MASTER_KEY, SECRET_SAMPLES.SECRETS_MASTER_KEY);
      assert.equal(service.entrypoint, undefined, `${name}: the image's entrypoint`);
      assert.equal(service.command, undefined, `${name}: the image's command`);
      // Redis behind Sentinel: every Sentinel the URL names is a service of the stack.
      const redis = parseRedisUrl(config.REDIS_URL ?? "");
      assert.equal(redis.kind, "sentinel");
      if (redis.kind === "sentinel") {
        for (const sentinel of redis.sentinels) assert.ok(services[sentinel.host], sentinel.host);
        assert.equal(redis.name, services["redis-1"]?.environment?.REDIS_MASTER_NAME);
      }
      // The database through HAProxy, a service of the stack.
      assert.ok(services[new URL(config.DATABASE_URL ?? "").hostname]);
    }
  });

  test("the checks above can fail: an unknown variable, an invalid value", () => {
    assert.equal(knownToConfig("OIDC_JWKS_URI"), true);
    assert.equal(knownToConfig("DATABASE_URL_FILE"), true);
    assert.equal(knownToConfig("REGISTRY_USERNAME"), true);
    assert.equal(knownToConfig("OIDC_JWKS_URL"), false);
    const api = services.api as Service;
    const broken = { ...api, environment: { ...api.environment, RUNTIME: "kubernetes" } };
    assert.throws(() => loadConfig(platformEnv(broken)), /RUNTIME/);
  });

  test("roles run where docs/swarm.md says; only the edge publishes ports", () => {
    const { agent, controller, api, caddy } = services;
    assert.ok(agent && controller && api && caddy);

    assert.equal(agent.deploy?.mode, "global", "agent: one per node");
    assert.ok(bindsDockerSocket(agent), "agent: the node's Docker socket");
    assert.equal(agent.environment?.DOCKER_HOST, "unix:///var/run/docker.sock");
    // The engine's helper for its iptables rules is not on in the stack yet (docs/security-network.md).
    assert.equal(loadConfig(platformEnv(agent)).NETWORK_ISOLATION_EXEC, "local");
    assert.equal(loadConfig(platformEnv(agent)).NETWORK_ISOLATION, "on");
    // Every process serves its metrics on METRICS_PORT (x-obiente-environment), the agent too.
    assert.equal(loadConfig(platformEnv(agent)).METRICS_PORT, 9464);
    assert.equal(loadConfig(platformEnv(agent)).METRICS_HOST, "0.0.0.0");

    assert.notEqual(controller.deploy?.mode, "global");
    const controllers = Number(controller.deploy?.replicas);
    assert.ok(controllers >= 2 && controllers <= 3, "controller: 2 or 3 replicas");
    assert.ok(controller.deploy?.placement?.constraints?.includes("node.role == manager"));
    assert.equal(controller.deploy?.placement?.max_replicas_per_node, 1);
    assert.ok(bindsDockerSocket(controller), "controller: a manager's Docker socket");
    for (const service of [agent, controller]) {
      assert.match(service.user ?? "", /^1000:\d+$/, "uid 1000 with the docker group");
    }

    assert.notEqual(api.deploy?.mode, "global");
    assert.ok(Number(api.deploy?.replicas) >= 2, "api: replicas");
    assert.ok(!bindsDockerSocket(api), "api: stateless, no Docker socket");
    assert.equal(api.deploy?.placement, undefined, "api: anywhere");

    assert.equal(caddy.deploy?.mode, "global");
    assert.ok(caddy.deploy?.placement?.constraints?.includes("node.labels.edge == true"));
    const hostPorts = (caddy.ports ?? []).filter((p) => p.mode === "host").map((p) => p.target);
    assert.deepEqual(hostPorts.sort(), [443, 80]);
    assert.equal(Number(caddy.sysctls?.["net.ipv4.ip_unprivileged_port_start"]), 0);

    for (const [name, service] of Object.entries(services)) {
      // No routing mesh (docs/stack.md): host-mode ports only, and names resolve to the tasks.
      for (const port of service.ports ?? []) assert.equal(port.mode, "host", `${name}: ports`);
      if (name !== "grafana") assert.equal(service.deploy?.endpoint_mode, "dnsrr", name);
      if (!["caddy", "grafana"].includes(name)) assert.deepEqual(service.ports ?? [], [], name);
    }
  });

  test("Caddy pulls from the API's endpoint with the API's token", () => {
    const caddy = services.caddy as Service;
    const api = services.api as Service;
    const url = new URL(String(caddy.environment?.CADDY_CONFIG_URL));
    assert.equal(url.pathname, CADDY_PROVIDER_PATH);
    assert.ok(services[url.hostname], `the loader's host "${url.hostname}" is a service`);
    const config = loadConfig(platformEnv(api));
    assert.equal(Number(url.port), config.PORT);
    assert.equal(config.CADDY_PROVIDER_TOKEN, SECRET_SAMPLES.CADDY_PROVIDER_TOKEN);
    const source = (service: Service, target: string) =>
      (service.secrets ?? []).find(
        (s): s is ServiceSecret => typeof s !== "string" && s.target === target,
      )?.source;
    assert.ok(source(caddy, "CADDY_PROVIDER_TOKEN"));
    assert.equal(source(caddy, "CADDY_PROVIDER_TOKEN"), source(api, "CADDY_PROVIDER_TOKEN"));
    assert.equal(caddy.environment?.CADDY_PROVIDER_TOKEN_FILE, "/run/secrets/CADDY_PROVIDER_TOKEN");
    // The API's own route goes to the API's tasks.
    assert.equal(config.CADDY_API_DOMAIN, exampleEnv.OBIENTE_API_DOMAIN);
    assert.equal(config.CADDY_API_UPSTREAM, `tasks.api:${config.PORT}`);
  });

  test("deploy/stack.traefik.yml: Traefik polls the API's provider with its token, Caddy runs nowhere", () => {
    const merged = mergeStacks(stack, readStack(TRAEFIK_FILE, exampleEnv));
    const traefik = merged.services.traefik as Service;
    const api = merged.services.api as Service;
    const args = traefik.command ?? [];
    const endpoint = args.find((a) => a.startsWith("--providers.http.endpoint="))?.split("=")[1];
    assert.ok(endpoint, "providers.http.endpoint");
    const url = new URL(endpoint);
    assert.equal(url.pathname, TRAEFIK_PROVIDER_PATH);
    assert.ok(merged.services[url.hostname], `the provider's host "${url.hostname}" is a service`);
    const config = loadConfig(platformEnv(api));
    assert.equal(config.EDGE, "traefik");
    assert.equal(Number(url.port), config.PORT);
    assert.equal(config.TRAEFIK_PROVIDER_TOKEN, SECRET_SAMPLES.TRAEFIK_PROVIDER_TOKEN);
    assert.match(
      traefik.entrypoint?.join(" ") ?? "",
      /headers\.Authorization=Bearer \$\(cat \/run\/secrets\/TRAEFIK_PROVIDER_TOKEN\)/,
    );
    const resolvers = args
      .map((a) => /^--certificatesResolvers\.([^.]+)\.acme\./.exec(a)?.[1])
      .filter((r) => r !== undefined);
    assert.deepEqual([...new Set(resolvers)], [config.TRAEFIK_CERT_RESOLVER]);
    assert.equal(traefik.deploy?.mode, "global");
    assert.ok(traefik.deploy?.placement?.constraints?.includes("node.labels.edge == true"));
    const caddyConstraints = merged.services.caddy?.deploy?.placement?.constraints ?? [];
    assert.ok(caddyConstraints.some((c) => c !== "node.labels.edge == true"));
    for (const service of ["controller", "agent"]) {
      assert.equal(loadConfig(platformEnv(merged.services[service] as Service)).EDGE, "traefik");
    }
  });

  test("Prometheus's targets are the stack's services, on the ports they serve", () => {
    const prometheus = parse(
      readFileSync(join(REPO_ROOT, "deploy/prometheus/prometheus.yml"), "utf8"),
    ) as {
      scrape_configs: {
        job_name: string;
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
      rule_files?: string[];
    };
    const ports: Record<string, number[]> = {
      api: [loadConfig(platformEnv(services.api as Service)).METRICS_PORT],
      agent: [loadConfig(platformEnv(services.agent as Service)).METRICS_PORT],
      controller: [loadConfig(platformEnv(services.controller as Service)).METRICS_PORT],
      caddy: [CADDY_METRICS_PORT],
      postgres: [8404],
      "postgres-1": [8008],
      "postgres-2": [8008],
      "postgres-3": [8008],
      "etcd-1": [2379],
      "etcd-2": [2379],
      "etcd-3": [2379],
      alertmanager: [9093],
    };
    let checked = 0;
    for (const job of prometheus.scrape_configs) {
      for (const sd of job.dns_sd_configs ?? []) {
        for (const name of sd.names) {
          const match = /^tasks\.([a-z0-9-]+)_([a-z0-9-]+)$/.exec(name);
          assert.ok(match, `${job.job_name}: ${name} is tasks.<stack>_<service>`);
          assert.equal(match[1], STACK_NAME);
          const service = match[2] as string;
          assert.ok(services[service], `${job.job_name}: no service "${service}" in the stack`);
          assert.ok(ports[service]?.includes(sd.port), `${job.job_name}: port ${sd.port}`);
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 10, `${checked} targets`);
    // The metrics listener is for Prometheus on the overlay network: no service publishes it.
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        assert.notEqual(port.target, ports.api?.[0], `${name} publishes the metrics port`);
      }
    }
    // Grafana's datasource names the prometheus service; the rules are mounted where
    // prometheus.yml reads them.
    const datasource = readFileSync(
      join(REPO_ROOT, "deploy/grafana/provisioning/datasources/prometheus.yml"),
      "utf8",
    );
    assert.match(datasource, /url: http:\/\/prometheus:9090/);
    assert.ok(services.prometheus && services.grafana && services.alertmanager);
    assert.ok(prometheus.rule_files?.includes("/etc/prometheus/rules/*.yml"));
  });

  test("PostgreSQL is a Patroni cluster on etcd behind HAProxy; secrets and configs are declared", () => {
    const members = Object.keys(services).filter((n) => /^postgres-\d$/.test(n));
    const etcd = Object.keys(services).filter((n) => /^etcd-\d$/.test(n));
    assert.equal(members.length, 3);
    assert.equal(etcd.length, 3);
    for (const name of members) {
      const env = services[name]?.environment ?? {};
      assert.equal(env.PATRONI_NAME, name);
      assert.equal(env.PATRONI_SCOPE, "obiente");
      assert.deepEqual(
        String(env.ETCD_HOSTS).split(","),
        etcd.map((host) => `${host}:2379`),
      );
    }
    const haproxy = services.postgres?.environment?.POSTGRES_MEMBERS;
    assert.deepEqual(String(haproxy).split(","), members);
    // The API asks every member's backup agent (`obiente backup`), with the members' token.
    const api = services.api as Service;
    const config = loadConfig(platformEnv(api));
    assert.deepEqual(
      config.BACKUP_AGENT_URLS,
      members.map((name) => `http://${name}:8009`),
    );
    assert.equal(config.BACKUP_AGENT_TOKEN, SECRET_SAMPLES.BACKUP_AGENT_TOKEN);
    const tokenSecret = (service: Service | undefined) =>
      service?.secrets?.find(
        (s): s is ServiceSecret => typeof s !== "string" && s.target === "BACKUP_AGENT_TOKEN",
      );
    for (const name of members) {
      assert.equal(
        tokenSecret(services[name])?.source,
        tokenSecret(api)?.source,
        `${name}: the API's token`,
      );
    }

    for (const [name, service] of Object.entries(services)) {
      for (const secret of service.secrets ?? []) {
        const source = typeof secret === "string" ? secret : secret.source;
        assert.ok(stack.secrets[source], `${name}: secret ${source} is declared`);
      }
      // Every *_FILE variable names a secret the service mounts.
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const target = /^\/run\/secrets\/(.+)$/.exec(String(value))?.[1];
        if (key.endsWith("_FILE") && target) {
          assert.ok(secretTargets(service).includes(target), `${name}: ${key}`);
        }
      }
    }
    for (const [name, config] of Object.entries(stack.configs)) {
      assert.ok(
        existsSync(resolve(dirname(STACK_FILE), config.file)),
        `config ${name}: ${config.file}`,
      );
    }
  });

  test(".dockerignore keeps the local state and installs out", () => {
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n");
    for (const entry of ["node_modules", ".obiente", "test-artifacts", "web/dist"]) {
      assert.ok(ignored.includes(entry), entry);
    }
  });
});

function dockerAvailable(): string | undefined {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe" });
  } catch {
    return "no Docker engine";
  }
  try {
    execFileSync("docker", ["image", "inspect", "obiente-test/node:latest"], { stdio: "pipe" });
  } catch {
    return "no obiente-test/node:latest (scripts/test-images.sh)";
  }
  return undefined;
}

describe("the obiente image", { skip: dockerAvailable() }, () => {
  const suffix = randomBytes(4).toString("hex");
  const baseTag = `obiente-stack-test/node:${suffix}`;
  const imageTag = `obiente-stack-test/obiente:${suffix}`;
  const container = `obiente-stack-test-${suffix}`;
  const secrets = mkdtempSync(join(tmpdir(), "obiente-secrets-"));
  chmodSync(secrets, 0o755); // listable by the image's uid 1000, as Swarm's /run/secrets is
  let modules: InstalledModules | undefined;
  let built = false;

  before(async () => {
    let t = Date.now();
    modules = await installModules(300_000);
    process.stdout.write(`# npm ci --omit=dev: ${Date.now() - t} ms\n`);
    // The local test base plus the libraries of the native add-ons (rollup, for the web build).
    await buildBaseWithAddonLibraries("obiente-test/node:latest", baseTag, modules.dir);
    t = Date.now();
    await buildImage({
      tag: imageTag,
      modules: modules.dir,
      buildArgs: { NODE_IMAGE: baseTag, DEPS: "context", INSTALL_GIT: "false" },
      timeoutMs: 900_000,
    });
    built = true;
    process.stdout.write(`# docker build: ${Date.now() - t} ms\n`);
  });

  after(async () => {
    await docker(["rm", "-f", container]).catch(() => "");
    await docker(["image", "rm", "-f", imageTag, baseTag]).catch(() => "");
    modules?.remove();
    rmSync(secrets, { recursive: true, force: true });
  });

  test("has the entrypoint, command, user, health check, and production dependencies only", async () => {
    assert.ok(built);
    const inspect = JSON.parse(await docker(["image", "inspect", imageTag]))[0].Config;
    assert.deepEqual(inspect.Entrypoint, ["node", "bin/obiente.js"]);
    assert.deepEqual(inspect.Cmd, ["up"]);
    assert.equal(inspect.User, "1000:1000");
    assert.ok(inspect.Healthcheck?.Test?.join(" ").includes("/health"));
    const listing = await docker([
      "run",
      "--rm",
      "--entrypoint",
      "/bin/sh",
      imageTag,
      "-c",
      "ls node_modules/@electric-sql dist web/dist; test ! -e test && test ! -e src && test ! -e node_modules/typescript && test ! -e node_modules/tsx && echo clean",
    ]);
    // The compiled program (dist/) and its one runtime dependency, PGlite; no TypeScript.
    assert.match(listing, /\bpglite\b/);
    assert.match(listing, /\bmain\.js\b/);
    assert.match(listing, /\bindex\.html\b/);
    assert.match(listing, /\bclean$/);
    const version = await docker(["run", "--rm", imageTag, "--version"]);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(version, pkg.version);
  });

  test("the api role answers /health and the provider, started as the stack starts it", async () => {
    assert.ok(built);
    const api = loadStack(exampleEnv).services.api as Service;
    // The stack's secrets, as files the way Swarm mounts them.
    for (const target of secretTargets(api)) {
      const file = join(secrets, target);
      writeFileSync(file, `${SECRET_SAMPLES[target]}\n`);
      chmodSync(file, 0o444);
    }
    // The stack's environment, as it is, but for what needs the rest of the stack: the
    // databases (PGlite here) and Redis (in-process services).
    const env = Object.entries(api.environment ?? {})
      .filter(
        ([key]) => !["REDIS_URL", "DATABASE_URL_FILE", "METRICS_DATABASE_URL_FILE"].includes(key),
      )
      .flatMap(([key, value]) => ["-e", `${key}=${value ?? ""}`]);
    const started = Date.now();
    // The image's own entrypoint and command, as the stack runs it.
    await docker([
      "run",
      "-d",
      "--name",
      container,
      "--health-interval",
      "1s",
      "--health-start-period",
      "60s",
      "-v",
      `${secrets}:/run/secrets:ro`,
      ...env,
      imageTag,
    ]);
    const address = await docker([
      "inspect",
      "-f",
      "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
      container,
    ]);
    assert.match(address, /^\d+\.\d+\.\d+\.\d+$/, "a container address");

    let health: Response | undefined;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      health = await fetch(`http://${address}:3000/health`).catch(() => undefined);
      if (health) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const logs = async () => docker(["logs", "--tail", "40", container]).catch(() => "");
    assert.ok(health, `no answer from ${address}:3000 within 90 s:\n${await logs()}`);
    const body = (await health.json()) as { status: string; version?: string };
    assert.equal(health.status, 200, JSON.stringify(body));
    process.stdout.write(`# /health answered ${Date.now() - started} ms after docker run\n`);

    // The provider token came from the secret file, through CADDY_PROVIDER_TOKEN_FILE.
    const provider = `http://${address}:3000${CADDY_PROVIDER_PATH}`;
    assert.equal((await fetch(provider)).status, 401);
    const authorized = await fetch(provider, {
      headers: { authorization: `Bearer ${SECRET_SAMPLES.CADDY_PROVIDER_TOKEN}` },
    });
    assert.equal(authorized.status, 200);
    assert.ok("apps" in ((await authorized.json()) as object));

    // The image's HEALTHCHECK agrees.
    let status = "";
    while (Date.now() < deadline) {
      status = await docker(["inspect", "-f", "{{.State.Health.Status}}", container]);
      if (status === "healthy") break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(status, "healthy", await logs());
    // Not root.
    assert.equal(await docker(["exec", container, "id", "-u"]), "1000");
  });
});
