import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { containerName, containerNames } from "../runtime/names.js";
import type { ContainerRef } from "../runtime/runtime-port.js";
import {
  B1,
  B2,
  D1,
  D2,
  N1,
  N2,
  N3,
  P1,
  type ReplicaOverrides,
  replicaContainer,
} from "./fixtures.js";
import {
  type DesiredDeployment,
  deploymentsToConverge,
  judge,
  lies,
  type PlanOptions,
  planReconcile,
  type ReconcilePlan,
  type RecordedLocation,
} from "./plan.js";

const GONE = "00000000-0000-4000-8000-0000000000ff";

/** What a plan does, with its buckets of deployments together as the deployments converged. */
interface Summary {
  converge: string[];
  removeOrphans: string[];
  dropLocations: string[];
}

const summary = (plan: ReconcilePlan): Summary => ({
  converge: deploymentsToConverge(plan),
  removeOrphans: plan.removeOrphans,
  dropLocations: plan.dropLocations,
});

const EMPTY: Summary = { converge: [], removeOrphans: [], dropLocations: [] };
const EMPTY_PLAN: ReconcilePlan = {
  start: [],
  stop: [],
  remove: [],
  place: [],
  removeOrphans: [],
  dropLocations: [],
};

function deployment(overrides: Partial<DesiredDeployment> = {}): DesiredDeployment {
  return {
    id: D1,
    projectId: P1,
    desiredState: "running",
    status: "running",
    currentBuildId: B1,
    replicas: 1,
    restartGeneration: 0,
    ...overrides,
  };
}

/** The container the deployer would run for this replica of this build. */
const container = (deploymentId: string, overrides: ReplicaOverrides = {}): ContainerRef =>
  replicaContainer(deploymentId, overrides);

const location = (id: string, deploymentId: string, containerId: string): RecordedLocation => ({
  id,
  deploymentId,
  containerId,
});

