/**
 * The engine's events that hint at drift between the database and what runs on one engine: a
 * platform container that died or was removed. The reconciler does not trust them (it reads the whole state again); they only make
 * it look sooner than its next interval.
 */
import type Dockerode from "dockerode";

/** One event, as much of it as the reconciler's log needs. */
export interface EngineEvent {
  type: string;
  action: string;
  id: string;
}

/** `docker events` filters: a labelled container that died, was removed or ran out of memory. */
export function driftFilters(label: string): Record<string, string[]> {
  return { type: ["container"], label: [label], event: ["die", "destroy", "oom"] };
}

/**
 * The engine's events matching `filters` until `signal` aborts or the stream ends (the engine
 * went away: the caller starts again later). Lines that are not JSON are skipped.
 */
export async function* engineEvents(
  docker: Dockerode,
  filters: Record<string, string[]>,
  signal: AbortSignal,
): AsyncGenerator<EngineEvent> {
  const stream = (await docker.getEvents({
    filters: JSON.stringify(filters),
    abortSignal: signal,
  } as Dockerode.GetEventsOptions)) as NodeJS.ReadableStream;
  let pending = "";
  try {
    for await (const chunk of stream) {
      pending += chunk.toString();
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
        const event = parseEvent(line);
        if (event) yield event;
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
}

export function parseEvent(line: string): EngineEvent | undefined {
  if (line === "") return undefined;
  try {
    const raw = JSON.parse(line) as {
      Type?: unknown;
      Action?: unknown;
      Actor?: { ID?: unknown };
    };
    if (typeof raw.Type !== "string" || typeof raw.Action !== "string") return undefined;
    return {
      type: raw.Type,
      action: raw.Action,
      id: typeof raw.Actor?.ID === "string" ? raw.Actor.ID : "",
    };
  } catch {
    return undefined;
  }
}
