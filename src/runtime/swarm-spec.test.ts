import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../domain/errors.js";
import { PIDS_LIMIT, RESTART_MAX_RETRIES } from "./docker-runtime.js";
import { loadFailure } from "./swarm-images.js";
import {
  apiAtLeast,
  checkServiceSpec,
  currentTask,
  featuresOf,
  portsTakenOnNode,
  type RawService,
  type RawTask,
  runningTask,
  type SwarmServiceSpec,
  serviceSpec,
  toServiceInfo,
  toServiceTask,
  toSwarmNode,
} from "./swarm-spec.js";

const NODE = "waekmcq5ioqklvi41d5ursgs0";
const OTHER = "ltww5eh5kxnuft5z4dzrlqx46";
const IMAGE = "sha256:784f7446b9b138b72aa88044ce410a47fb88c566723fbd824470a555333e6f47";

// biome-ignore lint/suspicious/noExplicitAny: the engine's JSON, read back field by field
type Json = any;

/** The service spec as the engine receives it. */
function build(replica: SwarmServiceSpec, hostPort: number, apiVersion: string): Json {
  return serviceSpec(replica, hostPort, featuresOf(apiVersion));
}

function spec(overrides: Partial<SwarmServiceSpec> = {}): SwarmServiceSpec {
  return {
    name: "obiente-dep-1-r0-784f7446b9b1",
    image: IMAGE,
    env: { GREETING: "hi", PORT: "1" },
    labels: { "cloud.obiente.deployment": "true", "cloud.obiente.deployment_id": "dep-1" },
    internalPort: 8080,
    cpuMillicores: 500,
    memoryMb: 128,
    nodeId: NODE,
    ...overrides,
  };
}

test("a replica is one pinned service, published in host mode, its image by content id", () => {
  const body = build(spec({ cmd: ["httpd", "-f"] }), 42001, "1.41");
  const task = body.TaskTemplate;
  const container = task.ContainerSpec;
  assert.equal(body.Name, "obiente-dep-1-r0-784f7446b9b1");
  assert.deepEqual(body.Mode, { Replicated: { Replicas: 1 } });
  assert.deepEqual(task.Placement, { Constraints: [`node.id==${NODE}`] });
  assert.deepEqual(body.EndpointSpec, {
    Mode: "dnsrr",
    Ports: [{ Protocol: "tcp", TargetPort: 8080, PublishedPort: 42001, PublishMode: "host" }],
  });
  assert.equal(container.Image, IMAGE);
  assert.deepEqual(container.Args, ["httpd", "-f"], "cmd replaces CMD, not ENTRYPOINT");
  assert.equal(container.Command, undefined);
  assert.deepEqual(container.Env, ["GREETING=hi", "PORT=8080"], "PORT is the internal port");
  assert.deepEqual(container.Labels, body.Labels, "the labels on service and container");
  assert.equal(body.Labels["cloud.obiente.deployment"], "true");
  assert.deepEqual(container.CapabilityDrop, ["ALL"]);
  assert.equal(container.Init, true, "an init process forwards SIGTERM to the app");
  assert.equal(container.Privileges, undefined, "no NoNewPrivileges field before API 1.44");
  assert.deepEqual(task.Resources, {
    Limits: { NanoCPUs: 500_000_000, MemoryBytes: 128 * 1024 * 1024, Pids: PIDS_LIMIT },
  });
  assert.equal(task.RestartPolicy.Condition, "on-failure");
  assert.equal(task.RestartPolicy.MaxAttempts, RESTART_MAX_RETRIES);
  assert.equal(task.Networks, undefined);
  assert.equal(body.UpdateConfig.Order, "start-first");
  assert.equal(body.UpdateConfig.FailureAction, "rollback");
  assert.equal(body.RollbackConfig.Order, "start-first");
  assert.equal(task.LogDriver.Name, "json-file");
});

test("newer engines get no-new-privileges per service; health checks and networks carry over", () => {
  const body = build(
    spec({
      network: "obiente-net-p1",
      healthCheck: { cmd: ["true"], intervalMs: 500, timeoutMs: 250, retries: 2, startPeriodMs: 0 },
    }),
    42002,
    "1.47",
  );
  const container = body.TaskTemplate.ContainerSpec;
  assert.deepEqual(container.Privileges, { NoNewPrivileges: true });
  assert.deepEqual(container.HealthCheck, {
    Test: ["CMD", "true"],
    Interval: 500_000_000,
    Timeout: 250_000_000,
    Retries: 2,
    StartPeriod: 0,
  });
  assert.deepEqual(body.TaskTemplate.Networks, [{ Target: "obiente-net-p1" }]);
  assert.equal(container.Args, undefined, "no cmd: the image's CMD");
});

test("API versions compare part by part", () => {
  assert.equal(apiAtLeast("1.41", "1.41"), true);
  assert.equal(apiAtLeast("1.9", "1.41"), false);
  assert.equal(apiAtLeast("1.100", "1.44"), true);
  assert.equal(apiAtLeast("2.0", "1.44"), true);
  assert.equal(apiAtLeast("junk", "1.41"), false);
  assert.deepEqual(featuresOf("1.43"), {
    apiVersion: "1.43",
    capabilityDrop: true,
    noNewPrivileges: false,
  });
});

