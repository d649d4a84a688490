export type { Backup, BackupType } from "./agent-answer.js";
export { BACKUP_TYPES } from "./agent-answer.js";
export {
  type BackupAgents,
  type BackupListing,
  BackupService,
  backupAgentsFrom,
  type MemberStatus,
} from "./service.js";
