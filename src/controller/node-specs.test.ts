import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nodeSpecActions } from "./node-specs.js";

const compute = { compute: "true" };

describe("nodeSpecActions", () => {
  const cases: Array<{
    name: string;
    spec: { availability: "active" | "drain"; labels: Record<string, string> };
    node: { availability: string; labels: Record<string, string> } | undefined;
    services: number;
    kinds: string[];
  }> = [
    {
      name: "Swarm already agrees: applied",
      spec: { availability: "active", labels: compute },
      node: { availability: "active", labels: { ...compute } },
      services: 3,
      kinds: ["applied"],
    },
    {
      name: "new labels: set them",
      spec: { availability: "active", labels: { ...compute, zone: "a" } },
      node: { availability: "active", labels: compute },
      services: 0,
      kinds: ["labels", "applied"],
    },
    {
      name: "a label removed: set the smaller set",
      spec: { availability: "active", labels: {} },
      node: { availability: "active", labels: compute },
      services: 0,
      kinds: ["labels", "applied"],
    },
    {
      name: "drain while platform services still run there: wait",
      spec: { availability: "drain", labels: compute },
      node: { availability: "active", labels: compute },
      services: 2,
      kinds: ["wait"],
    },
    {
      name: "drain once the node is empty: drain it in Swarm",
      spec: { availability: "drain", labels: compute },
      node: { availability: "active", labels: compute },
      services: 0,
      kinds: ["availability", "applied"],
    },
    {
      name: "activate: at once, whatever runs",
      spec: { availability: "active", labels: compute },
      node: { availability: "drain", labels: compute },
      services: 0,
      kinds: ["availability", "applied"],
    },
    {
      name: "a paused node is made active",
      spec: { availability: "active", labels: compute },
      node: { availability: "pause", labels: compute },
      services: 1,
      kinds: ["availability", "applied"],
    },
    {
      name: "the node left the Swarm: nothing to apply",
      spec: { availability: "drain", labels: compute },
      node: undefined,
      services: 0,
      kinds: ["applied"],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(
        nodeSpecActions(c.spec, c.node, c.services).map((a) => a.kind),
        c.kinds,
      );
    });
  }
});
