/**
 * Rows of the store to messages of the API contract, and the contract's enums to the names the
 * store uses. Pure.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { RoleName } from "../access/index.js";
import type { ApiToken as TokenRow } from "../accounts/index.js";
import type { Backup, BackupType as BackupTypeName, MemberStatus } from "../backups/index.js";
import {
  type Build as BuildRow,
  type Deployment as DeploymentRow,
  type DomainView,
  type Location,
  type StatusEvent,
  type Strategy,
  stripCredentials,
} from "../deployments/index.js";
import { invalidArgument } from "../domain/index.js";
import { ApiTokenSchema, UserSchema } from "../gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  BackupMemberSchema,
  BackupSchema,
  BackupType,
} from "../gen/obiente/cloud/backup/v1/backup_pb.js";
import {
  BuildSchema,
  BuildStatus,
  DeployHookSchema,
  DeploymentLocationSchema,
  DeploymentSchema,
  DeploymentStatus,
  DomainSchema,
  DomainStatus,
  MetricsSampleSchema,
  PlacementStrategy,
  StreamDeploymentStatusResponseSchema,
  UsageHourSchema,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeAvailability, NodeSchema } from "../gen/obiente/cloud/node/v1/node_pb.js";
import {
  MemberSchema,
  OrganizationSchema,
  QuotaSchema,
  Role,
} from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import {
  DeployKeySchema,
  ProjectSchema,
  WebhookSchema,
} from "../gen/obiente/cloud/project/v1/project_pb.js";
import type { DeploymentSample, UsageHour } from "../metrics/index.js";
import type { NodeRecord } from "../nodes/index.js";
import type { Member, Organization, QuotaView } from "../organizations/index.js";
import type { DeployKey, Project } from "../projects/index.js";
import type {
  BuildStatusName,
  DeploymentStatusName,
  DomainStatusName,
  NodeAvailabilityName,
  users,
} from "../store/index.js";

const ts = (d: Date) => timestampFromDate(d);
const optTs = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

const ROLE_TO: Record<RoleName, Role> = {
  owner: Role.OWNER,
  admin: Role.ADMIN,
  developer: Role.DEVELOPER,
  viewer: Role.VIEWER,
};

export const roleToProto = (role: RoleName) => ROLE_TO[role];

export function roleFromProto(role: Role): RoleName {
  for (const [name, value] of Object.entries(ROLE_TO)) if (value === role) return name as RoleName;
  throw invalidArgument("role must be one of ROLE_OWNER, ROLE_ADMIN, ROLE_DEVELOPER, ROLE_VIEWER");
}

export function organizationToProto(row: Organization) {
  return create(OrganizationSchema, {
    id: row.id,
    name: row.name,
    slug: row.slug,
    role: roleToProto(row.role),
    createdAt: ts(row.createdAt),
    updatedAt: ts(row.updatedAt),
  });
}

export function memberToProto(row: Member) {
  return create(MemberSchema, {
    userId: row.userId,
    email: row.email,
    displayName: row.displayName,
    role: roleToProto(row.role),
    createdAt: ts(row.createdAt),
    invited: row.invited,
  });
}

export function userToProto(row: typeof users.$inferSelect) {
  return create(UserSchema, {
    id: row.id,
    email: row.email,
    displayName: row.displayName,
    platformAdmin: row.platformAdmin,
    createdAt: ts(row.createdAt),
    oidcIssuer: row.oidcIssuer ?? "",
    oidcSubject: row.oidcSubject ?? "",
  });
}

export function quotasToProto(view: {
  organizationId: string;
  organizationSlug: string;
  quotas: QuotaView[];
}) {
  // A plain init: GetQuotas and SetQuotas answer with the same fields.
  return {
    organizationId: view.organizationId,
    organizationSlug: view.organizationSlug,
    quotas: view.quotas.map((q) =>
      create(QuotaSchema, {
        name: q.name,
        limit: BigInt(q.limit),
        used: BigInt(q.used),
        overridden: q.overridden,
        description: q.description,
      }),
    ),
  };
}

export function projectToProto(row: Project) {
  return create(ProjectSchema, {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    slug: row.slug,
    description: row.description,
    createdAt: ts(row.createdAt),
    updatedAt: ts(row.updatedAt),
  });
}

export function deployKeyToProto(key: DeployKey) {
  return create(DeployKeySchema, {
    projectId: key.projectId,
    publicKey: key.publicKey,
    fingerprint: key.fingerprint,
    createdAt: ts(key.createdAt),
  });
}

const STATUS_TO: Record<DeploymentStatusName, DeploymentStatus> = {
  queued: DeploymentStatus.QUEUED,
  building: DeploymentStatus.BUILDING,
  deploying: DeploymentStatus.DEPLOYING,
  running: DeploymentStatus.RUNNING,
  stopped: DeploymentStatus.STOPPED,
  failed: DeploymentStatus.FAILED,
  deleting: DeploymentStatus.DELETING,
};
export const statusToProto = (s: DeploymentStatusName) => STATUS_TO[s];

const STRATEGY_TO: Record<Strategy, PlacementStrategy> = {
  "": PlacementStrategy.UNSPECIFIED,
  "least-loaded": PlacementStrategy.LEAST_LOADED,
  "round-robin": PlacementStrategy.ROUND_ROBIN,
  "resource-based": PlacementStrategy.RESOURCE_BASED,
};
export const strategyToProto = (s: string) =>
  STRATEGY_TO[s as Strategy] ?? PlacementStrategy.UNSPECIFIED;

export function strategyFromProto(s: PlacementStrategy): Strategy {
  for (const [name, value] of Object.entries(STRATEGY_TO)) if (value === s) return name as Strategy;
  throw invalidArgument("strategy must be one of the PlacementStrategy values");
}

/** The URL a deployment answers on; the edge (built-in, Caddy or Traefik) serves this host. */
export type UrlOf = (domain: string) => string;

