/**
 * The platform services' contract on a Redis Cluster, when TEST_REDIS_CLUSTER_URL names one
 * (`redis+cluster://127.0.0.1:7101,127.0.0.1:7102`); skipped otherwise. A three-master cluster on
 * loopback: `redis-server --port P --cluster-enabled yes …` for three ports, then
 * `redis-cli --cluster create 127.0.0.1:P1 127.0.0.1:P2 127.0.0.1:P3 --cluster-replicas 0`.
 */
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
