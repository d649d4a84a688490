/**
 * The production stack (deploy/stack.yml) deployed with `docker stack deploy` on the three-node
 * Swarm harness (test/helpers/swarm.ts), as docs/stack.md tells an operator to:
 * - the images built from the repository (test/helpers/stack-images.ts) loaded into every node's
 *   engine, and named by content id, so that no node tries a registry;
 * - all three nodes managers (Raft survives losing one; the controllers run on managers);
 * - labels: node K carries db=K and cache=K (its etcd, PostgreSQL and Redis members), node1
 *   monitoring=true, node2 and node3 edge=true, every node compute=true;
 * - the secrets, created from values made here;
 * - deploy/stack.yml itself plus an override with only what differs here: images by id, each
 *   node's own engine socket (the harness's engines share one filesystem, so /var/run/docker.sock
 *   would be the host's: a Swarm template names each node's socket instead), the test registry's
 *   password and plain HTTP, and no Grafana (Debian has no package; its image cannot be pulled);
 * - a git daemon and an image registry on the harness's bridge address (10.77.0.1), for the
 *   apps the platform builds.
 * Traffic goes only to the harness's own addresses (10.77.0.0/24).
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { LookupFunction } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { stringify } from "yaml";
import { eventually, freePort, requestByHost, type SimpleResponse } from "./caddy.js";
import { type FixtureRepo, makeFixtureRepo } from "./git-fixtures.js";
import { REPO_ROOT } from "./image.js";
import {
  BRIDGE_ADDRESS,
  prepareRegistry,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  type TestRegistry,
} from "./registry.js";
import { type StackImages, stackImages } from "./stack-images.js";
import { type SwarmHarness, type SwarmNodeHandle, startSwarm } from "./swarm.js";

const run = promisify(execFile);
export const STACK = "obiente";
export const API_DOMAIN = "cloud.obiente.test";
export const PLATFORM_DOMAIN = "apps.obiente.test";

export interface DeployedStack {
  swarm: SwarmHarness;
  images: StackImages;
  repo: FixtureRepo;
  /** git://10.77.0.1:PORT/NAME: the fixture repository, for the platform's builder. */
  gitUrl: string;
  registry: TestRegistry;
  /** Where the stack's pgBackRest repository lives (bind-mounted on every database node). */
  backupDir: string;
  /** The values of the secrets created. */
  secrets: Record<string, string>;
  /** The nodes labelled edge=true. */
  edges: SwarmNodeHandle[];
  /** The administrator's token, read from the first platform process's log. */
  token: string;
  /** How long each step took. */
  timings: Record<string, number>;
  /** `docker …` against the given node's engine (default the first manager that answers). */
  docker(args: string[], node?: SwarmNodeHandle, timeoutMs?: number): Promise<string>;
  /** A client of the API through an edge node (default the first edge). */
  client<S extends DescService>(service: S, edge?: SwarmNodeHandle): Client<S>;
  /** A request through an edge node to the API's domain, with the administrator's token. */
  api(
    path: string,
    options?: { method?: string; body?: string; edge?: SwarmNodeHandle; timeoutMs?: number },
  ): Promise<SimpleResponse>;
  /** GET through an edge node with a Host header. */
  get(
    host: string,
    path?: string,
    edge?: SwarmNodeHandle,
    timeoutMs?: number,
  ): Promise<SimpleResponse>;
  /** The running tasks of a service (`obiente_<name>`): node name, container id, state. */
  tasks(service: string): Promise<Array<{ node: string; id: string; state: string }>>;
  /** The running containers of a service, on the nodes that answer. */
  containers(service: string): Promise<Array<{ node: SwarmNodeHandle; id: string }>>;
  /** `docker exec` in the first running container of a service that answers. */
  exec(service: string, args: string[], timeoutMs?: number): Promise<string>;
  /** SIGKILL a container of the service (Swarm then starts another task). */
  kill(service: string, node?: SwarmNodeHandle): Promise<SwarmNodeHandle>;
  /**
   * SIGKILL the container of a one-replica service and keep it down (its replicas set to 0
   * within the restart delay): a member that is lost, not one that comes straight back.
   */
  lose(service: string): Promise<{ node: SwarmNodeHandle; at: number }>;
  /** Sets a service's replicas (after `lose`, 1 brings the member back). */
  scale(service: string, replicas: number): Promise<void>;
  /** Patroni's view of the cluster, from any member that answers. */
  patroniMembers(): Promise<Array<{ Member: string; Role: string; State: string; TL?: number }>>;
  /** A switchover to `candidate` (patronictl), waiting until it leads. */
  switchover(candidate: string): Promise<void>;
  /** Every service's logs into `dir` (one file per service), for a failure's post-mortem. */
  saveLogs(dir: string): Promise<void>;
  /** The Patroni member that leads (none while there is no leader). */
  postgresLeader(): Promise<string | undefined>;
  /** The Redis member the Sentinels name as the master. */
  redisMaster(): Promise<string | undefined>;
  /** The node whose controller holds the leader lock. */
  controllerLeader(): Promise<SwarmNodeHandle | undefined>;
  /** The controller's container that holds the leader lock. */
  controllerLeaderContainer(): Promise<{ node: SwarmNodeHandle; id: string } | undefined>;
  /** Crashes a node (scripts/swarm-node-crash.sh): its link down, every process of it killed. */
  crash(node: SwarmNodeHandle): Promise<void>;
  close(): Promise<number>;
}