describe("planReconcile, case by case", () => {
  const running = container(D1);
  const cases: Array<{
    name: string;
    desired: DesiredDeployment[];
    actual: ContainerRef[];
    locations?: RecordedLocation[];
    policy?: "remove" | "keep";
    plan: Partial<Summary>;
    /** The buckets, where the case says which. */
    buckets?: Partial<ReconcilePlan>;
  }> = [
    { name: "nothing at all", desired: [], actual: [], plan: {} },
    {
      name: "a running deployment with its container up and recorded: nothing to do",
      desired: [deployment()],
      actual: [running],
      locations: [location("l1", D1, running.id)],
      plan: {},
    },
    {
      name: "a healthy container (with a health check) counts as up",
      desired: [deployment()],
      actual: [container(D1, { health: "healthy" })],
      plan: {},
    },
    {
      name: "its container is gone: converge, and drop the location",
      desired: [deployment()],
      actual: [],
      locations: [location("l1", D1, running.id)],
      plan: { converge: [D1], dropLocations: ["l1"] },
    },
    {
      name: "its container exited: converge, and drop the location",
      desired: [deployment()],
      actual: [{ ...running, state: "exited" }],
      locations: [location("l1", D1, running.id)],
      plan: { converge: [D1], dropLocations: ["l1"] },
    },
    {
      name: "its container is unhealthy: converge (the location stays until it stops)",
      desired: [deployment()],
      actual: [{ ...running, health: "unhealthy" }],
      locations: [location("l1", D1, running.id)],
      plan: { converge: [D1] },
    },
    {
      name: "a container of an older build is still there: converge",
      desired: [deployment({ currentBuildId: B2 })],
      actual: [running, container(D1, { buildId: B2 })],
      plan: { converge: [D1] },
    },
    {
      name: "a restart asked for (new restart generation): converge",
      desired: [deployment({ restartGeneration: 3 })],
      actual: [running],
      plan: { converge: [D1] },
    },
    {
      name: "scaled to two, one runs: converge",
      desired: [deployment({ replicas: 2 })],
      actual: [running],
      plan: { converge: [D1] },
    },
    {
      name: "scaled to one, two run: converge",
      desired: [deployment()],
      actual: [running, container(D1, { replica: 1 })],
      plan: { converge: [D1] },
    },
    {
      name: "a crash left it DEPLOYING with its container up: converge",
      desired: [deployment({ status: "deploying" })],
      actual: [running],
      plan: { converge: [D1] },
    },
    {
      name: "never built, or a build a crash interrupted: converge",
      desired: [
        deployment({ currentBuildId: null, status: "queued" }),
        deployment({ id: D2, currentBuildId: null, status: "building" }),
      ],
      actual: [],
      plan: { converge: [D1, D2] },
    },
    {
      name: "a failed deployment is left alone",
      desired: [deployment({ status: "failed", currentBuildId: null })],
      actual: [],
      plan: {},
    },
    {
      name: "stopped and nothing runs: nothing to do",
      desired: [deployment({ desiredState: "stopped", status: "stopped" })],
      actual: [],
      plan: {},
    },
    {
      name: "stopped but its container still runs: converge",
      desired: [deployment({ desiredState: "stopped", status: "stopped" })],
      actual: [running],
      plan: { converge: [D1] },
    },
    {
      name: "stop asked for, status not stopped yet: converge",
      desired: [deployment({ desiredState: "stopped", status: "running" })],
      actual: [],
      plan: { converge: [D1] },
    },
    {
      name: "deleted: converge, whatever runs",
      desired: [deployment({ desiredState: "deleted", status: "deleting" })],
      actual: [],
      plan: { converge: [D1] },
    },
    {
      name: "a container whose deployment has no record is removed (remove)",
      desired: [deployment()],
      actual: [running, container(GONE)],
      plan: { removeOrphans: [container(GONE).id] },
    },
    {
      name: "…and left alone (keep)",
      desired: [deployment()],
      actual: [running, container(GONE)],
      policy: "keep",
      plan: {},
    },
    {
      name: "a labelled container without a deployment id is an orphan too",
      desired: [],
      actual: [{ ...container(GONE), labels: { "cloud.obiente.deployment": "true" } }],
      plan: { removeOrphans: [container(GONE).id] },
    },
    {
      name: "a location of a deployment with no record, its container gone: dropped",
      desired: [],
      actual: [],
      locations: [location("l9", GONE, "c-gone")],
      plan: { converge: [GONE], dropLocations: ["l9"] },
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const plan = planReconcile(c.desired, c.actual, c.locations ?? [], {
        orphanPolicy: c.policy ?? "remove",
      });
      assert.deepEqual(summary(plan), { ...EMPTY, ...c.plan });
      if (c.buckets) {
        const { removeOrphans, dropLocations, ...buckets } = plan;
        assert.deepEqual(buckets, {
          start: [],
          stop: [],
          remove: [],
          place: [],
          ...c.buckets,
        });
      }
    });
  }
});

