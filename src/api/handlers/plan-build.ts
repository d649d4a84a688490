/** The PlanBuild RPC: the plan of a repository's branch, as the builder would follow it. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { DeploymentService } from "../../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function planBuildHandler({
  plans,
}: Domain): ServiceImpl<typeof DeploymentService>["planBuild"] {
  return async (req, ctx) => {
    const { plan, commitSha } = await plans.plan(
      principalOf(ctx),
      {
        deploymentId: req.deploymentId,
        projectId: req.projectId,
        gitRepo: req.gitRepo,
        branch: req.branch,
        rootDirectory: req.rootDirectory,
        dockerfilePath: req.dockerfilePath,
        gitCredential:
          req.gitCredential === undefined
            ? undefined
            : { username: req.gitCredential.username, password: req.gitCredential.password },
      },
      // The client going away stops the clone.
      ctx.signal,
    );
    return {
      kind: plan.kind,
      stack: plan.stack,
      reasons: plan.reasons.map((r) => ({ file: r.file, detail: r.detail })),
      dockerfile: plan.dockerfile,
      dockerfilePath: plan.dockerfilePath,
      generated: plan.generated,
      files: plan.files.map((f) => ({ path: f.path, contents: f.contents })),
      port: plan.port,
      command: plan.command,
      commitSha,
    };
  };
}
