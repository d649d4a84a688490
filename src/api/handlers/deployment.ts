import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { unimplemented } from "../../domain/errors.js";
import type { DeploymentService } from "../../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  buildToProto,
  deploymentToProto,
  domainToProto,
  locationToProto,
  statusEventToProto,
  statusToProto,
  strategyFromProto,
} from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

/** Calls that need the container runtime answer Unimplemented until a runtime is wired in. */
const needsRuntime = (what: string) =>
  unimplemented(`${what} needs the container runtime, which this server does not run yet`);

export function deploymentHandlers({
  deployments,
  urlOf,
}: Domain): ServiceImpl<typeof DeploymentService> {
  const out = (row: Parameters<typeof deploymentToProto>[0]) => ({
    deployment: deploymentToProto(row, urlOf),
  });
  return {
    async createDeployment(req, ctx) {
      const row = await deployments.create(principalOf(ctx), {
        projectId: req.projectId,
        name: req.name,
        gitRepo: req.gitRepo,
        branch: req.branch,
        envVars: req.envVars,
        domain: req.domain,
        resources: req.resources,
        replicas: req.replicas,
        strategy: strategyFromProto(req.strategy),
      });
      return out(row);
    },
    async getDeployment(req, ctx) {
      return out(await deployments.get(principalOf(ctx), req.id));
    },
    async listDeployments(req, ctx) {
      const rows = await deployments.list(principalOf(ctx), {
        projectId: req.projectId,
        organizationId: req.organizationId,
      });
      return { deployments: rows.map((r) => deploymentToProto(r, urlOf)) };
    },
    async updateDeployment(req, ctx) {
      const row = await deployments.update(principalOf(ctx), {
        id: req.id,
        gitRepo: req.gitRepo,
        branch: req.branch,
        resources: req.resources,
        strategy: req.strategy === undefined ? undefined : strategyFromProto(req.strategy),
      });
      return out(row);
    },
    async deleteDeployment(req, ctx) {
      await deployments.delete(principalOf(ctx), req.id);
      return {};
    },
    async startDeployment(req, ctx) {
      return out(await deployments.start(principalOf(ctx), req.id));
    },
    async stopDeployment(req, ctx) {
      return out(await deployments.stop(principalOf(ctx), req.id));
    },
    async restartDeployment(req, ctx) {
      return out(await deployments.restart(principalOf(ctx), req.id));
    },
    async scaleDeployment(req, ctx) {
      return out(await deployments.scale(principalOf(ctx), req.id, req.replicas));
    },
    async redeployDeployment(req, ctx) {
      return out(await deployments.redeploy(principalOf(ctx), req.id));
    },
    async rollbackDeployment(req, ctx) {
      return out(await deployments.rollback(principalOf(ctx), req.id, req.buildId));
    },
    async getDeploymentStatus(req, ctx) {
      const { deployment, locations } = await deployments.status(principalOf(ctx), req.id);
      return {
        status: statusToProto(deployment.status),
        statusMessage: deployment.statusMessage,
        locations: locations.map(locationToProto),
        updatedAt: timestampFromDate(deployment.updatedAt),
      };
    },
    async *streamDeploymentStatus(req, ctx) {
      for await (const event of deployments.watchStatus(principalOf(ctx), req.id, ctx.signal)) {
        yield statusEventToProto(event);
      }
    },
    async listEnvVars(req, ctx) {
      return { envVars: await deployments.listEnvVars(principalOf(ctx), req.deploymentId) };
    },
    async setEnvVars(req, ctx) {
      return {
        envVars: await deployments.setEnvVars(principalOf(ctx), req.deploymentId, req.envVars),
      };
    },
    async deleteEnvVar(req, ctx) {
      await deployments.deleteEnvVar(principalOf(ctx), req.deploymentId, req.key);
      return {};
    },
    async listDomains(req, ctx) {
      const rows = await deployments.listDomains(principalOf(ctx), req.deploymentId);
      return { domains: rows.map(domainToProto) };
    },
    async addDomain(req, ctx) {
      return {
        domain: domainToProto(
          await deployments.addDomain(principalOf(ctx), req.deploymentId, req.domain),
        ),
      };
    },
    async removeDomain(req, ctx) {
      await deployments.removeDomain(principalOf(ctx), req.deploymentId, req.domain);
      return {};
    },
    async listBuilds(req, ctx) {
      const rows = await deployments.listBuilds(principalOf(ctx), req.deploymentId);
      return { builds: rows.map(buildToProto) };
    },
    // biome-ignore lint/correctness/useYield: answers Unimplemented until the builder lands
    async *streamBuildLogs(_req, ctx) {
      principalOf(ctx);
      throw needsRuntime("streaming build logs");
    },
    async getDeploymentLogs(req, ctx) {
      await deployments.get(principalOf(ctx), req.deploymentId);
      if (req.since) timestampDate(req.since);
      throw needsRuntime("reading logs");
    },
    // biome-ignore lint/correctness/useYield: answers Unimplemented until the runtime lands
    async *streamDeploymentLogs(req, ctx) {
      await deployments.get(principalOf(ctx), req.deploymentId);
      throw needsRuntime("streaming logs");
    },
    async explainPlacement(req, ctx) {
      await deployments.get(principalOf(ctx), req.deploymentId);
      throw needsRuntime("explaining placement");
    },
    async getDeploymentMetrics(req, ctx) {
      await deployments.get(principalOf(ctx), req.deploymentId);
      throw needsRuntime("metrics");
    },
    // biome-ignore lint/correctness/useYield: answers Unimplemented until metrics land
    async *streamDeploymentMetrics(req, ctx) {
      await deployments.get(principalOf(ctx), req.deploymentId);
      throw needsRuntime("metrics");
    },
  };
}