/** docker CLI against one engine of the harness. */
async function dockerAt(socket: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run("docker", ["-H", socket, ...args], {
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}

/** `docker save` once, `docker load` into every node at once. */
async function loadImages(swarm: SwarmHarness, ids: string[], dir: string): Promise<void> {
  const tar = join(dir, "stack-images.tar");
  await run("docker", ["save", "-o", tar, ...ids], { timeout: 600_000 });
  try {
    await Promise.all(
      swarm.nodes.map((node) =>
        run("docker", ["-H", node.socket, "load", "-q", "-i", tar], { timeout: 900_000 }),
      ),
    );
  } finally {
    await rm(tar, { force: true });
  }
}

function startGitDaemon(repo: FixtureRepo, port: number): ChildProcess {
  return spawn(
    "git",
    [
      "daemon",
      "--reuseaddr",
      `--listen=${BRIDGE_ADDRESS}`,
      `--port=${port}`,
      `--base-path=${dirname(repo.dir)}`,
      "--export-all",
      repo.dir,
    ],
    { stdio: "ignore" },
  );
}

export async function deployStack(options: { apiReplicas?: number } = {}): Promise<DeployedStack> {
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await step();
    } finally {
      timings[name] = Date.now() - started;
    }
  };
  const cleanups: Array<() => Promise<unknown>> = [];
  /** Once the stack is deployed: its services' logs into test-artifacts/, if a later step fails. */
  let keepLogs: (() => Promise<void>) | undefined;
  const close = async () => {
    const started = Date.now();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    return Date.now() - started;
  };
  try {
    const images = await timed("images", stackImages);
    const dir = await mkdtemp(join(tmpdir(), "obiente-stack-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [repo, registry, gitPort] = await Promise.all([
      makeFixtureRepo(),
      prepareRegistry(),
      freePort(),
    ]);
    cleanups.push(() => repo.cleanup());
    cleanups.push(() => registry.close());

    const swarm = await timed("swarm-up", () => startSwarm(3));
    cleanups.push(() => swarm.down());
    const manager = swarm.nodes[0] as SwarmNodeHandle;
    await registry.start();
    const git = startGitDaemon(repo, gitPort);
    cleanups.push(async () => {
      git.kill("SIGTERM");
    });

    // Every node a manager: the controllers' standby runs on another manager, and the Swarm
    // keeps its quorum when one node is lost.
    const others = swarm.nodes.slice(1).map((node) => node.id);
    await dockerAt(manager.socket, ["node", "promote", ...others]);
    await timed("load-images", () =>
      loadImages(swarm, [...Object.values(images.ids), images.obiente], dir),
    );
    for (const [index, node] of swarm.nodes.entries()) {
      const k = index + 1;
      const labels = [`db=${k}`, `cache=${k}`];
      if (k === 1) labels.push("monitoring=true");
      else labels.push("edge=true");
      await dockerAt(manager.socket, [
        "node",
        "update",
        ...labels.flatMap((label) => ["--label-add", label]),
        node.id,
      ]);
    }
    const edges = swarm.nodes.slice(1);

    const secret = () => randomBytes(24).toString("hex");
    const appPassword = secret();
    const secrets: Record<string, string> = {
      obiente_master_key: randomBytes(32).toString("hex"),
      obiente_caddy_provider_token: secret(),
      obiente_backup_agent_token: secret(),
      obiente_pg_superuser_password: secret(),
      obiente_pg_replication_password: secret(),
      obiente_pg_app_password: appPassword,
      obiente_pg_admin_password: secret(),
      obiente_grafana_admin_password: secret(),
      obiente_database_url: `postgres://obiente:${appPassword}@postgres:5432/obiente`,
      obiente_metrics_database_url: `postgres://obiente:${appPassword}@postgres:5432/obiente_metrics`,
      obiente_registry_password: REGISTRY_PASSWORD,
    };
    for (const [name, value] of Object.entries(secrets)) {
      await new Promise<void>((resolve, reject) => {
        const child = spawn("docker", ["-H", manager.socket, "secret", "create", name, "-"], {
          stdio: ["pipe", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on("close", (code) =>
          code === 0 ? resolve() : reject(new Error(`docker secret create ${name}: ${stderr}`)),
        );
        child.stdin.end(value);
      });
    }

    const backupDir = join(dir, "pgbackrest");
    await mkdir(backupDir);
    await chmod(backupDir, 0o777);
    const socketOf = `${swarm.dir}/{{.Node.Hostname}}/docker.sock`;
    const engineSocket = [{ type: "bind", source: socketOf, target: "/var/run/docker.sock" }];
    const image = (id: string | undefined) => {
      assert.ok(id, "an image id");
      return { image: id };
    };
    const override = {
      version: "3.8",
      services: {
        api: {
          ...image(images.obiente),
          // Every test request comes from one address (the host's, on the bridge): the
          // per-address limit would answer 429 to the load the fault tests send.
          environment: { RATE_LIMIT_MAX: "1000000" },
        },
        controller: {
          ...image(images.obiente),
          environment: {
            REGISTRY_PASSWORD_FILE: "/run/secrets/REGISTRY_PASSWORD",
            REGISTRY_INSECURE: "true",
          },
          secrets: [
            {
              source: "obiente_registry_password",
              target: "REGISTRY_PASSWORD",
              uid: "1000",
              mode: 0o400,
            },
          ],
          volumes: engineSocket,
        },
        agent: { ...image(images.obiente), volumes: engineSocket },
        caddy: image(images.ids.caddy),
        "etcd-1": image(images.ids.etcd),
        "etcd-2": image(images.ids.etcd),
        "etcd-3": image(images.ids.etcd),
        "postgres-1": image(images.ids.postgres),
        "postgres-2": image(images.ids.postgres),
        "postgres-3": image(images.ids.postgres),
        postgres: image(images.ids.haproxy),
        "redis-1": image(images.ids.redis),
        "redis-2": image(images.ids.redis),
        "redis-3": image(images.ids.redis),
        prometheus: image(images.ids.prometheus),
        alertmanager: image(images.ids.alertmanager),
        grafana: { deploy: { replicas: 0 } },
      },
      secrets: { obiente_registry_password: { external: true } },
    };
    // The harness's nodes have no DNS server beyond Docker's own: a name Docker does not know
    // (a member whose task is gone) would be sent on and time out after 10 s. Redis Sentinel
    // resolves names blocking, so that stalled it into its TILT mode (30 s without failing
    // over). A real cluster's resolvers answer NXDOMAIN at once; here the harness's bridge
    // address, where nothing listens on port 53, refuses at once. (Not a loopback address:
    // Docker replaces loopback-only DNS settings with public resolvers.)
    for (const service of Object.values(override.services) as Array<Record<string, unknown>>) {
      service.dns = [BRIDGE_ADDRESS];
    }
    const overrideFile = join(dir, "stack.test.yml");
    await writeFile(overrideFile, stringify(override));
    const { gid } = await run("getent", ["group", "docker"]).then(
      (r) => ({ gid: r.stdout.split(":")[2] ?? "0" }),
      () => ({ gid: "0" }),
    );
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      OBIENTE_IMAGE: images.obiente,
      STACK_IMAGE_PREFIX: "obiente-",
      STACK_IMAGE_TAG: "by-id-in-the-override",
      PLATFORM_DOMAIN,
      OBIENTE_API_DOMAIN: API_DOMAIN,
      ACME_CA: "",
      ACME_EMAIL: "ops@obiente.test",
      REGISTRY: `${registry.host}/stack`,
      REGISTRY_USERNAME: REGISTRY_USER,
      DOCKER_GID: gid,
      PGBACKREST_REPO_HOST_PATH: backupDir,
      OBIENTE_API_REPLICAS: String(options.apiReplicas ?? 2),
      LOG_LEVEL: "info",
    };
    await timed("stack-deploy", () =>
      run(
        "docker",
        [
          "-H",
          manager.socket,
          "stack",
          "deploy",
          "--resolve-image",
          "never",
          "-c",
          join(REPO_ROOT, "deploy/stack.yml"),
          "-c",
          overrideFile,
          STACK,
        ],
        { env, timeout: 120_000 },
      ),
    );

    const managers = swarm.nodes;
    const firstAlive = async (nodes: SwarmNodeHandle[]) => {
      for (const node of nodes) {
        if (
          await dockerAt(node.socket, ["info", "-f", "{{.ID}}"], 5_000).then(Boolean, () => false)
        )
          return node;
      }
      throw new Error("no engine answers");
    };
    const docker = async (args: string[], node?: SwarmNodeHandle, timeoutMs?: number) => {
      if (node) return dockerAt(node.socket, args, timeoutMs);
      let last: unknown;
      for (const candidate of managers) {
        try {
          return await dockerAt(candidate.socket, args, timeoutMs);
        } catch (error) {
          last = error;
        }
      }
      throw last;
    };
    keepLogs = async () => {
      const dir = join(
        REPO_ROOT,
        "test-artifacts",
        `stack-failed-${new Date().toISOString().replace(/[:.]/g, "-")}`,
      );
      await mkdir(dir, { recursive: true });
      const names = await docker(["stack", "services", "--format", "{{.Name}}", STACK]);
      for (const name of names.split("\n").filter(Boolean)) {
        const logs = await run(
          "docker",
          ["-H", manager.socket, "service", "logs", "--raw", "--timestamps", "--tail", "500", name],
          { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
        ).then(
          (r) => `${r.stdout}\n--- stderr ---\n${r.stderr}`,
          (e: unknown) => `(no logs: ${String(e)})`,
        );
        await writeFile(join(dir, `${name}.log`), logs);
      }
      console.log(`# the services' logs: ${dir}`);
    };
    const edgeLookup =
      (edge: SwarmNodeHandle): LookupFunction =>
      (_hostname, options, callback) => {
        if ((options as { all?: boolean }).all) {
          (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
            { address: edge.address, family: 4 },
          ]);
        } else callback(null, edge.address, 4);
      };
    const get = (host: string, path = "/", edge = edges[0], timeoutMs = 5_000) => {
      assert.ok(edge);
      return requestByHost(80, host, path, { address: edge.address, timeoutMs });
    };

    // The API, through the edge, on each edge node.
    await timed("api-through-edge", () =>
      Promise.all(
        edges.map((edge) =>
          eventually(
            async () => {
              const response = await get(API_DOMAIN, "/health", edge).catch(() => undefined);
              return response?.status === 200 ? true : undefined;
            },
            900_000,
            `the API through the edge on ${edge.name}`,
            1_000,
          ),
        ),
      ),
    );
    // The process that created the administrator wrote its token to DATA_DIR (the image's
    // /var/lib/obiente) and printed it once; the file is asked first, as an operator would.
    const token = await eventually(
      async () => {
        for (const service of ["api", "controller"]) {
          for (const node of swarm.nodes) {
            const ids = await dockerAt(
              node.socket,
              ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${STACK}_${service}`],
              10_000,
            ).catch(() => "");
            for (const id of ids.split("\n").filter(Boolean)) {
              const file = await dockerAt(
                node.socket,
                ["exec", id, "cat", "/var/lib/obiente/bootstrap-admin-token"],
                10_000,
              ).catch(() => "");
              if (/^obt_\S+$/.test(file)) return file;
            }
          }
        }
        for (const service of ["api", "controller", "agent"]) {
          const logs = await docker(["service", "logs", "--raw", `${STACK}_${service}`]).catch(
            () => "",
          );
          const match = /token: (\S+)/.exec(logs);
          if (match?.[1]) return match[1];
        }
        return undefined;
      },
      60_000,
      "the administrator's token in the platform's logs",
      1_000,
    );

    const stack: DeployedStack = {
      swarm,
      images,
      repo,
      gitUrl: `git://${BRIDGE_ADDRESS}:${gitPort}/${basename(repo.dir)}`,
      registry,
      backupDir,
      secrets,
      edges,
      token,
      timings,
      docker,
      client(service, edge = edges[0]) {
        assert.ok(edge);
        return createClient(
          service,
          createConnectTransport({
            baseUrl: `http://${API_DOMAIN}`,
            httpVersion: "1.1",
            nodeOptions: { lookup: edgeLookup(edge) },
            interceptors: [
              (next) => (req) => {
                req.header.set("authorization", `Bearer ${token}`);
                return next(req);
              },
            ],
          }),
        );
      },
      get,
      api(path, apiOptions = {}) {
        const edge = apiOptions.edge ?? edges[0];
        assert.ok(edge);
        return new Promise<SimpleResponse>((resolve, reject) => {
          const req = http.request(
            {
              host: edge.address,
              port: 80,
              path,
              method: apiOptions.method ?? "GET",
              headers: {
                host: API_DOMAIN,
                authorization: `Bearer ${token}`,
                ...(apiOptions.body ? { "content-type": "application/json" } : {}),
              },
              agent: false,
              timeout: apiOptions.timeoutMs ?? 10_000,
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (chunk: Buffer) => chunks.push(chunk));
              res.on("error", reject);
              res.on("end", () =>
                resolve({
                  status: res.statusCode ?? 0,
                  headers: res.headers,
                  body: Buffer.concat(chunks).toString("utf8"),
                }),
              );
            },
          );
          req.on("timeout", () => req.destroy(new Error(`${path} timed out`)));
          req.on("error", reject);
          req.end(apiOptions.body);
        });
      },
      async tasks(service) {
        const out = await docker([
          "service",
          "ps",
          "--no-trunc",
          "--filter",
          "desired-state=running",
          "--format",
          "{{.Node}}\t{{.ID}}\t{{.CurrentState}}",
          `${STACK}_${service}`,
        ]);
        return out
          .split("\n")
          .filter(Boolean)
          .map((line) => {
            const [node = "", id = "", state = ""] = line.split("\t");
            return { node, id, state };
          });
      },
      async containers(service) {
        const found: Array<{ node: SwarmNodeHandle; id: string }> = [];
        for (const node of swarm.nodes) {
          const ids = await dockerAt(
            node.socket,
            ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${STACK}_${service}`],
            10_000,
          ).catch(() => "");
          for (const id of ids.split("\n").filter(Boolean)) found.push({ node, id });
        }
        return found;
      },
      async exec(service, args, timeoutMs = 30_000) {
        let last: unknown = new Error(`no running container of ${service}`);
        for (const { node, id } of await stack.containers(service)) {
          try {
            return await dockerAt(node.socket, ["exec", id, ...args], timeoutMs);
          } catch (error) {
            last = error;
          }
        }
        throw last;
      },
      async kill(service, on) {
        const running = (await stack.containers(service)).filter((c) => !on || c.node === on);
        const victim = running[0];
        assert.ok(victim, `a running container of ${service}`);
        await dockerAt(victim.node.socket, ["kill", victim.id]);
        return victim.node;
      },
      async lose(service) {
        const [victim] = await stack.containers(service);
        assert.ok(victim, `a running container of ${service}`);
        const at = Date.now();
        await dockerAt(victim.node.socket, ["kill", victim.id]);
        await stack.scale(service, 0);
        return { node: victim.node, at };
      },
      async scale(service, replicas) {
        await docker([
          "service",
          "update",
          "--detach",
          "--replicas",
          String(replicas),
          `${STACK}_${service}`,
        ]);
      },
      async patroniMembers() {
        for (const member of ["postgres-1", "postgres-2", "postgres-3"]) {
          try {
            const out = await stack.exec(
              member,
              ["patronictl", "-c", "/var/run/postgresql/patroni.yml", "list", "-f", "json"],
              10_000,
            );
            return JSON.parse(out) as Array<{ Member: string; Role: string; State: string }>;
          } catch {
            // that member is down: ask another
          }
        }
        return [];
      },
      async postgresLeader() {
        const members = await stack.patroniMembers();
        return members.find((m) => m.Role === "Leader" && m.State === "running")?.Member;
      },
      async switchover(candidate) {
        if ((await stack.postgresLeader()) === candidate) return;
        // In synchronous mode Patroni hands over only to the synchronous standby: off for the
        // switchover, on again after it.
        const patronictl = ["patronictl", "-c", "/var/run/postgresql/patroni.yml"];
        const synchronous = async (on: boolean) =>
          stack.exec(candidate, [
            ...patronictl,
            "edit-config",
            "--force",
            "-s",
            `synchronous_mode=${on}`,
          ]);
        await synchronous(false);
        await until(
          `a switchover to ${candidate}`,
          async () => {
            const leader = await stack.postgresLeader();
            if (leader === candidate) return true;
            // Patroni refuses a switchover to a member that is not a streaming replica yet.
            if (!leader) return false;
            await stack.exec(
              candidate,
              [
                ...patronictl,
                "switchover",
                "--leader",
                leader,
                "--candidate",
                candidate,
                "--force",
              ],
              60_000,
            );
            return (await stack.postgresLeader()) === candidate;
          },
          120_000,
          2_000,
        );
        await synchronous(true);
        await until(
          "a synchronous standby again",
          async () => (await stack.patroniMembers()).some((m) => m.Role === "Sync Standby"),
          60_000,
          1_000,
        );
      },
      async saveLogs(dir) {
        await mkdir(dir, { recursive: true });
        const names = await docker(["stack", "services", "--format", "{{.Name}}", STACK]).catch(
          () => "",
        );
        // All at once: a service with a task on a lost node streams until the timeout, and one
        // after another that held the machine's Swarm lock for minutes. What came before the
        // timeout is kept.
        const alive = await firstAlive(managers);
        await Promise.all(
          names
            .split("\n")
            .filter(Boolean)
            .map(async (name) => {
              // A container's stderr comes out on the CLI's stderr: both are kept.
              const logs = await run(
                "docker",
                [
                  "-H",
                  alive.socket,
                  "service",
                  "logs",
                  "--raw",
                  "--timestamps",
                  "--tail",
                  "3000",
                  name,
                ],
                { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
              ).then(
                (r) => `${r.stdout}\n--- stderr ---\n${r.stderr}`,
                (error: { stdout?: string; stderr?: string }) =>
                  `${error.stdout ?? ""}\n--- stderr ---\n${error.stderr ?? ""}\n(cut: ${String(error)})`,
              );
              await writeFile(join(dir, `${name}.log`), logs);
            }),
        );
      },
      async redisMaster() {
        // The Sentinels know the members by address (deploy/images/redis/obiente-redis): the
        // member is the one whose container has that address.
        const members = ["redis-1", "redis-2", "redis-3"];
        let address: string | undefined;
        for (const member of members) {
          try {
            const out = await stack.exec(
              member,
              ["redis-cli", "-p", "26379", "sentinel", "get-master-addr-by-name", "obiente"],
              10_000,
            );
            address = out.split("\n")[0]?.trim() || undefined;
            if (address) break;
          } catch {
            // that member is down: ask another
          }
        }
        if (!address) return undefined;
        for (const member of members) {
          const own = await stack.exec(member, ["hostname", "-i"], 10_000).catch(() => "");
          if (own.split(/\s+/).includes(address)) return member;
        }
        return undefined;
      },
      async controllerLeader() {
        return (await stack.controllerLeaderContainer())?.node;
      },
      async controllerLeaderContainer() {
        const master = await stack.redisMaster();
        if (!master) return undefined;
        const owner = await stack
          .exec(master, ["redis-cli", "GET", "obiente:lock:controller"], 10_000)
          .catch(() => "");
        // The lock's owner starts with its container's hostname: the container id's first 12.
        const hostname = owner.split("-")[0] ?? "";
        if (hostname.length < 12) return undefined;
        return (await stack.containers("controller")).find((c) => c.id.startsWith(hostname));
      },
      async crash(node) {
        const k = node.name.replace(/^node/, "");
        await run("bash", [join(REPO_ROOT, "scripts/swarm-node-crash.sh"), swarm.dir, k], {
          timeout: 60_000,
        });
      },
      close,
    };
    return stack;
  } catch (error) {
    await keepLogs?.().catch((e: unknown) => console.log(`# logs not kept: ${String(e)}`));
    await close();
    throw error;
  }
}

/** The node named `name`. */
export function nodeNamed(stack: DeployedStack, name: string): SwarmNodeHandle {
  const node = stack.swarm.nodes.find((n) => n.name === name);
  assert.ok(node, `no node ${name}`);
  return node;
}

/** Polls a condition every `everyMs` for up to `timeoutMs`; returns how long it took. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}
