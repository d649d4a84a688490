/**
 * Which Node.js major version an app asks for: `engines.node` (an npm semver range), or the
 * version in `.nvmrc` / `.node-version`. Only the ranges people write in package.json are
 * understood (`>=20`, `^20.11`, `20.x`, `18 || 20`, `>=18 <23`, `20 - 22`, `~20.11.1`, `*`);
 * prerelease tags are ignored.
 */

/** Majors with official images, oldest first; a range naming another major may still pick it. */
export const KNOWN_NODE_MAJORS = [18, 20, 22, 24] as const;

type Version = readonly [number, number, number];
/** [from, to): `to` undefined means no upper bound. */
type Interval = { from: Version; to: Version | undefined };

/**
 * The major to build with: the default when the range allows it, else the highest major the
 * range allows among the known ones and those it names. Undefined when nothing satisfies it or
 * it cannot be read.
 */
export function majorForRange(range: string, defaultMajor: number): number | undefined {
  const intervals = parseRange(range);
  if (intervals === undefined) return undefined;
  const allows = (major: number) =>
    intervals.some((interval) =>
      overlaps(interval, { from: [major, 0, 0], to: [major + 1, 0, 0] }),
    );
  if (allows(defaultMajor)) return defaultMajor;
  const named = [...range.matchAll(/\d+/g)]
    .map((m) => Number(m[0]))
    .filter((n) => n >= 4 && n < 100);
  const candidates = [...new Set([...KNOWN_NODE_MAJORS, ...named])].sort((a, b) => b - a);
  return candidates.find(allows);
}

/** `.nvmrc` / `.node-version`: "20", "v20.11.0", "lts/iron", "22.3"; undefined when unreadable. */
export function majorFromVersionFile(text: string): number | undefined {
  const value = text.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
  const numeric = /^v?(\d+)(?:\.\d+){0,2}$/.exec(value);
  if (numeric) return Number(numeric[1]);
  const codename = /^lts\/([a-z]+)$/.exec(value)?.[1];
  return codename === undefined ? undefined : LTS_CODENAMES[codename];
}

const LTS_CODENAMES: Record<string, number> = {
  hydrogen: 18,
  iron: 20,
  jod: 22,
  krypton: 24,
};

function overlaps(a: Interval, b: Interval): boolean {
  const startsBeforeBEnds = b.to === undefined || compare(a.from, b.to) < 0;
  const bStartsBeforeAEnds = a.to === undefined || compare(b.from, a.to) < 0;
  return startsBeforeBEnds && bStartsBeforeAEnds;
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** The range as a union of intervals; undefined when a part cannot be read. */
export function parseRange(range: string): Interval[] | undefined {
  const result: Interval[] = [];
  for (const alternative of range.split("||")) {
    const interval = parseSet(alternative.trim());
    if (interval === undefined) return undefined;
    if (interval !== "empty") result.push(interval);
  }
  return result;
}

function parseSet(text: string): Interval | "empty" | undefined {
  if (text === "" || text === "*" || text.toLowerCase() === "x") {
    return { from: [0, 0, 0], to: undefined };
  }
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const low = partial(hyphen[1] as string);
    const high = partial(hyphen[2] as string);
    if (!low || !high) return undefined;
    return intersect([
      { from: low.floor, to: undefined },
      { from: [0, 0, 0], to: high.ceiling },
    ]);
  }
  // "> = 18" and ">= 18" are written; the operator belongs to the version after it.
  const comparators = text.replace(/([<>=^~]+)\s+/g, "$1").split(/\s+/);
  const intervals: Interval[] = [];
  for (const comparator of comparators) {
    const interval = parseComparator(comparator);
    if (interval === undefined) return undefined;
    intervals.push(interval);
  }
  return intersect(intervals);
}

function parseComparator(text: string): Interval | undefined {
  const match = /^(>=|<=|>|<|=|\^|~>?)?v?(.*)$/.exec(text);
  if (!match) return undefined;
  const operator = match[1] ?? "";
  const version = partial(match[2] as string);
  if (!version) return undefined;
  const { floor, ceiling, given } = version;
  switch (operator) {
    case "":
    case "=":
      return { from: floor, to: ceiling };
    case ">=":
      return { from: floor, to: undefined };
    case ">":
      return { from: ceiling ?? floor, to: undefined };
    case "<":
      return { from: [0, 0, 0], to: floor };
    case "<=":
      return { from: [0, 0, 0], to: ceiling };
    case "^": {
      const [major, minor, patch] = floor;
      if (major > 0 || given === 1) return { from: floor, to: [major + 1, 0, 0] };
      if (minor > 0 || given === 2) return { from: floor, to: [0, minor + 1, 0] };
      return { from: floor, to: [0, 0, patch + 1] };
    }
    default: {
      // ~ and ~>: the minor is fixed when given, else the major.
      const [major, minor] = floor;
      return { from: floor, to: given === 1 ? [major + 1, 0, 0] : [major, minor + 1, 0] };
    }
  }
}

/**
 * "20" → from 20.0.0 to 21.0.0; "20.11" → to 20.12.0; "20.11.1" → to 20.11.2 (the versions the
 * partial stands for). `given` counts the numbers written before a wildcard.
 */
function partial(
  text: string,
): { floor: Version; ceiling: Version | undefined; given: number } | undefined {
  const parts = text.split("-")[0]?.split("+")[0]?.split(".") ?? [];
  if (parts.length === 0 || parts.length > 3) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    if (/^[xX*]$/.test(part)) break;
    if (!/^\d+$/.test(part)) return undefined;
    numbers.push(Number(part));
  }
  const [major = 0, minor = 0, patch = 0] = numbers;
  const floor: Version = [major, minor, patch];
  switch (numbers.length) {
    case 0:
      return { floor: [0, 0, 0], ceiling: undefined, given: 0 };
    case 1:
      return { floor, ceiling: [major + 1, 0, 0], given: 1 };
    case 2:
      return { floor, ceiling: [major, minor + 1, 0], given: 2 };
    default:
      return { floor, ceiling: [major, minor, patch + 1], given: 3 };
  }
}

function intersect(intervals: Interval[]): Interval | "empty" {
  let from: Version = [0, 0, 0];
  let to: Version | undefined;
  for (const interval of intervals) {
    if (compare(interval.from, from) > 0) from = interval.from;
    if (interval.to !== undefined && (to === undefined || compare(interval.to, to) < 0)) {
      to = interval.to;
    }
  }
  if (to !== undefined && compare(from, to) >= 0) return "empty";
  return { from, to };
}
