export { type AuditEntry, recordAudit } from "./audit.js";
