/**
 * Daily range partitions of the per-minute tables, where TimescaleDB is absent: one partition
 * per UTC day, named `<table>_pYYYYMMDD`, created a few days ahead and dropped whole once the
 * day is past the retention. Pure: names, days and which partitions are due.
 */

export const DAY_MS = 86_400_000;

/** The per-minute tables, partitioned by `minute`. */
export const MINUTE_TABLES = ["container_metrics_minute", "node_metrics_minute"] as const;
export type MinuteTable = (typeof MINUTE_TABLES)[number];

export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function partitionName(table: MinuteTable, day: number): string {
  return `${table}_p${new Date(day).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

/** The day a partition of `table` holds, from its name; undefined for any other name. */
export function partitionDay(table: MinuteTable, name: string): number | undefined {
  const match = /^_p(\d{4})(\d{2})(\d{2})$/.exec(name.slice(table.length));
  if (!name.startsWith(table) || !match) return undefined;
  const [, year, month, day] = match;
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day));
  return Number.isNaN(ms) ? undefined : ms;
}

/** Rows older than this are past the retention. */
export function retentionCutoff(now: number, days: number): number {
  return now - days * DAY_MS;
}

/** The days that should have a partition now: today and `aheadDays` after it. */
export function daysAhead(now: number, aheadDays: number): number[] {
  const today = dayOf(now);
  return Array.from({ length: aheadDays + 1 }, (_, i) => today + i * DAY_MS);
}

/** Whether the whole day is older than the cutoff, so that its partition can go. */
export function isExpired(day: number, cutoff: number): boolean {
  return day + DAY_MS <= cutoff;
}

/** The partition's bounds as SQL literals, in UTC whatever the session's time zone. */
export function partitionBounds(day: number): { from: string; to: string } {
  return { from: new Date(day).toISOString(), to: new Date(day + DAY_MS).toISOString() };
}
