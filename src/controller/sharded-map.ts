/**
 * A map by string key, kept as several small Maps, for the reconciler's pass (plan.ts), which
 * indexes every container and deployment of the installation anew on each pass.
 *
 * Why not one Map: V8 keeps a Map's entries in one table, and a table of more than about 4,000
 * entries is larger than a heap page (128 KB), so it is allocated as a large object, on pages
 * of its own that are freed once it is garbage. A pass that fills a Map of 13,000 entries makes
 * a table of 16,384 and, growing, the tables before it, on fresh pages: on the 2-core VM of
 * docs/benchmarks.md the page faults cost some 400 ns per entry added, against some 60 ns in
 * Maps of 1,000 (issue 10, "Reconcile diff, the pass's Maps"). Shards of at most a few
 * thousand entries stay on the ordinary heap.
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