describe("planReconcile, properties", () => {
  const ids = [D1, D2, GONE, "00000000-0000-4000-8000-000000000003"];
  const builds = [B1, B2];

  const desiredArb = fc
    .uniqueArray(
      fc.record({
        id: fc.constantFrom(...ids),
        projectId: fc.constant(P1),
        desiredState: fc.constantFrom("running", "stopped", "deleted"),
        status: fc.constantFrom(
          "queued",
          "building",
          "deploying",
          "running",
          "stopped",
          "failed",
          "deleting",
        ),
        currentBuildId: fc.option(fc.constantFrom(...builds), { nil: null }),
        replicas: fc.integer({ min: 1, max: 3 }),
        restartGeneration: fc.integer({ min: 0, max: 2 }),
      }),
      { selector: (d) => d.id, maxLength: 4 },
    )
    .map((list) => list as DesiredDeployment[]);

  const containerArb = fc
    .record({
      deploymentId: fc.constantFrom(...ids),
      replica: fc.integer({ min: 0, max: 3 }),
      buildId: fc.constantFrom(...builds),
      generation: fc.integer({ min: 0, max: 2 }),
      state: fc.constantFrom("running", "exited", "created", "restarting", "dead"),
      health: fc.constantFrom("none", "healthy", "unhealthy", "starting"),
    })
    .map((c) => container(c.deploymentId, c));

  const actualArb = fc.uniqueArray(containerArb, { selector: (c) => c.id, maxLength: 8 });

  const world = fc
    .tuple(desiredArb, actualArb, fc.constantFrom<"remove" | "keep">("remove", "keep"))
    .chain(([desired, actual, policy]) =>
      fc
        .uniqueArray(
          fc.record({
            deploymentId: fc.constantFrom(...ids),
            // A location points at a container that exists, or at one that is gone.
            containerId: fc.constantFrom(...actual.map((c) => c.id), "c-gone"),
          }),
          { maxLength: 6, selector: (l) => `${l.deploymentId}/${l.containerId}` },
        )
        .map((list) => ({
          desired,
          actual,
          policy,
          locations: list.map((l, i) => location(`l${i}`, l.deploymentId, l.containerId)),
        })),
    );

  test("never removes a container whose deployment has a record", () => {
    fc.assert(
      fc.property(world, ({ desired, actual, locations, policy }) => {
        const plan = planReconcile(desired, actual, locations, { orphanPolicy: policy });
        const recorded = new Set(desired.map((d) => d.id));
        for (const id of plan.removeOrphans) {
          const c = actual.find((x) => x.id === id);
          assert.ok(c, "only containers that exist are removed");
          assert.ok(!recorded.has(c.labels["cloud.obiente.deployment_id"] ?? ""), id);
        }
        if (policy === "keep") assert.deepEqual(plan.removeOrphans, []);
        else {
          // And every container of a deployment without a record is removed.
          const orphans = actual.filter(
            (c) => !recorded.has(c.labels["cloud.obiente.deployment_id"] ?? ""),
          );
          assert.deepEqual(plan.removeOrphans, orphans.map((c) => c.id).sort());
        }
      }),
    );
  });

  test("drops exactly the locations whose container is not running, and converges their deployments", () => {
    fc.assert(
      fc.property(world, ({ desired, actual, locations, policy }) => {
        const plan = planReconcile(desired, actual, locations, { orphanPolicy: policy });
        const running = new Set(actual.filter((c) => c.state === "running").map((c) => c.id));
        const stale = locations.filter((l) => !running.has(l.containerId));
        assert.deepEqual(plan.dropLocations, stale.map((l) => l.id).sort());
        for (const l of stale) assert.ok(deploymentsToConverge(plan).includes(l.deploymentId));
      }),
    );
  });

  test("a converged state gives an empty plan", () => {
    // Every running deployment runs exactly its wanted containers, healthy or without a health
    // check, each recorded; stopped ones run nothing; failed ones are left as they are.
    const converged = fc
      .uniqueArray(
        fc.record({
          id: fc.constantFrom(...ids),
          kind: fc.constantFrom("running", "stopped", "failed"),
          buildId: fc.constantFrom(...builds),
          replicas: fc.integer({ min: 1, max: 3 }),
          restartGeneration: fc.integer({ min: 0, max: 2 }),
          health: fc.constantFrom("none", "healthy"),
        }),
        { selector: (d) => d.id, maxLength: 4 },
      )
      .map((list) => {
        const desired: DesiredDeployment[] = [];
        const actual: ContainerRef[] = [];
        const locations: RecordedLocation[] = [];
        for (const d of list) {
          desired.push({
            id: d.id,
            projectId: P1,
            desiredState: d.kind === "stopped" ? "stopped" : "running",
            status: d.kind,
            currentBuildId: d.kind === "failed" ? null : d.buildId,
            replicas: d.replicas,
            restartGeneration: d.restartGeneration,
          });
          if (d.kind !== "running") continue;
          for (let replica = 0; replica < d.replicas; replica++) {
            const c = container(d.id, {
              replica,
              buildId: d.buildId,
              generation: d.restartGeneration,
              health: d.health,
            });
            actual.push(c);
            locations.push(location(`l-${c.id}`, d.id, c.id));
          }
        }
        return { desired, actual, locations };
      });
    fc.assert(
      fc.property(
        converged,
        fc.constantFrom<"remove" | "keep">("remove", "keep"),
        ({ desired, actual, locations }, policy) => {
          assert.deepEqual(
            planReconcile(desired, actual, locations, { orphanPolicy: policy }),
            EMPTY_PLAN,
          );
        },
      ),
    );
  });

  test("is a pure function of its inputs: the same world gives the same plan", () => {
    fc.assert(
      fc.property(world, ({ desired, actual, locations, policy }) => {
        const once = planReconcile(desired, actual, locations, { orphanPolicy: policy });
        const again = planReconcile(
          [...desired].reverse(),
          [...actual].reverse(),
          [...locations].reverse(),
          { orphanPolicy: policy },
        );
        assert.deepEqual(again, once);
      }),
    );
  });
});

