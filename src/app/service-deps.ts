/**
 * Each domain service's dependencies, taken from the AppContext: the services name what they
 * use (their `…Deps` interface beside them), and this chooses which configuration variable
 * feeds which of their settings.
 */
import { resolve } from "node:path";
import type { AccountServiceDeps } from "../accounts/index.js";
import type { AppContext } from "../core/index.js";
import {
  type BuildPlanServiceDeps,
  type DeploymentService,
  type DeploymentServiceDeps,
  detectOptionsOf,
  type GitLoopServiceDeps,
  type PlacementFit,
} from "../deployments/index.js";
import { reservedNames } from "../domains/index.js";
import type { NodeServiceDeps } from "../nodes/index.js";
import {
  type OrganizationServiceDeps,
  QuotaService,
  type QuotaServiceDeps,
} from "../organizations/index.js";
import type { ProjectService, ProjectServiceDeps } from "../projects/index.js";

export function quotaServiceDeps(ctx: AppContext): QuotaServiceDeps {
  const { config } = ctx;
  return {
    db: ctx.db,
    now: ctx.now,
    logger: ctx.logger,
    defaults: {
      deployments: config.QUOTA_DEPLOYMENTS,
      replicas: config.QUOTA_REPLICAS,
      cpu_millicores: config.QUOTA_CPU_MILLICORES,
      memory_mb: config.QUOTA_MEMORY_MB,
      domains: config.QUOTA_DOMAINS,
      concurrent_builds: config.QUOTA_CONCURRENT_BUILDS,
      concurrent_streams: config.QUOTA_CONCURRENT_STREAMS,
      log_tail_lines: config.QUOTA_LOG_TAIL_LINES,
    },
    resourceDefaults: {
      cpuMillicores: config.DEFAULT_CPU_MILLICORES,
      memoryMb: config.DEFAULT_MEMORY_MB,
    },
  };
}

/** With `quotas` when the caller shares one QuotaService; a new one otherwise. */
export function deploymentServiceDeps(
  ctx: AppContext,
  options: { fits?: PlacementFit; quotas?: QuotaService } = {},
): DeploymentServiceDeps {
  const { config } = ctx;
  return {
    db: ctx.db,
    bus: ctx.services.bus,
    queue: ctx.services.queue,
    cache: ctx.services.cache,
    secrets: ctx.secrets,
    now: ctx.now,
    quotas: options.quotas ?? new QuotaService(quotaServiceDeps(ctx)),
    ...(options.fits ? { fits: options.fits } : {}),
    limits: { maxReplicas: config.MAX_REPLICAS },
    previews: {
      cpuMillicores: config.PREVIEW_CPU_MILLICORES,
      memoryMb: config.PREVIEW_MEMORY_MB,
      ttlHours: config.PREVIEW_TTL_HOURS,
    },
    platformDomain: config.PLATFORM_DOMAIN,
    gitAllowFile: config.GIT_ALLOW_FILE,
    reserved: reservedNames(config),
    dns: {
      ...(config.DNS_RESOLVERS ? { servers: config.DNS_RESOLVERS } : {}),
      timeoutMs: config.DNS_TIMEOUT_MS,
    },
  };
}

export function organizationServiceDeps(ctx: AppContext): OrganizationServiceDeps {
  return { db: ctx.db, cache: ctx.services.cache, now: ctx.now };
}

export function projectServiceDeps(ctx: AppContext): ProjectServiceDeps {
  return { db: ctx.db, cache: ctx.services.cache, secrets: ctx.secrets, now: ctx.now };
}

export function nodeServiceDeps(ctx: AppContext): NodeServiceDeps {
  return { db: ctx.db, queue: ctx.services.queue, logger: ctx.logger, now: ctx.now };
}

export function accountServiceDeps(ctx: AppContext): AccountServiceDeps {
  return { db: ctx.db, now: ctx.now };
}

export function buildPlanServiceDeps(ctx: AppContext): BuildPlanServiceDeps {
  const { config } = ctx;
  return {
    db: ctx.db,
    secrets: ctx.secrets,
    gitAllowFile: config.GIT_ALLOW_FILE,
    dataDir: resolve(config.DATA_DIR),
    cloneLimits: {
      timeoutMs: config.BUILD_TIMEOUT_SECONDS * 1000,
      maxRepoBytes: Math.min(config.BUILD_MAX_REPO_MB, config.BUILD_MAX_DISK_MB) * 1024 * 1024,
      maxRepoFiles: config.BUILD_MAX_FILES,
    },
    images: detectOptionsOf(config),
  };
}

export function gitLoopServiceDeps(
  ctx: AppContext,
  services: { deployments: DeploymentService; projects: ProjectService },
): GitLoopServiceDeps {
  return {
    db: ctx.db,
    secrets: ctx.secrets,
    logger: ctx.logger,
    now: ctx.now,
    ...services,
    publicUrl: ctx.config.PUBLIC_URL,
  };
}
