/**
 * A map by string key, kept as several small Maps, for the reconciler's pass (plan.ts), which
 * indexes every deployment of the installation anew on each pass.
 *
 * Why not one Map: V8 keeps a Map's entries in one table, and past a few thousand entries the
 * table is larger than the largest object V8 puts on an ordinary heap page, so it is allocated
 * as a large object, on pages of its own, anew at each growth and on each pass. On the 2-core VM
 * of docs/benchmarks.md ("Run of 2026-12-08 (reconcile diff: the pass's Maps)") adding 10,000
 * entries to one Map cost some 450 ns each and 200 page faults, against some 60 ns each and none
 * in ten Maps of 1,000. Shards of about a thousand entries stay on the ordinary heap.
 */

/** Entries a shard is sized for: its table stays well under a heap page. */
const ENTRIES_PER_SHARD = 1024;
/** Two hex digits, the last of a UUID or a Docker id, tell 256 shards apart: no more. */
const MAX_SHARDS = 256;

export class ShardedMap<V> {
  readonly #shards: Map<string, V>[];
  readonly #mask: number;

  /** `expected`: about how many entries it will hold; it may hold any number. */
  constructor(expected: number) {
    let count = 1;
    while (count * ENTRIES_PER_SHARD < expected && count < MAX_SHARDS) count *= 2;
    this.#shards = Array.from({ length: count }, () => new Map<string, V>());
    this.#mask = count - 1;
  }

  get(key: string): V | undefined {
    return this.#shardOf(key).get(key);
  }

  has(key: string): boolean {
    return this.#shardOf(key).has(key);
  }

  set(key: string, value: V): void {
    this.#shardOf(key).set(key, value);
  }

  /** How many entries each shard holds: to see that the keys spread. */
  shardSizes(): number[] {
    return this.#shards.map((shard) => shard.size);
  }

  /** Every entry, shard by shard: in no particular order. */
  *entries(): IterableIterator<[string, V]> {
    for (const shard of this.#shards) yield* shard.entries();
  }

  /**
   * The shard of a key, from its last two characters: the ids kept here (UUIDs, Docker's 64-hex
   * ids, Swarm's 25-character ids) are random there. Multiplied by an odd constant and folded,
   * so that the low bits depend on both.
   */
  #shardOf(key: string): Map<string, V> {
    const n = key.length;
    const last = n > 0 ? key.charCodeAt(n - 1) : 0;
    const before = n > 1 ? key.charCodeAt(n - 2) : 0;
    const h = Math.imul((before << 16) | last, 0x9e3779b1);
    return this.#shards[(h ^ (h >>> 16)) & this.#mask] as Map<string, V>;
  }
}
