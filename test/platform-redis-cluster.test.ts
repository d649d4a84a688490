/**
 * The platform services' contract on a Redis Cluster, when TEST_REDIS_CLUSTER_URL names one
 * (`redis+cluster://127.0.0.1:7101,127.0.0.1:7102`); skipped otherwise. A three-master cluster on
 * loopback: `redis-server --port P --cluster-enabled yes …` for three ports, then
 * `redis-cli --cluster create 127.0.0.1:P1 127.0.0.1:P2 127.0.0.1:P3 --cluster-replicas 0`.
 */
import { Socket } from "node:net";
import { after, test } from "node:test";
import type { Cluster } from "ioredis";
import { runContractSuite } from "../src/platform/contract-suite.js";
import { createPlatformServices } from "../src/platform/index.js";
import { closeRedis, openRedis, parseRedisUrl } from "../src/platform/redis/connection.js";

const clusterUrl = process.env.TEST_REDIS_CLUSTER_URL;

if (clusterUrl === undefined) {
  test("redis cluster contract", { skip: "TEST_REDIS_CLUSTER_URL is not set" }, () => {});
} else {
  const admin = openRedis(parseRedisUrl(clusterUrl), { name: "test-admin" }) as Cluster;
  after(() => closeRedis(admin));
  // Now and then ioredis's Cluster opens one more node connection while it quits (its pub/sub
  // subscriber picking a node), which then keeps this test process alive until the runner's
  // timeout. Once every client here is closed, such a leftover socket to the cluster is cut.
  const target = parseRedisUrl(clusterUrl);
  const ports = new Set(target.kind === "cluster" ? target.nodes.map((node) => node.port) : []);
  after(() => {
    setTimeout(() => {
      const handles = (
        process as unknown as { _getActiveHandles(): unknown[] }
      )._getActiveHandles();
      for (const handle of handles) {
        if (handle instanceof Socket && ports.has(handle.remotePort ?? -1)) handle.destroy();
      }
    }, 1_000).unref();
  });

  /** Keys live on every master: scan each, and delete one key at a time (slots differ). */
  async function cleanup(keyPrefix: string): Promise<void> {
    for (const node of admin.nodes("master")) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
        cursor = next;
        for (const key of keys) await node.unlink(key);
      } while (cursor !== "0");
    }
  }

  runContractSuite(
    "redis cluster",
    (options) => createPlatformServices({ ...options, redisUrl: clusterUrl }),
    { cleanup },
  );
}
