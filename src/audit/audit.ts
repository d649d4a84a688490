/**
 * The audit log: one row per mutation, written in the mutation's own transaction so that a
 * change and its record are both there or neither is.
 */
import type { Principal } from "../auth/index.js";
import { auditLog, type Tx } from "../store/index.js";

export interface AuditEntry {
  principal: Principal | undefined; // undefined: the platform itself (bootstrap, controller)
  organizationId?: string | undefined;
  action: string; // "deployment.create", "member.remove", …
  resourceType: string;
  resourceId: string;
  details?: Record<string, unknown>;
}

export async function recordAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    organizationId: entry.organizationId ?? null,
    userId: entry.principal?.userId ?? null,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    details: { ...entry.details, ...(entry.principal ? { via: entry.principal.method } : {}) },
  });
}