export function deploymentToProto(row: DeploymentRow, urlOf: UrlOf) {
  const first = row.domains[0];
  return create(DeploymentSchema, {
    id: row.id,
    organizationId: row.organizationId,
    projectId: row.projectId,
    name: row.name,
    // Stored without a credential; stripped again should an older row still carry one.
    gitRepo: stripCredentials(row.gitRepo),
    hasGitCredential: row.hasGitCredential,
    branch: row.branch,
    rootDirectory: row.rootDirectory,
    dockerfilePath: row.dockerfilePath,
    status: statusToProto(row.status),
    statusMessage: row.statusMessage,
    replicas: row.replicas,
    resources: { cpuMillicores: row.cpuMillicores, memoryMb: row.memoryMb },
    strategy: strategyToProto(row.strategy),
    domains: row.domains,
    url: first ? urlOf(first) : "",
    currentBuildId: row.currentBuildId ?? "",
    createdAt: ts(row.createdAt),
    updatedAt: ts(row.updatedAt),
    previewsEnabled: row.previewsEnabled,
    previewBranches: row.previewBranches,
    parentId: row.parentId ?? "",
    pullRequest: row.pullRequest ?? 0,
    lastPushAt: optTs(row.lastPushAt),
  });
}

export function locationToProto(row: Location) {
  return create(DeploymentLocationSchema, {
    nodeId: row.nodeId,
    containerId: row.containerId,
    status: row.status,
    address: row.address,
    port: row.port,
    healthStatus: row.healthStatus,
    updatedAt: ts(row.updatedAt),
  });
}

export function statusEventToProto(event: StatusEvent) {
  return create(StreamDeploymentStatusResponseSchema, {
    deploymentId: event.deploymentId,
    status: statusToProto(event.status),
    statusMessage: event.message,
    at: ts(new Date(event.at)),
  });
}

const DOMAIN_STATUS_TO: Record<DomainStatusName, DomainStatus> = {
  pending: DomainStatus.PENDING,
  verified: DomainStatus.VERIFIED,
  unverified: DomainStatus.UNVERIFIED,
};

export function domainToProto(row: DomainView) {
  return create(DomainSchema, {
    domain: row.domain,
    isDefault: row.isDefault,
    createdAt: ts(row.createdAt),
    status: DOMAIN_STATUS_TO[row.status],
    statusMessage: row.statusMessage,
    ...(row.verification ? { verification: row.verification } : {}),
    verifiedAt: optTs(row.verifiedAt),
    checkedAt: optTs(row.checkedAt),
  });
}

const BUILD_TO: Record<BuildStatusName, BuildStatus> = {
  queued: BuildStatus.QUEUED,
  running: BuildStatus.RUNNING,
  succeeded: BuildStatus.SUCCEEDED,
  failed: BuildStatus.FAILED,
  cancelled: BuildStatus.CANCELLED,
};

export function buildToProto(row: BuildRow) {
  return create(BuildSchema, {
    id: row.id,
    deploymentId: row.deploymentId,
    status: BUILD_TO[row.status],
    statusMessage: row.statusMessage,
    commitSha: row.commitSha,
    imageId: row.imageId,
    createdAt: ts(row.createdAt),
    finishedAt: optTs(row.finishedAt),
    commitMessage: row.commitMessage,
    commitAuthor: row.commitAuthor,
    committedAt: optTs(row.committedAt),
    trigger: row.trigger,
    branch: row.branch,
  });
}

export function deployHookToProto(hook: {
  exists: boolean;
  prefix?: string;
  createdAt?: Date;
  lastUsedAt?: Date | null;
}) {
  return create(DeployHookSchema, {
    exists: hook.exists,
    prefix: hook.prefix ?? "",
    createdAt: optTs(hook.createdAt ?? null),
    lastUsedAt: optTs(hook.lastUsedAt ?? null),
  });
}

