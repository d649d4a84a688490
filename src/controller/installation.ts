/**
 * The installation's id: made once, kept in controller_state, and put on every container the
 * platform starts (LABELS.installation in src/domain/labels.ts). Several installations can share one
 * Docker engine (a developer's machine, CI): each reconciler leaves the others' containers alone.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { controllerState, type Db } from "../store/index.js";

const KEY = "installation";

export async function installationId(db: Db): Promise<string> {
  await db
    .insert(controllerState)
    .values({ key: KEY, value: { id: randomUUID() } })
    .onConflictDoNothing();
  const [row] = await db.select().from(controllerState).where(eq(controllerState.key, KEY));
  const id = (row?.value as { id?: unknown } | undefined)?.id;
  if (typeof id !== "string") throw new Error("controller_state has no installation id");
  return id;
}
