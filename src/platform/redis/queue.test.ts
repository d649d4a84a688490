import assert from "node:assert/strict";
import { test } from "node:test";
import { onlineReplicas } from "./queue.js";

// The shape of Redis 7's `INFO replication` on a master.
const info = (...replicas: string[]) =>
  [
    "# Replication",
    "role:master",
    `connected_slaves:${replicas.length}`,
    "min_slaves_good_slaves:1",
    ...replicas.map((r, i) => `slave${i}:${r}`),
    "master_failover_state:no-failover",
    "master_repl_offset:6956",
    "",
  ].join("\r\n");

test("counts the replicas done with their copy and heard from in the last seconds", () => {
  assert.equal(onlineReplicas(info()), 0);
  assert.equal(
    onlineReplicas(
      info(
        "ip=127.0.0.1,port=45305,state=online,offset=6956,lag=0",
        "ip=127.0.0.1,port=42763,state=online,offset=6956,lag=1",
      ),
    ),
    2,
  );
  // Still taking its first copy: it gets the job in that copy, and acknowledges nothing yet.
  assert.equal(
    onlineReplicas(
      info(
        "ip=127.0.0.1,port=45305,state=online,offset=6956,lag=0",
        "ip=127.0.0.1,port=42763,state=wait_bgsave,offset=0,lag=0",
      ),
    ),
    1,
  );
  // Silent for 7 s: lost, though the master has not counted it out yet.
  assert.equal(
    onlineReplicas(
      info(
        "ip=127.0.0.1,port=45305,state=online,offset=6956,lag=7",
        "ip=127.0.0.1,port=42763,state=online,offset=6956,lag=2",
      ),
    ),
    1,
  );
  assert.equal(onlineReplicas("# Replication\r\nrole:slave\r\nmaster_port:6379\r\n"), 0);
});
