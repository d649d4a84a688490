/** The API's domain services, built once per server from the app context. */
import { AccountService } from "../accounts/index.js";
import type { Domain, LogReader, UrlOf } from "../api/index.js";
import { BackupService, backupAgentsFrom } from "../backups/index.js";
import { placementGuard } from "../controller/index.js";
import type { AppContext } from "../core/index.js";
import { BuildPlanService, DeploymentService, GitLoopService } from "../deployments/index.js";
import type { MetricsService } from "../metrics/index.js";
import { NodeService } from "../nodes/index.js";
import { OrganizationService, QuotaService } from "../organizations/index.js";
import { ProjectService } from "../projects/index.js";
import { placementGuardDeps } from "./controller-deps.js";
import {
  accountServiceDeps,
  buildPlanServiceDeps,
  deploymentServiceDeps,
  gitLoopServiceDeps,
  nodeServiceDeps,
  organizationServiceDeps,
  projectServiceDeps,
  quotaServiceDeps,
} from "./service-deps.js";

export function domainServices(
  ctx: AppContext,
  urlOf: UrlOf,
  logs?: LogReader,
  metrics?: MetricsService,
): Domain {
  const quotas = new QuotaService(quotaServiceDeps(ctx));
  const deployments = new DeploymentService(
    deploymentServiceDeps(ctx, { fits: placementGuard(placementGuardDeps(ctx)), quotas }),
  );
  const projects = new ProjectService(projectServiceDeps(ctx));
  return {
    organizations: new OrganizationService(organizationServiceDeps(ctx)),
    projects,
    deployments,
    gitLoop: new GitLoopService(gitLoopServiceDeps(ctx, { deployments, projects })),
    plans: new BuildPlanService(buildPlanServiceDeps(ctx)),
    accounts: new AccountService(accountServiceDeps(ctx)),
    nodes: new NodeService(nodeServiceDeps(ctx)),
    backups: new BackupService(backupAgentsFrom(ctx.config), ctx.db),
    quotas,
    urlOf,
    logs,
    metrics,
  };
}
