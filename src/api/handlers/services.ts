/** The domain services the handlers call, built once per server by the composition root. */
import type { AccountService } from "../../accounts/index.js";
import type { BackupService } from "../../backups/index.js";
import type {
  BuildPlanService,
  DeploymentService,
  GitLoopService,
} from "../../deployments/index.js";
import type { MetricsService } from "../../metrics/index.js";
import type { NodeService } from "../../nodes/index.js";
import type { OrganizationService, QuotaService } from "../../organizations/index.js";
import type { ProjectService } from "../../projects/index.js";
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
