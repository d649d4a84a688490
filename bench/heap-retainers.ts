/**
 * The largest retainers in a V8 heap snapshot, for docs/benchmarks.md: what the heap of an idle
 * platform process holds. Take the snapshot from a running process started with
 * `--heapsnapshot-signal=SIGUSR2` (`kill -USR2 <pid>` writes Heap.<date>.<pid>…heapsnapshot in its
 * working directory), then:
 *
 *   node --import tsx bench/heap-retainers.ts <file.heapsnapshot> [top=25]
 *
 * Prints the heap's total, the self size by node type and by constructor, and the objects with
 * the largest retained size (what would be freed with them: the size of their subtree in the
 * dominator tree, computed here with Cooper, Harvey and Kennedy's iterative algorithm), each
 * with one retaining path from the roots, which names the module or object holding them.
 */
import { readFile } from "node:fs/promises";

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
    node_count: number;
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const file = process.argv[2];
const TOP = Number(process.argv[3] ?? 25);
if (!file) {
  console.error("usage: node --import tsx bench/heap-retainers.ts <file.heapsnapshot> [top]");
  process.exit(2);
}

const data = JSON.parse(await readFile(file, "utf8")) as Snapshot;
const meta = data.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf("type");
const nName = meta.node_fields.indexOf("name");
const nSize = meta.node_fields.indexOf("self_size");
const nEdges = meta.node_fields.indexOf("edge_count");
const eType = meta.edge_fields.indexOf("type");
const eName = meta.edge_fields.indexOf("name_or_index");
const eTo = meta.edge_fields.indexOf("to_node");
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = data;
const count = nodes.length / NF;

const typeOf = (i: number) => nodeTypes[nodes[i * NF + nType] ?? 0] ?? "?";
const nameOf = (i: number) => strings[nodes[i * NF + nName] ?? 0] ?? "?";
const sizeOf = (i: number) => nodes[i * NF + nSize] ?? 0;

// Edges of each node: the first edge's index.
const firstEdge = new Uint32Array(count + 1);
for (let i = 0, e = 0; i < count; i++) {
  firstEdge[i] = e;
  e += nodes[i * NF + nEdges] ?? 0;
  firstEdge[i + 1] = e;
}
/** Weak edges do not retain; they are left out of the graph. */
const weak = edgeTypes.indexOf("weak");
const shortcut = edgeTypes.indexOf("shortcut");
const children = (i: number) => {
  const out: number[] = [];
  for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e++) {
    const t = edges[e * EF + eType];
    if (t === weak || t === shortcut) continue;
    out.push((edges[e * EF + eTo] ?? 0) / NF);
  }
  return out;
};

// Reverse postorder from the root (node 0), iteratively.
const order = new Int32Array(count).fill(-1);
const rpo: number[] = [];
{
  const visited = new Uint8Array(count);
  const stack: Array<[number, number[], number]> = [[0, children(0), 0]];
  visited[0] = 1;
  const post: number[] = [];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (!top) break;
    const [node, kids, at] = top;
    if (at < kids.length) {
      top[2] = at + 1;
      const next = kids[at] ?? 0;
      if (!visited[next]) {
        visited[next] = 1;
        stack.push([next, children(next), 0]);
      }
    } else {
      post.push(node);
      stack.pop();
    }
  }
  for (let k = post.length - 1; k >= 0; k--) {
    const n = post[k] ?? 0;
    order[n] = rpo.length;
    rpo.push(n);
  }
}

// Predecessors of each reachable node.
const preds: number[][] = Array.from({ length: count }, () => []);
for (const n of rpo) for (const c of children(n)) preds[c]?.push(n);

// Dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm").
const idom = new Int32Array(count).fill(-1);
idom[0] = 0;
const intersect = (a: number, b: number) => {
  let x = a;
  let y = b;
  while (x !== y) {
    while ((order[x] ?? 0) > (order[y] ?? 0)) x = idom[x] ?? 0;
    while ((order[y] ?? 0) > (order[x] ?? 0)) y = idom[y] ?? 0;
  }
  return x;
};
for (let changed = true; changed; ) {
  changed = false;
  for (const n of rpo) {
    if (n === 0) continue;
    let next = -1;
    for (const p of preds[n] ?? []) {
      if ((idom[p] ?? -1) === -1) continue;
      next = next === -1 ? p : intersect(p, next);
    }
    if (next !== -1 && idom[n] !== next) {
      idom[n] = next;
      changed = true;
    }
  }
}

