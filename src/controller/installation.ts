/**
 * The installation's id: made once, kept in controller_state, and put on every container the
 * platform starts (label cloud.obiente.installation). Several installations can share one
 * Docker engine (a developer's machine, CI): each reconciler leaves the others' containers alone.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "../store/database.js";
import { controllerState } from "../store/schema.js";

export { INSTALLATION_LABEL } from "./replica-names.js";

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