describe("planReconcile, shared engines", () => {
  test("leaves other installations' containers alone, judges unmarked ones as its own", () => {
    const theirs = container("not-ours", {});
    theirs.labels = { ...theirs.labels, "cloud.obiente.installation": "other" };
    const mine = container("gone-mine", {});
    mine.labels = { ...mine.labels, "cloud.obiente.installation": "me" };
    const unmarked = container("by-hand", {});
    const plan = planReconcile([], [theirs, mine, unmarked], [], {
      orphanPolicy: "remove",
      installationId: "me",
    });
    assert.deepEqual(plan.removeOrphans, [mine.id, unmarked.id].sort());
  });
});

describe("planReconcile on a cluster (containers carry their node)", () => {
  /** The service the deployer runs for this replica of this build on this node. */
  function service(
    deploymentId: string,
    nodeId: string,
    overrides: Partial<ContainerRef> & { replica?: number; buildId?: string } = {},
  ): ContainerRef {
    const { replica = 0, buildId = B1, ...rest } = overrides;
    const name = containerName(deploymentId, replica, buildId, 0, nodeId);
    return {
      id: `s-${name}`,
      name,
      state: "running",
      health: "none",
      labels: {
        "cloud.obiente.deployment": "true",
        "cloud.obiente.deployment_id": deploymentId,
      },
      hostPort: 42_000 + replica,
      nodeId,
      ...rest,
    };
  }

  const plan = (
    desired: DesiredDeployment[],
    actual: ContainerRef[],
    locations: RecordedLocation[],
    unusableNodes: string[] = [],
  ) => planReconcile(desired, actual, locations, { orphanPolicy: "remove", unusableNodes });

  test("a replica's name depends on its node, and not on a single engine", () => {
    assert.notEqual(containerName(D1, 0, B1, 0, N1), containerName(D1, 0, B1, 0, N2));
    assert.equal(containerName(D1, 0, B1, 0), containerName(D1, 0, B1, 0, undefined));
    assert.ok(containerName(D1, 19, B1, 0, N1).length <= 63, "a valid Swarm service name");
  });

  test("a name is the one running containers already carry, whether remembered or not", () => {
    const names = () => [containerName(D1, 2, B1, 3), containerName(D1, 0, B1, 0, N1)];
    // A SHA-256 prefix of "build:generation[:node]": containers started by earlier versions
    // carry these names, and a changed name would start every replica again.
    const expected = [`obiente-${D1}-r2-8b3e7e9e2456`, `obiente-${D1}-r0-9f1e010c18f4`];
    assert.deepEqual(names(), expected);
    assert.deepEqual(names(), expected, "remembered");
    assert.deepEqual(containerNames(D1, 1, B1, 3), [`obiente-${D1}-r0-8b3e7e9e2456`]);
    assert.equal(containerNames(D1, 4, B1, 3).length, 4, "as many names as replicas asked for");
    for (let g = 4; g < 200; g++) containerName(D1, 0, B1, g);
    assert.deepEqual(names(), expected, "after many restarts of the same build");
    for (let b = 0; b < 60_000; b++) containerName(D2, 0, `build-${b}`, 0);
    assert.deepEqual(names(), expected, "forgotten among many other builds, and hashed again");
  });

  test("replicas running on usable nodes, recorded there: nothing to do", () => {
    const a = service(D1, N1);
    const b = service(D1, N2, { replica: 1 });
    const locations = [
      { ...location("l1", D1, a.id), nodeId: N1, port: a.hostPort as number },
      { ...location("l2", D1, b.id), nodeId: N2, port: b.hostPort as number },
    ];
    assert.deepEqual(plan([deployment({ replicas: 2 })], [a, b], locations, [N3]), EMPTY_PLAN);
  });

  test("a replica on a drained or down node: converge (it moves), its location stays until then", () => {
    const a = service(D1, N1);
    const locations = [{ ...location("l1", D1, a.id), nodeId: N1 }];
    assert.deepEqual(plan([deployment()], [a], locations, [N1]), {
      ...EMPTY_PLAN,
      place: [D1],
    });
  });

  test("two services for one replica (a move cut short): converge", () => {
    const a = service(D1, N1);
    const b = service(D1, N2);
    assert.deepEqual(deploymentsToConverge(plan([deployment()], [a, b], [])), [D1]);
  });

  test("a service named for another node than its own: converge", () => {
    const a = { ...service(D1, N1), nodeId: N2 };
    assert.deepEqual(deploymentsToConverge(plan([deployment()], [a], [])), [D1]);
  });

  test("a location that names another node or port than its service: dropped, and converged", () => {
    const a = service(D1, N1);
    const b = service(D1, N2, { replica: 1 });
    const locations = [
      { ...location("l1", D1, a.id), nodeId: N3, port: a.hostPort as number },
      { ...location("l2", D1, b.id), nodeId: N2, port: 41_000 },
    ];
    assert.deepEqual(plan([deployment({ replicas: 2 })], [a, b], locations), {
      ...EMPTY_PLAN,
      start: [D1],
      dropLocations: ["l1", "l2"],
    });
  });

  test("property: a converged cluster gives an empty plan, whatever nodes are unusable elsewhere", () => {
    const nodes = [N1, N2, N3];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom(...nodes), { minLength: 3, maxLength: 3 }),
        fc.subarray(nodes),
        (replicas, placedOn, unusable) => {
          const where = placedOn.slice(0, replicas).filter((n) => !unusable.includes(n));
          fc.pre(where.length === replicas);
          const actual = where.map((nodeId, replica) => service(D1, nodeId, { replica }));
          const locations = actual.map((s, i) => ({
            ...location(`l${i}`, D1, s.id),
            nodeId: s.nodeId as string,
            port: s.hostPort as number,
          }));
          assert.deepEqual(
            plan([deployment({ replicas })], actual, locations, unusable),
            EMPTY_PLAN,
          );
        },
      ),
    );
  });

  test("property: a replica on an unusable node always gets its deployment converged", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.constantFrom(N1, N2, N3), (replicas, bad) => {
        const actual = Array.from({ length: replicas }, (_, replica) =>
          service(D1, replica === 0 ? bad : N1 === bad ? N2 : N1, { replica }),
        );
        assert.deepEqual(
          plan([deployment({ replicas })], actual, [], [bad]).place,
          [D1],
          "placed again",
        );
      }),
    );
  });
});

