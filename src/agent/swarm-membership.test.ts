import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { EngineInfo } from "./heartbeat.js";
import { SwarmMembership } from "./swarm-membership.js";
import { SwarmNodeSync } from "./swarm-nodes.js";

const logger = pino({ level: "silent" });
const WORKER = { nodeId: "waekmcq5ioqklvi41d5ursgs0", manager: false };
const MANAGER = { nodeId: "t1g3o74nipbj0q2fcn2jkkw16", manager: true };

/** An engine whose `docker info` answers with each of `answers` in turn (the last one after). */
function engine(answers: Array<Pick<EngineInfo, "swarm"> | Error>) {
  let calls = 0;
  return {
    endpoint: "unix:///test.sock",
    get calls() {
      return calls;
    },
    async info() {
      const answer = answers[Math.min(calls++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer ?? {};
    },
  };
}

test("the node id is the engine's Swarm node id, once the engine has said it", async () => {
  const membership = new SwarmMembership({ engine: engine([{ swarm: WORKER }]), logger });
  assert.equal(membership.nodeId, "local");
  assert.equal(membership.manager, false);
  await membership.refresh();
  assert.equal(membership.nodeId, WORKER.nodeId);
  assert.equal(membership.manager, false);
});

test("an engine that stops answering keeps the last known membership; a promotion is seen", async () => {
  const membership = new SwarmMembership({
    engine: engine([{ swarm: WORKER }, new Error("connect ECONNREFUSED"), { swarm: MANAGER }]),
    logger,
  });
  await membership.refresh();
  await membership.refresh();
  assert.equal(membership.nodeId, WORKER.nodeId);
  await membership.refresh();
  assert.equal(membership.nodeId, MANAGER.nodeId);
  assert.equal(membership.manager, true);
});

test("an engine outside any Swarm has no node id", async () => {
  const membership = new SwarmMembership({ engine: engine([{ swarm: WORKER }, {}]), logger });
  await membership.refresh();
  await membership.refresh();
  assert.equal(membership.nodeId, "local");
  assert.equal(membership.manager, false);
});

test("refreshes during a refresh share it", async () => {
  const source = engine([{ swarm: MANAGER }]);
  const membership = new SwarmMembership({ engine: source, logger });
  await Promise.all([membership.refresh(), membership.refresh(), membership.refresh()]);
  assert.equal(source.calls, 1);
});

test("the node sync lists the Swarm's nodes only where the engine is a manager", async () => {
  for (const [swarm, lists] of [
    [WORKER, 0],
    [MANAGER, 1],
  ] as const) {
    let listed = 0;
    const sync = new SwarmNodeSync({
      // Never reached: a sync that lists no nodes reads nothing, and the one that lists them
      // fails on the listing first.
      db: undefined as never,
      cluster: {
        nodes: async () => {
          listed++;
          throw new Error("listing stops here");
        },
      },
      membership: new SwarmMembership({ engine: engine([{ swarm }]), logger }),
      queue: { enqueue: async () => "job" },
      intervalMs: 1_000,
      maxDeployments: 50,
      logger,
    });
    await sync.sync();
    assert.equal(listed, lists, swarm.manager ? "a manager" : "a worker");
  }
});
