/** The domain services the handlers call, built once per server from the app context. */
import { AccountService } from "../../accounts/service.js";
import { BackupService, backupAgentsFrom } from "../../backups/index.js";
import { placementGuard } from "../../controller/cluster.js";
import type { AppContext } from "../../core/index.js";
import { BuildPlanService } from "../../deployments/plan-service.js";
import { DeploymentService } from "../../deployments/service.js";
import { GitLoopService } from "../../deployments/webhooks.js";
import type { MetricsService } from "../../metrics/service.js";
import { NodeService } from "../../nodes/service.js";
import type { QuotaService } from "../../organizations/quotas.js";
import { OrganizationService } from "../../organizations/service.js";
import { ProjectService } from "../../projects/service.js";
import type { UrlOf } from "../convert.js";

/** Reads containers' logs from the engine (the runtime), when this process has one. */
export interface LogReader {
  list(filter: { deploymentId: string }): Promise<Array<{ id: string }>>;
  logs(
    id: string,
    options: { tail?: number; since?: Date; follow?: boolean; signal?: AbortSignal },
  ): AsyncIterable<{ stream: "stdout" | "stderr"; line: string; at: Date }>;
}

export interface Domain {
  organizations: OrganizationService;
  projects: ProjectService;
  deployments: DeploymentService;
  /** Webhooks, deploy hooks and previews (src/deployments/webhooks.ts). */
  gitLoop: GitLoopService;
  plans: BuildPlanService;
  accounts: AccountService;
  nodes: NodeService;
  /** The platform database's backups, through the PostgreSQL members' agents. */
  backups: BackupService;
  quotas: QuotaService;
  urlOf: UrlOf;
  logs: LogReader | undefined;
  /** Container metrics (live and history), when this process serves them. */
  metrics: MetricsService | undefined;
}

export function domainServices(
  ctx: AppContext,
  urlOf: UrlOf,
  logs?: LogReader,
  metrics?: MetricsService,
): Domain {
  const deployments = new DeploymentService(ctx, placementGuard(ctx));
  const projects = new ProjectService(ctx);
  return {
    organizations: new OrganizationService(ctx),
    projects,
    deployments,
    gitLoop: new GitLoopService(ctx, deployments, projects),
    plans: new BuildPlanService(ctx),
    accounts: new AccountService(ctx),
    nodes: new NodeService(ctx),
    backups: new BackupService(backupAgentsFrom(ctx.config)),
    quotas: deployments.quotas,
    urlOf,
    logs,
    metrics,
  };
}