/**
 * What planReconcile decides, written as plainly as it reads: a scan of every container for each
 * deployment and location. planReconcile indexes them instead (sharded-map.ts); both must agree.
 */
function plainPlan(
  desired: DesiredDeployment[],
  actual: ContainerRef[],
  locations: RecordedLocation[],
  options: PlanOptions,
): ReconcilePlan {
  const ownerOf = (c: ContainerRef) => c.labels["cloud.obiente.deployment_id"] ?? "";
  const ours = actual.filter((c) => {
    const installation = c.labels["cloud.obiente.installation"];
    return (
      options.installationId === undefined ||
      installation === undefined ||
      installation === options.installationId
    );
  });
  const nodes = { unusable: options.unusableNodes ?? [], down: [] };
  const buckets = new Map<string, "start" | "stop" | "remove" | "place">();
  desired.forEach((d, i) => {
    // A second row of an id (none in a database) gets no containers: the first took them.
    const first = desired.findIndex((x) => x.id === d.id) === i;
    const bucket = judge(d, first ? ours.filter((c) => ownerOf(c) === d.id) : [], nodes);
    if (bucket) buckets.set(d.id, bucket);
  });
  const dropLocations: string[] = [];
  for (const location of locations) {
    const c = actual.findLast((x) => x.state === "running" && x.id === location.containerId);
    if (c && !lies(location, c)) continue;
    dropLocations.push(location.id);
    if (!buckets.has(location.deploymentId)) {
      const state = desired.findLast((d) => d.id === location.deploymentId)?.desiredState;
      buckets.set(
        location.deploymentId,
        state === "stopped" ? "stop" : state === "deleted" ? "remove" : "start",
      );
    }
  }
  const plan: ReconcilePlan = {
    start: [],
    stop: [],
    remove: [],
    place: [],
    removeOrphans:
      options.orphanPolicy === "remove"
        ? ours
            .filter((c) => !desired.some((d) => d.id === ownerOf(c)))
            .map((c) => c.id)
            .sort()
        : [],
    dropLocations: dropLocations.sort(),
  };
  for (const [id, bucket] of buckets) plan[bucket].push(id);
  for (const bucket of ["start", "stop", "remove", "place"] as const) plan[bucket].sort();
  return plan;
}

