import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ExplainPlacementResponseSchema,
  PlacementStrategy,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeAvailability, NodeSchema } from "../gen/obiente/cloud/node/v1/node_pb.js";
import { formatNodes, formatPlacement } from "./cluster-commands.js";

const NOW = new Date("2025-06-02T10:00:00.000Z");

describe("cluster commands' output", () => {
  test("nodes: one aligned line each, then why a node is down", () => {
    const nodes = [
      create(NodeSchema, {
        id: "t1g3o74nipbj0q2fcn2jkkw16",
        hostname: "node1",
        address: "10.77.0.11",
        role: "manager",
        availability: NodeAvailability.ACTIVE,
        labels: { zone: "a", compute: "true" },
        capacity: { cpuCores: 2, memoryBytes: BigInt(4 * 1024 ** 3), maxDeployments: 50 },
        deploymentCount: 3,
        lastHeartbeat: timestampFromDate(new Date(NOW.getTime() - 2_000)),
      }),
      create(NodeSchema, {
        id: "ltww5eh5kxnuft5z4dzrlqx46",
        hostname: "node3",
        address: "10.77.0.13",
        role: "worker",
        availability: NodeAvailability.DOWN,
        capacity: { cpuCores: 2, memoryBytes: BigInt(4 * 1024 ** 3), maxDeployments: 50 },
        statusMessage: "Swarm reports the node down: heartbeat failure",
      }),
    ];
    assert.deepEqual(formatNodes(nodes, NOW), [
      "HOSTNAME  ID            ADDRESS     ROLE     AVAILABILITY  CAPACITY        DEPLOYED  HEARTBEAT  LABELS",
      "node1     t1g3o74nipbj  10.77.0.11  manager  active        2 CPU, 4.0 GiB  3/50      2s ago     compute=true,zone=a",
      "node3     ltww5eh5kxnu  10.77.0.13  worker   down          2 CPU, 4.0 GiB  0/50      never      -",
      "node3: Swarm reports the node down: heartbeat failure",
    ]);
    assert.deepEqual(formatNodes([], NOW), ["no nodes"]);
  });

  test("explain: the strategy, every node's verdict, the chosen one marked", () => {
    const placement = create(ExplainPlacementResponseSchema, {
      strategy: PlacementStrategy.LEAST_LOADED,
      decidedAt: timestampFromDate(NOW),
      nodes: [
        {
          nodeId: "aaaa",
          feasible: true,
          scores: { "least-loaded": 0.99, spread: 0, total: 0.99 },
          selected: true,
        },
        { nodeId: "bbbb", feasible: false, reason: "active: node is draining" },
      ],
    });
    const hostnames = new Map([["aaaa", "node1"]]);
    assert.deepEqual(formatPlacement({ id: "d-1", name: "web" }, placement, hostnames), [
      "web (d-1)",
      "  strategy: least-loaded, decided 2025-06-02T10:00:00.000Z",
      "  ✓ node1            least-loaded=0.99 spread=0 total=0.99",
      "  ✗ bbbb             active: node is draining",
      "  ✓ chosen",
    ]);
  });
});
