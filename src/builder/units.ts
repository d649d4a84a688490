/** Sizes and durations written for people, in the builder's messages. */

const KB = 1024;
const MB = 1024 * 1024;

/** 500 MB, 1.5 MB, 10 KB, 900 bytes: binary multiples, at most one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${round1(bytes / MB)} MB`;
  if (bytes >= KB) return `${round1(bytes / KB)} KB`;
  return `${bytes} bytes`;
}

/** 30 s, 1.5 s, 0.2 s. */
export function formatSeconds(ms: number): string {
  return `${round1(ms / 1000)} s`;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
