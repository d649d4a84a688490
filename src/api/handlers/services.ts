/** The domain services the handlers call, built once per server from the app context. */
import { AccountService } from "../../accounts/index.js";
import { BackupService, backupAgentsFrom } from "../../backups/index.js";
import { placementGuard } from "../../controller/index.js";
import type { AppContext } from "../../core/index.js";
import { BuildPlanService, DeploymentService, GitLoopService } from "../../deployments/index.js";
import type { MetricsService } from "../../metrics/index.js";
import { NodeService } from "../../nodes/index.js";
import { OrganizationService, type QuotaService } from "../../organizations/index.js";
import { ProjectService } from "../../projects/index.js";
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
    backups: new BackupService(backupAgentsFrom(ctx.config), ctx.db),
    quotas: deployments.quotas,
    urlOf,
    logs,
    metrics,
  };
}