describe("planReconcile, against the plain scan", () => {
  const INSTALLATION = "me";
  /** Deployment ids: a few, so that containers, rows and locations meet; or many (shards). */
  const idOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

  const world = (deployments: number, rows: number, containers: number, minLength = 0) =>
    fc
      .record({
        desired: fc.array(
          fc.record({
            id: fc.nat(deployments - 1).map(idOf),
            projectId: fc.constant(P1),
            desiredState: fc.constantFrom("running", "stopped", "deleted"),
            status: fc.constantFrom("queued", "deploying", "running", "stopped", "failed"),
            currentBuildId: fc.option(fc.constantFrom(B1, B2), { nil: null }),
            replicas: fc.integer({ min: 1, max: 3 }),
            restartGeneration: fc.integer({ min: 0, max: 1 }),
          }),
          { minLength, maxLength: rows },
        ),
        actual: fc.array(
          fc.record({
            deploymentId: fc.nat(deployments - 1).map(idOf),
            replica: fc.integer({ min: 0, max: 3 }),
            buildId: fc.constantFrom(B1, B2),
            generation: fc.integer({ min: 0, max: 1 }),
            state: fc.constantFrom("running", "exited"),
            health: fc.constantFrom("none", "healthy", "unhealthy"),
            nodeId: fc.option(fc.constantFrom(N1, N2), { nil: undefined }),
            installation: fc.constantFrom(undefined, INSTALLATION, "other"),
            unlabelled: fc.boolean(),
          }),
          { minLength, maxLength: containers },
        ),
        options: fc.record({
          orphanPolicy: fc.constantFrom<"remove" | "keep">("remove", "keep"),
          installationId: fc.constantFrom(undefined, INSTALLATION),
          unusableNodes: fc.subarray([N1, N2]),
        }),
      })
      .chain(({ desired, actual, options }) => {
        const containers = actual.map((c, i): ContainerRef => {
          const { deploymentId, installation, unlabelled, nodeId, ...replica } = c;
          const made = container(deploymentId, {
            ...replica,
            ...(nodeId === undefined ? {} : { nodeId }),
          });
          const labels: Record<string, string> = { ...made.labels };
          if (unlabelled) delete labels["cloud.obiente.deployment_id"];
          if (installation) labels["cloud.obiente.installation"] = installation;
          // Unique, as an engine lists them.
          const id = `c-${i}`;
          return { ...made, id, labels };
        });
        const location = fc.record({
          deploymentId: fc.nat(deployments - 1).map(idOf),
          containerId: fc.constantFrom(...containers.map((c) => c.id), "c-gone"),
          nodeId: fc.option(fc.constantFrom(N1, N2), { nil: undefined }),
          port: fc.option(fc.constantFrom(0, 20_000, 20_001), { nil: undefined }),
        });
        return fc
          .array(location, {
            minLength: Math.min(minLength, containers.length),
            maxLength: containers.length + 2,
          })
          .map((list) => ({
            desired: desired as DesiredDeployment[],
            actual: containers,
            locations: list.map(({ nodeId, port, ...l }, i) => ({
              id: `l${i}`,
              ...l,
              ...(nodeId === undefined ? {} : { nodeId }),
              ...(port === undefined ? {} : { port }),
            })),
            options: options as PlanOptions,
          }));
      });

  test("property: decides as the plain scan, on a few deployments", () => {
    fc.assert(
      fc.property(world(4, 6, 10), ({ desired, actual, locations, options }) => {
        assert.deepEqual(
          planReconcile(desired, actual, locations, options),
          plainPlan(desired, actual, locations, options),
        );
      }),
    );
  });

  test("property: decides as the plain scan, on thousands (indexes of several shards)", () => {
    fc.assert(
      fc.property(world(3_000, 2_500, 3_000, 2_000), ({ desired, actual, locations, options }) => {
        assert.deepEqual(
          planReconcile(desired, actual, locations, options),
          plainPlan(desired, actual, locations, options),
        );
      }),
      { numRuns: 5 },
    );
  });
});
