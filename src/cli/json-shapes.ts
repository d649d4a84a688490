/**
 * What `--json` prints: for every listing an array of these objects, one per item. The shapes are
 * the CLI's contract with scripts (README.md, "JSON output"): fields are only ever added, never
 * renamed or removed. Names are camelCase; statuses are lowercase words ("running",
 * "cancelled"); times are ISO 8601 strings in UTC, or null; a missing id is null. Pure.
 */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type Backup,
  type BackupMember,
  BackupType,
  type ListBackupsResponse,
} from "../gen/obiente/cloud/backup/v1/backup_pb.js";
import {
  type Build,
  BuildStatus,
  type DeployHook,
  type Deployment,
  DeploymentStatus,
  type Domain,
  DomainStatus,
  type EnvVar,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { type Node, NodeAvailability } from "../gen/obiente/cloud/node/v1/node_pb.js";
import { type Organization, Role } from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import type {
  DeployKey,
  Project,
  Webhook,
  WebhookEndpoint,
} from "../gen/obiente/cloud/project/v1/project_pb.js";

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : null);
const lower = (name: string | undefined) => name?.toLowerCase() ?? "unknown";

export const deploymentStatusName = (s: DeploymentStatus) => lower(DeploymentStatus[s]);
export const buildStatusName = (s: BuildStatus) => lower(BuildStatus[s]);

export function deploymentJson(d: Deployment) {
  return {
    id: d.id,
    name: d.name,
    projectId: d.projectId,
    organizationId: d.organizationId,
    status: deploymentStatusName(d.status),
    statusMessage: d.statusMessage,
    gitRepo: d.gitRepo,
    branch: d.branch,
    replicas: d.replicas,
    url: d.url,
    domains: [...d.domains],
    currentBuildId: d.currentBuildId || null,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    previewsEnabled: d.previewsEnabled,
    previewBranches: d.previewBranches,
    /** Set on a preview: the deployment it previews. */
    parentId: d.parentId || null,
  };
}

/** A preview (`previews ls`): a deployment, and the pull request (null: a push) and last push. */
export function previewJson(d: Deployment) {
  return {
    ...deploymentJson(d),
    pullRequest: d.pullRequest || null,
    lastPushAt: iso(d.lastPushAt),
  };
}

export function buildJson(b: Build, currentBuildId: string) {
  return {
    id: b.id,
    deploymentId: b.deploymentId,
    status: buildStatusName(b.status),
    statusMessage: b.statusMessage,
    commitSha: b.commitSha,
    imageId: b.imageId,
    current: b.id === currentBuildId,
    createdAt: iso(b.createdAt),
    finishedAt: iso(b.finishedAt),
    commitMessage: b.commitMessage,
    commitAuthor: b.commitAuthor,
    committedAt: iso(b.committedAt),
    trigger: b.trigger,
    branch: b.branch,
  };
}

/** `value` is null unless revealed (and for viewers, whom the server shows no values). */
export function envVarJson(e: EnvVar, reveal: boolean) {
  return { key: e.key, value: reveal ? e.value : null };
}

export function domainJson(d: Domain) {
  return {
    domain: d.domain,
    isDefault: d.isDefault,
    status: d.isDefault ? "default" : (DomainStatus[d.status]?.toLowerCase() ?? "unknown"),
    ...(d.verification && !d.isDefault && d.status !== DomainStatus.VERIFIED
      ? {
          verification: {
            recordType: d.verification.recordType,
            recordName: d.verification.recordName,
            recordValue: d.verification.recordValue,
          },
        }
      : {}),
    createdAt: iso(d.createdAt),
  };
}

export function projectJson(p: Project) {
  return {
    id: p.id,
    organizationId: p.organizationId,
    name: p.name,
    slug: p.slug,
    description: p.description,
    createdAt: iso(p.createdAt),
  };
}

export function organizationJson(o: Organization) {
  return { id: o.id, slug: o.slug, name: o.name, role: lower(Role[o.role]) };
}

export function deployKeyJson(k: DeployKey) {
  return {
    projectId: k.projectId,
    publicKey: k.publicKey,
    fingerprint: k.fingerprint,
    createdAt: iso(k.createdAt),
  };
}

/**
 * A project's webhook: per forge the path and the URL to give the forge (`urlOf` completes a
 * path the server gave no full URL for). Never the secret.
 */
export function webhookJson(w: Webhook, urlOf: (e: WebhookEndpoint) => string) {
  return {
    projectId: w.projectId,
    configured: w.configured,
    createdAt: iso(w.createdAt),
    endpoints: w.endpoints.map((e) => ({ forge: e.forge, path: e.path, url: urlOf(e) })),
  };
}

/** Whether a deployment has a deploy hook; never its token. */
export function deployHookJson(deploymentId: string, h: DeployHook | undefined) {
  return {
    deploymentId,
    exists: h?.exists ?? false,
    prefix: h?.prefix || null,
    createdAt: iso(h?.createdAt),
    lastUsedAt: iso(h?.lastUsedAt),
  };
}

export function nodeJson(n: Node) {
  return {
    id: n.id,
    hostname: n.hostname,
    address: n.address,
    role: n.role,
    availability: lower(NodeAvailability[n.availability]),
    cpuCores: n.capacity?.cpuCores ?? 0,
    memoryBytes: Number(n.capacity?.memoryBytes ?? 0n),
    maxDeployments: n.capacity?.maxDeployments ?? 0,
    deploymentCount: n.deploymentCount,
    labels: { ...n.labels },
    lastHeartbeat: iso(n.lastHeartbeat),
    statusMessage: n.statusMessage,
  };
}

/** A backup (`backup ls`, `backup now`); sizes in bytes. */
export function backupJson(b: Backup) {
  return {
    label: b.label,
    type: lower(BackupType[b.type]),
    startedAt: iso(b.startedAt),
    stoppedAt: iso(b.stoppedAt),
    databaseBytes: Number(b.databaseBytes),
    backupBytes: Number(b.backupBytes),
    walStart: b.walStart || null,
    walStop: b.walStop || null,
    prior: b.prior || null,
  };
}

/** What a member's backup agent answered (`backup ls`). */
export function backupMemberJson(m: BackupMember) {
  return {
    member: m.member,
    url: m.url,
    leader: m.leader,
    reachable: m.reachable,
    error: m.error || null,
  };
}

/** `backup ls`: one object, the stanza, its backups and the members. */
export function backupListingJson(l: ListBackupsResponse) {
  return {
    stanza: l.stanza,
    stanzaStatus: l.stanzaStatus,
    listedBy: l.listedBy,
    backups: l.backups.map(backupJson),
    members: l.members.map(backupMemberJson),
  };
}