// Retained sizes: children before parents (reverse of the reverse postorder).
const retained = new Float64Array(count);
for (const n of rpo) retained[n] = sizeOf(n);
for (let k = rpo.length - 1; k > 0; k--) {
  const n = rpo[k] ?? 0;
  const d = idom[n] ?? 0;
  if (d !== n) retained[d] = (retained[d] ?? 0) + (retained[n] ?? 0);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
let total = 0;
for (const n of rpo) total += sizeOf(n);
console.log(`${file}: ${count} nodes, ${rpo.length} reachable, ${mb(total)} reachable self size`);

const byKey = (key: (i: number) => string) => {
  const sums = new Map<string, { size: number; count: number }>();
  for (const n of rpo) {
    const k = key(n);
    const s = sums.get(k) ?? { size: 0, count: 0 };
    s.size += sizeOf(n);
    s.count++;
    sums.set(k, s);
  }
  return [...sums].sort((a, b) => b[1].size - a[1].size);
};
console.log("\nself size by node type");
for (const [k, v] of byKey(typeOf).slice(0, 12)) {
  console.log(`  ${mb(v.size).padStart(10)}  ${String(v.count).padStart(7)}  ${k}`);
}
console.log("\nself size by constructor (objects) or type");
for (const [k, v] of byKey((i) => (typeOf(i) === "object" ? nameOf(i) : `(${typeOf(i)})`)).slice(
  0,
  TOP,
)) {
  console.log(`  ${mb(v.size).padStart(10)}  ${String(v.count).padStart(7)}  ${k}`);
}

// One retaining path from the root: the shortest (breadth-first), named by the edges taken.
const parent = new Int32Array(count).fill(-1);
const parentEdge = new Int32Array(count).fill(-1);
{
  parent[0] = 0;
  let frontier = [0];
  while (frontier.length) {
    const next: number[] = [];
    for (const n of frontier) {
      for (let e = firstEdge[n] ?? 0; e < (firstEdge[n + 1] ?? 0); e++) {
        const t = edges[e * EF + eType];
        if (t === weak || t === shortcut) continue;
        const c = (edges[e * EF + eTo] ?? 0) / NF;
        if ((parent[c] ?? 0) !== -1) continue;
        parent[c] = n;
        parentEdge[c] = e;
        next.push(c);
      }
    }
    frontier = next;
  }
}
const edgeLabel = (e: number) => {
  const t = edgeTypes[edges[e * EF + eType] ?? 0];
  const raw = edges[e * EF + eName] ?? 0;
  return t === "element" || t === "hidden" ? `[${raw}]` : (strings[raw] ?? String(raw));
};
const label = (i: number) => {
  const name = nameOf(i).replace(/\s+/g, " ");
  return `${typeOf(i)} ${name.length > 60 ? `${name.slice(0, 57)}...` : name}`;
};
const pathOf = (i: number) => {
  const steps: string[] = [];
  for (let n = i; n !== 0 && steps.length < 14; n = parent[n] ?? 0) {
    const p = parent[n] ?? 0;
    const holder = p === 0 ? "" : `${nameOf(p).replace(/\s+/g, " ").slice(0, 40)}`;
    steps.push(`${holder}.${edgeLabel(parentEdge[n] ?? 0)}`);
  }
  return steps.reverse().join(" → ");
};

console.log(`\nlargest retained sizes (objects that are not GC roots or their synthetic groups)`);
const candidates = rpo
  .filter((n) => n !== 0 && typeOf(n) !== "synthetic" && (idom[n] ?? 0) !== 0)
  .sort((a, b) => (retained[b] ?? 0) - (retained[a] ?? 0));
const shown: number[] = [];
for (const n of candidates) {
  // Skip an object inside one already shown that holds nearly all of it (its only content).
  const inside = shown.some((s) => {
    for (let d = n; d !== 0; d = idom[d] ?? 0) if (d === s) return true;
    return false;
  });
  if (inside) continue;
  shown.push(n);
  console.log(
    `  ${mb(retained[n] ?? 0).padStart(10)}  ${label(n)}\n              via ${pathOf(n)}`,
  );
  if (shown.length >= TOP) break;
}
