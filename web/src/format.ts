/** Numbers, sizes and times for people. Pure. */
import type { Timestamp } from "@bufbuild/protobuf/wkt";

export function dateOf(ts: Timestamp | undefined): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000));
}

export function bytes(value: number | bigint | undefined, digits = 1): string {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n)) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${n < 0 ? "-" : ""}${i === 0 ? v.toFixed(0) : v.toFixed(digits)} ${units[i]}`;
}

export const rate = (bytesPerSecond: number) => `${bytes(bytesPerSecond)}/s`;

export function percent(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return `${value.toFixed(digits)}%`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function ago(date: Date | undefined, now = Date.now()): string {
  if (!date) return "—";
  const s = Math.round((now - date.getTime()) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const hours = Math.floor(m / 60);
  if (hours < 24) return `${hours}h ago`;
  const days = Math.floor(hours / 24);
  if (days < 30) return `${days}d ago`;
  return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export const fullTime = (date: Date | undefined) => (date ? date.toLocaleString() : "—");

export const clock = (date: Date | undefined) =>
  date
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : "";

export const shortId = (id: string, n = 8) => id.replace(/^sha256:/, "").slice(0, n);

/** "https://github.com/acme/shop.git" → "acme/shop"; file:///tmp/x → "/tmp/x". */
export function repoName(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.replace(/\.git$/, "").replace(/\/+$/, "");
    if (u.protocol === "file:") return path;
    return path.replace(/^\/+/, "") || u.host;
  } catch {
    // scp-like ssh: git@host:owner/repo.git
    const m = /^[^@]+@[^:]+:(.+?)(\.git)?$/.exec(url);
    return m?.[1] ?? url;
  }
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
