/**
 * The scheduler's I/O (src/controller/placement.ts) on both store drivers, without a Swarm: the
 * snapshot reserves the limits of recorded replicas, decisions made at once never take the same
 * free space twice, the round-robin cursor is kept in controller_state, every decision is kept
 * for ExplainPlacement, and the CreateDeployment check refuses what fits nowhere.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import pino from "pino";
import { loadSnapshot, Placer, placementCheck } from "../src/controller/placement.js";
import { lastPlacement, type StoredExplanation } from "../src/nodes/placements.js";
import { schedule } from "../src/scheduler/index.js";
import {
  deploymentLocations,
  deployments,
  nodeMetadata,
  organizations,
  placements,
  projects,
} from "../src/store/schema.js";
import { type TestDatabase, testDrivers } from "./helpers/databases.js";

const GIB = 1024 ** 3;
const NOW = new Date("2025-06-02T10:00:00.000Z");
const DEFAULTS = { cpuMillicores: 500, memoryMb: 256 };
const NODES = ["n-a", "n-b", "n-c"];

for (const driver of testDrivers) {
  describe(`placement I/O (${driver.name})`, () => {
    let database: TestDatabase;
    let organizationId: string;
    let projectId: string;

    before(async () => {
      database = await driver.open();
      organizationId = randomUUID();
      projectId = randomUUID();
      await database.db
        .insert(organizations)
        .values({ id: organizationId, name: "Acme", slug: `acme-${organizationId}` });
      await database.db
        .insert(projects)
        .values({ id: projectId, organizationId, name: "Shop", slug: "shop" });
      await database.db.insert(nodeMetadata).values(
        NODES.map((id, i) => ({
          id,
          hostname: `node${i + 1}`,
          address: `10.0.0.${11 + i}`,
          labels: { compute: "true" },
          cpuCores: 2,
          memoryBytes: 4 * GIB,
          lastHeartbeat: new Date(NOW.getTime() - 1_000),
        })),
      );
    });

    after(async () => {
      await database?.close();
    });

    async function deployment(resources: { cpuMillicores?: number; memoryMb?: number } = {}) {
      const id = randomUUID();
      await database.db.insert(deployments).values({
        id,
        organizationId,
        projectId,
        name: `d-${id.slice(0, 8)}`,
        gitRepo: "https://git.example.com/acme/shop.git",
        branch: "main",
        ...resources,
      });
      return id;
    }

    const placer = (strategy: "least-loaded" | "round-robin" = "least-loaded") =>
      new Placer({
        db: database.db,
        strategy,
        heartbeatTimeoutMs: 15_000,
        defaults: DEFAULTS,
        logger: pino({ level: "silent" }),
        now: () => NOW,
      });

    const request = (deploymentId: string, cpuMillicores = 500) => ({
      deploymentId,
      strategy: "",
      replicas: 1,
      cpuMillicores,
      memoryMb: 256,
      existing: [],
      avoidNodes: [],
    });

    test("the snapshot reserves what recorded replicas may use (defaults for those that set none)", async () => {
      const sized = await deployment({ cpuMillicores: 1200, memoryMb: 1024 });
      const unsized = await deployment();
      await database.db.insert(deploymentLocations).values([
        { id: randomUUID(), deploymentId: sized, nodeId: "n-b" },
        { id: randomUUID(), deploymentId: unsized, nodeId: "n-b" },
      ]);
      const snapshot = await loadSnapshot(database.db, 15_000, DEFAULTS);
      const b = snapshot.nodes.find((n) => n.id === "n-b");
      assert.deepEqual(
        [b?.deploymentCount, b?.reservedCpuMillicores, b?.reservedMemoryBytes],
        [2, 1700, (1024 + 256) * 1024 * 1024],
      );
      await database.db.delete(deploymentLocations);
    });

    test("placements made at once never share the last free space of a node", async () => {
      const p = placer();
      // 2 CPUs per node, 1500m each: exactly one per node, whatever the order.
      const ids = await Promise.all([1, 2, 3, 4].map(() => deployment({ cpuMillicores: 1500 })));
      const outcomes = await Promise.all(ids.map((id) => p.place(request(id, 1500))));
      const placed = outcomes.flatMap((o) => (o.ok ? o.placements.map((x) => x.nodeId) : []));
      assert.deepEqual([...placed].sort(), NODES, "one on each node");
      const refused = outcomes.find((o) => !o.ok);
      assert.ok(refused && !refused.ok);
      assert.match(refused.message, /n-a: not enough CPU: 500m free, 1500m requested/);
      // Released (recorded or given up): the space is free again.
      for (const o of outcomes) if (o.ok) o.release();
      const again = await p.place(request(ids[3] as string, 1500));
      assert.ok(again.ok);
      again.release();
    });

    test("round-robin's cursor is shared through the database", async () => {
      const first = placer("round-robin");
      const seen: string[] = [];
      for (let i = 0; i < 2; i++) {
        const o = await first.place(request(await deployment()));
        assert.ok(o.ok);
        seen.push(o.placements[0]?.nodeId ?? "");
        o.release();
      }
      // Another controller (a new Placer) goes on where the first stopped.
      const o = await placer("round-robin").place(request(await deployment()));
      assert.ok(o.ok);
      seen.push(o.placements[0]?.nodeId ?? "");
      o.release();
      const start = NODES.indexOf(seen[0] as string);
      assert.deepEqual(
        seen,
        [0, 1, 2].map((k) => NODES[(start + k) % 3]),
      );
    });

    test("every decision is kept for ExplainPlacement, the last one winning", async () => {
      const id = await deployment();
      const p = placer();
      const ok = await p.place(request(id));
      assert.ok(ok.ok);
      ok.release();
      const refused = await p.place(request(id, 5000));
      assert.ok(!refused.ok);
      const kept = await lastPlacement(database.db, id);
      assert.ok(kept);
      assert.equal(kept.strategy, "least-loaded");
      assert.equal(kept.explanation.ok, false);
      assert.deepEqual(
        kept.explanation.verdicts.map((v) => [v.nodeId, v.constraint]),
        NODES.map((n) => [n, "cpu"]),
      );
      assert.equal(await lastPlacement(database.db, randomUUID()), undefined);
    });

    test("a decision keeps its verdicts in compact form, written out when read", async () => {
      const id = await deployment();
      const placed = await placer().place(request(id));
      assert.ok(placed.ok);
      placed.release();
      const [row] = await database.db
        .select()
        .from(placements)
        .where(eq(placements.deploymentId, id));
      const stored = row?.explanation as unknown as StoredExplanation;
      assert.equal(stored.verdicts, undefined);
      assert.deepEqual(stored.compact?.nodes, NODES);
      // ExplainPlacement's verdicts: what schedule() explains for the same cluster, once stored.
      const kept = await lastPlacement(database.db, id);
      const snapshot = await loadSnapshot(database.db, 15_000, DEFAULTS);
      const again = schedule(
        snapshot,
        { deploymentId: id, replicas: 1, cpuMillicores: 500, memoryMb: 256 },
        "least-loaded",
        NOW,
      );
      assert.deepEqual(kept?.explanation.verdicts, JSON.parse(JSON.stringify(again.explanations)));
      assert.deepEqual(
        kept?.explanation.verdicts.filter((v) => v.selected).map((v) => v.nodeId),
        placed.placements.map((p) => p.nodeId),
      );
    });

    test("a decision recorded with its verdicts written out reads as it was", async () => {
      const id = await deployment();
      const verdicts = [
        { nodeId: "n-a", feasible: false, reason: "node is down", constraint: "active" },
        { nodeId: "n-b", feasible: true, scores: { "least-loaded": 0.9, total: 0.9 } },
      ].map((v) => ({ scores: {}, selected: false, ...v }));
      const explanation = {
        ok: true,
        placements: [{ replica: 0, nodeId: "n-b" }],
        verdicts,
        request: { replicas: 1, cpuMillicores: 500, memoryMb: 256, avoidNodes: [] },
      };
      await database.db
        .insert(placements)
        .values({ deploymentId: id, strategy: "least-loaded", explanation });
      assert.deepEqual((await lastPlacement(database.db, id))?.explanation, explanation);
    });

    test("the CreateDeployment check refuses what fits nowhere, and says why", async () => {
      const options = {
        db: database.db,
        heartbeatTimeoutMs: 15_000,
        defaults: DEFAULTS,
        strategy: "least-loaded" as const,
      };
      assert.equal(
        await placementCheck(options, { replicas: 3, cpuMillicores: 1000, memoryMb: 256 }, NOW),
        undefined,
      );
      const refused = await placementCheck(
        options,
        { replicas: 1, cpuMillicores: 0, memoryMb: 8192 },
        NOW,
      );
      assert.match(refused ?? "", /n-a: not enough memory: 4096 MiB free, 8192 MiB requested/);
      // A cluster whose agents are silent takes nothing.
      const silent = await placementCheck(
        options,
        { replicas: 1, cpuMillicores: 100, memoryMb: 64 },
        new Date(NOW.getTime() + 60_000),
      );
      assert.match(silent ?? "", /n-c: last heartbeat 61s ago, over the 15s timeout/);
    });
  });
}