test("bad specs are refused with invalid_argument", () => {
  const bad: Array<Partial<SwarmServiceSpec>> = [
    { name: `obiente-${"a".repeat(60)}` },
    { name: "has.dot" },
    { name: "-lead" },
    { nodeId: "node2" },
    { image: "" },
    { network: "" },
    { internalPort: 0 },
    { hostPort: 70000 },
    { cpuMillicores: 0 },
    { memoryMb: 4 },
    { env: { "A=B": "x" } },
    { healthCheck: { intervalMs: 0, timeoutMs: 1, retries: 1, startPeriodMs: 0 } },
  ];
  for (const overrides of bad) {
    assert.throws(
      () => checkServiceSpec(spec(overrides)),
      (error: unknown) => error instanceof DomainError && error.kind === "invalid_argument",
      JSON.stringify(overrides),
    );
  }
  checkServiceSpec(spec());
});

test("a node's address falls back to its advertised manager address", () => {
  const node = toSwarmNode({
    ID: NODE,
    Description: {
      Hostname: "node1",
      Resources: { NanoCPUs: 2e9, MemoryBytes: 1024 },
      Engine: { EngineVersion: "20.10.24" },
    },
    Spec: { Role: "manager", Availability: "active", Labels: { compute: "true" } },
    Status: { State: "ready", Addr: "0.0.0.0" },
    ManagerStatus: { Leader: true, Addr: "10.77.0.11:2377" },
  });
  assert.deepEqual(node, {
    id: NODE,
    hostname: "node1",
    address: "10.77.0.11",
    availability: "active",
    state: "ready",
    role: "manager",
    leader: true,
    labels: { compute: "true" },
    nanoCpus: 2e9,
    memoryBytes: 1024,
    engineVersion: "20.10.24",
    message: "",
  });
  assert.equal(
    toSwarmNode({ ID: OTHER, Status: { State: "down", Addr: "10.77.0.13" } }).address,
    "10.77.0.13",
  );
});

function service(id: string, ports: number[], pinned?: string): RawService {
  return {
    ID: id,
    Spec: {
      Name: id,
      TaskTemplate: { Placement: { Constraints: pinned ? [`node.id==${pinned}`] : [] } },
      EndpointSpec: {
        Ports: ports.map((port) => ({ Protocol: "tcp", PublishedPort: port, PublishMode: "host" })),
      },
    },
  };
}

test("ports taken on a node: pinned there, running there, or pinned nowhere", () => {
  const services = [
    service("here", [42001], NODE),
    service("elsewhere", [42002], OTHER),
    service("global", [80, 443]),
    service("moved", [42003], OTHER),
    {
      ...service("ingress", []),
      Endpoint: { Ports: [{ PublishedPort: 9000, PublishMode: "ingress" }] },
    },
  ];
  const tasks: RawTask[] = [
    { ID: "t1", ServiceID: "moved", NodeID: NODE },
    {
      ID: "t2",
      ServiceID: "gone",
      NodeID: NODE,
      Status: { PortStatus: { Ports: [{ PublishedPort: 42004, PublishMode: "host" }] } },
    },
  ];
  assert.deepEqual(
    [...portsTakenOnNode(NODE, services, tasks)].sort((a, b) => a - b),
    [80, 443, 42001, 42003, 42004],
  );
});

test("the current and the running task; a service's state says whether it serves", () => {
  const task = (id: string, at: string, state: string, desired: string): RawTask => ({
    ID: id,
    CreatedAt: at,
    DesiredState: desired,
    Status: { State: state },
  });
  const old = task("old", "2024-01-01T00:00:00Z", "running", "running");
  const stuck = task("new", "2024-01-01T00:01:00Z", "pending", "running");
  const failed = task("f", "2023-12-31T00:00:00Z", "failed", "shutdown");
  const tasks = [failed, old, stuck].map(toServiceTask);
  assert.equal(currentTask(tasks)?.id, "new");
  assert.equal(runningTask(tasks)?.id, "old");
  const info = toServiceInfo(service("s", [42001], NODE), tasks);
  assert.equal(info.state, "running", "the old task still serves while the new one waits");
  assert.deepEqual(
    info.tasks.map((t) => t.id),
    ["new", "old", "f"],
  );
  assert.equal(info.nodeId, NODE);
  assert.equal(info.hostPort, 42001);
  assert.equal(toServiceInfo(service("s", []), []).state, "none");
});

test("load progress: the engine's error, if any", () => {
  assert.equal(loadFailure('{"stream":"Loaded image ID: sha256:ab\\n"}\n'), undefined);
  assert.equal(
    loadFailure('{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n'),
    "unexpected EOF",
  );
  assert.equal(loadFailure("not json\n"), undefined);
});

test("a task gets the grace period it is given to stop (STOP_TIMEOUT_SECONDS), 10 s by default", () => {
  const grace = (body: Json) => body.TaskTemplate.ContainerSpec.StopGracePeriod;
  assert.equal(grace(build(spec(), 42001, "1.44")), 10_000_000_000);
  assert.equal(grace(serviceSpec(spec(), 42001, featuresOf("1.44"), 2_000)), 2_000_000_000);
});
