/**
 * Hourly usage per deployment (the base of cost analytics): the plain sums of the deployment's
 * bucket rows within each UTC hour. Pure.
 *
 * The database keeps the hourly rows up to date by adding, for each write, what the write
 * changed: `usageDelta(written, replaced)`, the rollup of the rows written minus the rollup of
 * the rows they replaced. Summed over writes, this telescopes to the rollup of the rows stored.
 */
import type { MinuteUsage } from "./rows.js";
import { floorTo, type UsageHour } from "./samples.js";

export const HOUR_MS = 3_600_000;

/** One UsageHour per (deployment, hour) that has rows, ordered by deployment then hour. */
export function rollupHourly(rows: Iterable<MinuteUsage>): UsageHour[] {
  const byKey = new Map<string, UsageHour>();
  for (const row of rows) {
    const hour = floorTo(row.minute, HOUR_MS);
    const key = `${row.deploymentId}\u0000${hour}`;
    let usage = byKey.get(key);
    if (!usage) {
      usage = {
        deploymentId: row.deploymentId,
        hour: new Date(hour),
        cpuSeconds: 0,
        memoryByteSeconds: 0,
        networkBytes: 0,
        diskIoBytes: 0,
      };
      byKey.set(key, usage);
    }
    usage.cpuSeconds += row.cpuSeconds;
    usage.memoryByteSeconds += row.memoryByteSeconds;
    usage.networkBytes += row.networkBytes;
    usage.diskIoBytes += row.diskIoBytes;
  }
  return [...byKey.values()].sort(
    (a, b) =>
      (a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0) ||
      a.hour.getTime() - b.hour.getTime(),
  );
}

/**
 * What a write changes in the hourly usage: the rollup of `written` minus the rollup of the rows
 * it `replaced` (the same keys, as they were stored). Hours whose usage does not change are left
 * out; writing rows again as they are gives nothing.
 */
export function usageDelta(
  written: Iterable<MinuteUsage>,
  replaced: Iterable<MinuteUsage>,
): UsageHour[] {
  const byKey = new Map<string, UsageHour>();
  for (const hour of rollupHourly(written)) byKey.set(keyOf(hour), hour);
  for (const old of rollupHourly(replaced)) {
    const key = keyOf(old);
    const hour = byKey.get(key) ?? {
      ...old,
      cpuSeconds: 0,
      memoryByteSeconds: 0,
      networkBytes: 0,
      diskIoBytes: 0,
    };
    hour.cpuSeconds -= old.cpuSeconds;
    hour.memoryByteSeconds -= old.memoryByteSeconds;
    hour.networkBytes -= old.networkBytes;
    hour.diskIoBytes -= old.diskIoBytes;
    byKey.set(key, hour);
  }
  return [...byKey.values()].filter(
    (h) =>
      h.cpuSeconds !== 0 ||
      h.memoryByteSeconds !== 0 ||
      h.networkBytes !== 0 ||
      h.diskIoBytes !== 0,
  );
}

function keyOf(hour: UsageHour): string {
  return `${hour.deploymentId}\u0000${hour.hour.getTime()}`;
}
