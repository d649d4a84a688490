/** /health: whether this process can do its work, and why not when it cannot. */
import type { AppContext } from "../core/index.js";

export interface HealthReport {
  status: "ok" | "degraded";
  version: string;
  uptimeSeconds: number;
  checks: Record<string, { ok: boolean; kind?: string; detail?: string; latencyMs?: number }>;
}

const TIMEOUT_MS = 2_000;

async function timed(check: () => Promise<void>) {
  const started = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)),
          TIMEOUT_MS,
        ).unref(),
      ),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

export async function checkHealth(
  ctx: AppContext & { database?: { kind: string; ping(): Promise<void> } },
  version: string,
  startedAt: number,
  extra: Record<string, () => Promise<{ ok: boolean; detail?: string }>>,
): Promise<HealthReport> {
  const [database, services, ...rest] = await Promise.all([
    ctx.database
      ? timed(() => ctx.database?.ping() ?? Promise.resolve())
      : Promise.resolve({ ok: true }),
    timed(() => ctx.services.ping()),
    ...Object.values(extra).map((check) =>
      check().catch((e: unknown) => ({ ok: false, detail: String(e) })),
    ),
  ]);
  const checks: HealthReport["checks"] = {
    database: { ...database, ...(ctx.database ? { kind: ctx.database.kind } : {}) },
    [ctx.services.kind === "redis" ? "redis" : "services"]: {
      ...services,
      kind: ctx.services.kind,
    },
  };
  Object.keys(extra).forEach((name, i) => {
    const r = rest[i];
    if (r) checks[name] = r;
  });
  return {
    status: Object.values(checks).every((c) => c.ok) ? "ok" : "degraded",
    version,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    checks,
  };
}