export function webhookToProto(
  projectId: string,
  hook: {
    endpoints: Array<{ forge: string; path: string; url: string }>;
    createdAt?: Date | undefined;
  },
) {
  return create(WebhookSchema, {
    projectId,
    endpoints: hook.endpoints,
    configured: hook.createdAt !== undefined,
    createdAt: optTs(hook.createdAt ?? null),
  });
}

export function apiTokenToProto(row: TokenRow) {
  return create(ApiTokenSchema, {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: ts(row.createdAt),
    expiresAt: optTs(row.expiresAt),
    lastUsedAt: optTs(row.lastUsedAt),
    revokedAt: optTs(row.revokedAt),
  });
}

const AVAILABILITY_TO: Record<NodeAvailabilityName, NodeAvailability> = {
  active: NodeAvailability.ACTIVE,
  drain: NodeAvailability.DRAIN,
  down: NodeAvailability.DOWN,
};

/** What a caller may see of a node: everything (platform administrators), or what a tenant may. */
export type NodeView = "admin" | "member";

/**
 * A node as the API shows it. Tenants see what tells nodes apart and how busy they are (id,
 * name, region, availability, capacity, usage, deployments, heartbeat); the hostname, the address
 * (which reaches the node's engine and every published port), the role, the labels (which may
 * name the private network) and the status message (which may quote them) are for platform
 * administrators only.
 */
export function nodeToProto(row: NodeRecord, view: NodeView) {
  const admin = view === "admin";
  return create(NodeSchema, {
    id: row.id,
    name: row.labels.name ?? `node-${row.id.slice(0, 12)}`,
    region: row.labels.region ?? "",
    hostname: admin ? row.hostname : "",
    address: admin ? row.address : "",
    role: admin ? row.role : "",
    availability: AVAILABILITY_TO[row.availability],
    labels: admin ? row.labels : {},
    capacity: {
      cpuCores: row.cpuCores,
      memoryBytes: BigInt(row.memoryBytes),
      maxDeployments: row.maxDeployments,
    },
    usage: {
      cpuPercent: row.cpuPercent,
      memoryBytes: BigInt(row.memoryUsedBytes),
      diskPercent: row.diskPercent,
    },
    deploymentCount: row.deploymentCount,
    lastHeartbeat: optTs(row.lastHeartbeat),
    statusMessage: admin ? row.statusMessage : "",
  });
}

/** A byte count as int64; samples are sums and averages, so round to whole bytes. */
const int64 = (n: number) => BigInt(Math.max(0, Math.round(n)));

export function metricsSampleToProto(sample: DeploymentSample) {
  return create(MetricsSampleSchema, {
    at: timestampFromDate(sample.at),
    cpuPercent: sample.cpuPercent,
    memoryBytes: int64(sample.memoryBytes),
    memoryLimitBytes: int64(sample.memoryLimitBytes),
    networkRxBytes: int64(sample.networkRxBytes),
    networkTxBytes: int64(sample.networkTxBytes),
    blockReadBytes: int64(sample.blockReadBytes),
    blockWriteBytes: int64(sample.blockWriteBytes),
    pids: Math.round(sample.pids),
  });
}

export function usageHourToProto(usage: UsageHour) {
  return create(UsageHourSchema, {
    hour: timestampFromDate(usage.hour),
    cpuSeconds: usage.cpuSeconds,
    memoryByteSeconds: usage.memoryByteSeconds,
    networkBytes: int64(usage.networkBytes),
    diskIoBytes: int64(usage.diskIoBytes),
  });
}

const BACKUP_TYPE_TO: Record<BackupTypeName, BackupType> = {
  full: BackupType.FULL,
  diff: BackupType.DIFF,
  incr: BackupType.INCR,
};

/**
 * The type a TakeBackup asks for: undefined for UNSPECIFIED (the default), else its name, or the
 * number of a value the contract does not have, for the service to refuse.
 */
export function backupTypeFromProto(type: BackupType): string | undefined {
  if (type === BackupType.UNSPECIFIED) return undefined;
  for (const [name, value] of Object.entries(BACKUP_TYPE_TO)) if (value === type) return name;
  return String(type);
}

export function backupToProto(backup: Backup) {
  return create(BackupSchema, {
    label: backup.label,
    type: BACKUP_TYPE_TO[backup.type],
    startedAt: ts(backup.startedAt),
    stoppedAt: ts(backup.stoppedAt),
    databaseBytes: int64(backup.databaseBytes),
    backupBytes: int64(backup.backupBytes),
    walStart: backup.walStart,
    walStop: backup.walStop,
    prior: backup.prior,
  });
}

export const backupMemberToProto = (member: MemberStatus) => create(BackupMemberSchema, member);
