/**
 * BackupService: the platform database's backups, for platform administrators (the domain
 * service refuses anyone else). TakeBackup waits for the backup; the call's signal ends the wait
 * when the client goes away.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { BackupService } from "../../gen/obiente/cloud/backup/v1/backup_pb.js";
import { backupMemberToProto, backupToProto, backupTypeFromProto } from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function backupHandlers({ backups }: Domain): ServiceImpl<typeof BackupService> {
  return {
    async listBackups(_req, ctx) {
      const listing = await backups.list(principalOf(ctx));
      return {
        stanza: listing.stanza,
        stanzaStatus: listing.stanzaStatus,
        listedBy: listing.listedBy,
        backups: listing.backups.map(backupToProto),
        members: listing.members.map(backupMemberToProto),
      };
    },
    async takeBackup(req, ctx) {
      const taken = await backups.take(principalOf(ctx), backupTypeFromProto(req.type), ctx.signal);
      return { member: taken.member, backup: backupToProto(taken.backup) };
    },
  };
}
