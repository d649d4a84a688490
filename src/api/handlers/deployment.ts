import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { unavailable } from "../../domain/index.js";
import type { DeploymentService } from "../../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import type { MetricsService } from "../../metrics/index.js";
import type { StreamLease } from "../../organizations/index.js";
import {
  buildToProto,
  deployHookToProto,
  deploymentToProto,
  domainToProto,
  locationToProto,
  metricsSampleToProto,
  statusEventToProto,
  statusToProto,
  strategyFromProto,
  strategyToProto,
  usageHourToProto,
} from "../convert.js";
import { principalOf } from "../interceptors.js";
import { planBuildHandler } from "./plan-build.js";
import type { Domain, LogReader } from "./services.js";

type LogLineOut = { containerId: string; stream: "stdout" | "stderr"; line: string; at: Date };

const logLineToProto = (l: LogLineOut) => ({
  containerId: l.containerId,
  stream: l.stream,
  line: l.line,
  at: timestampFromDate(l.at),
});

const scopeOf = (preview: boolean) => (preview ? "preview" : "deployment");

const credentialFromProto = (c: { username: string; password: string } | undefined) =>
  c === undefined ? undefined : { username: c.username, password: c.password };

function needMetrics(metrics: MetricsService | undefined): MetricsService {
  if (!metrics) throw unavailable("this API process does not serve container metrics");
  return metrics;
}

function needLogs(logs: LogReader | undefined): LogReader {
  if (!logs) throw unavailable("this API process has no container engine to read logs from");
  return logs;
}

async function* tagged(containerId: string, lines: AsyncIterable<Omit<LogLineOut, "containerId">>) {
  for await (const l of lines) yield { containerId, ...l };
}

/** A stream that holds its place in the organization's concurrent_streams quota while it lasts. */
async function* leased<T>(lease: StreamLease, source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } finally {
    await lease.close();
  }
}

/** Interleaves several async streams as their items arrive. */
async function* merge<T>(sources: AsyncIterable<T>[]): AsyncGenerator<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map(iterators.map((it, i) => [i, it.next().then((r) => ({ i, r }))]));
  while (pending.size > 0) {
    const { i, r } = await Promise.race(pending.values());
    if (r.done) {
      pending.delete(i);
      continue;
    }
    pending.set(
      i,
      (iterators[i] as AsyncIterator<T>).next().then((next) => ({ i, r: next })),
    );
    yield r.value;
  }
}

export function deploymentHandlers(domain: Domain): ServiceImpl<typeof DeploymentService> {
  const { deployments, gitLoop, nodes, urlOf, logs, metrics, quotas } = domain;
  const out = (row: Parameters<typeof deploymentToProto>[0]) => ({
    deployment: deploymentToProto(row, urlOf),
  });
  return {
    async createDeployment(req, ctx) {
      const { deployment, redeployed } = await deployments.createOrRedeploy(principalOf(ctx), {
        projectId: req.projectId,
        name: req.name,
        gitRepo: req.gitRepo,
        branch: req.branch,
        envVars: req.envVars,
        domain: req.domain,
        resources: req.resources,
        replicas: req.replicas,
        strategy: strategyFromProto(req.strategy),
        gitCredential: credentialFromProto(req.gitCredential),
        rootDirectory: req.rootDirectory,
        dockerfilePath: req.dockerfilePath,
        redeployExisting: req.redeployExisting,
      });
      return { ...out(deployment), redeployed };
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
        gitCredential: credentialFromProto(req.gitCredential),
        rootDirectory: req.rootDirectory,
        dockerfilePath: req.dockerfilePath,
        previewsEnabled: req.previewsEnabled,
        previewBranches: req.previewBranches,
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
      return {
        envVars: await deployments.listEnvVars(
          principalOf(ctx),
          req.deploymentId,
          scopeOf(req.preview),
        ),
      };
    },
    async setEnvVars(req, ctx) {
      return {
        envVars: await deployments.setEnvVars(
          principalOf(ctx),
          req.deploymentId,
          req.envVars,
          scopeOf(req.preview),
        ),
      };
    },
    async deleteEnvVar(req, ctx) {
      await deployments.deleteEnvVar(
        principalOf(ctx),
        req.deploymentId,
        req.key,
        scopeOf(req.preview),
      );
      return {};
    },
    async listPreviews(req, ctx) {
      const rows = await deployments.previews(principalOf(ctx), req.deploymentId);
      return { previews: rows.map((r) => deploymentToProto(r, urlOf)) };
    },
    async getDeployHook(req, ctx) {
      return {
        deployHook: deployHookToProto(await gitLoop.deployHook(principalOf(ctx), req.deploymentId)),
      };
    },
    async rotateDeployHook(req, ctx) {
      const hook = await gitLoop.rotateDeployHook(principalOf(ctx), req.deploymentId);
      return {
        deployHook: deployHookToProto({ exists: true, ...hook }),
        path: hook.path,
        url: hook.url,
      };
    },
    async deleteDeployHook(req, ctx) {
      await gitLoop.deleteDeployHook(principalOf(ctx), req.deploymentId);
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
    async verifyDomain(req, ctx) {
      return {
        domain: domainToProto(
          await deployments.verifyDomain(principalOf(ctx), req.deploymentId, req.domain),
        ),
      };
    },
    async listBuilds(req, ctx) {
      const rows = await deployments.listBuilds(principalOf(ctx), req.deploymentId);
      return { builds: rows.map(buildToProto) };
    },
    async cancelBuild(req, ctx) {
      const { build, deployment } = await deployments.cancelBuild(
        principalOf(ctx),
        req.deploymentId,
      );
      return { ...(build ? { build: buildToProto(build) } : {}), ...out(deployment) };
    },
    async *streamBuildLogs(req, ctx) {
      for await (const { line, at } of deployments.watchBuildLogs(
        principalOf(ctx),
        req.buildId,
        ctx.signal,
      )) {
        yield { line, at: timestampFromDate(at) };
      }
    },
    async getDeploymentLogs(req, ctx) {
      const d = await deployments.get(principalOf(ctx), req.deploymentId);
      const tail = await quotas.logTail(d.organizationId, req.tail);
      const reader = needLogs(logs);
      const since = req.since ? timestampDate(req.since) : undefined;
      const all: LogLineOut[] = [];
      for (const c of await reader.list({ deploymentId: d.id })) {
        for await (const l of reader.logs(c.id, {
          tail,
          ...(since ? { since } : {}),
          signal: ctx.signal,
        })) {
          all.push({ containerId: c.id, ...l });
        }
      }
      all.sort((a, b) => a.at.getTime() - b.at.getTime());
      return { lines: all.slice(-tail).map(logLineToProto) };
    },
    async *streamDeploymentLogs(req, ctx) {
      const d = await deployments.get(principalOf(ctx), req.deploymentId);
      const tail = await quotas.logTail(d.organizationId, req.tail);
      const reader = needLogs(logs);
      const since = req.since ? timestampDate(req.since) : undefined;
      const lease = await quotas.openStream(d.organizationId, "logs");
      const lines = async function* () {
        const containers = await reader.list({ deploymentId: d.id });
        const streams = containers.map((c) =>
          tagged(
            c.id,
            reader.logs(c.id, {
              tail,
              follow: true,
              ...(since ? { since } : {}),
              signal: ctx.signal,
            }),
          ),
        );
        yield* merge(streams);
      };
      for await (const line of leased(lease, lines())) yield { line: logLineToProto(line) };
    },
    planBuild: planBuildHandler(domain),
    async explainPlacement(req, ctx) {
      const deployment = await deployments.get(principalOf(ctx), req.deploymentId);
      const placement = await nodes.placementOf(deployment.id);
      // Not placed by the scheduler (one engine, or not yet): no decision, no verdicts.
      if (!placement) return { strategy: strategyToProto(deployment.strategy), nodes: [] };
      const { decidedAt, strategy, explanation } = placement;
      return {
        strategy: strategyToProto(strategy),
        decidedAt: timestampFromDate(decidedAt),
        nodes: explanation.verdicts.map((verdict) => ({
          nodeId: verdict.nodeId,
          feasible: verdict.feasible,
          reason: verdict.reason ? `${verdict.constraint ?? "constraint"}: ${verdict.reason}` : "",
          // Stored as JSON, where a score that is not a number comes back as null.
          scores: Object.fromEntries(
            Object.entries(verdict.scores).filter(([, score]) => typeof score === "number"),
          ),
          selected: verdict.selected,
        })),
      };
    },
    async getDeploymentMetrics(req, ctx) {
      const deployment = await deployments.get(principalOf(ctx), req.deploymentId);
      const { live, minutes, usage } = await needMetrics(metrics).get(deployment.id, {
        ...(req.since ? { since: timestampDate(req.since) } : {}),
        ...(req.until ? { until: timestampDate(req.until) } : {}),
      });
      return {
        live: live.map(metricsSampleToProto),
        minutes: minutes.map(metricsSampleToProto),
        usage: usage.map(usageHourToProto),
      };
    },
    async *streamDeploymentMetrics(req, ctx) {
      const deployment = await deployments.get(principalOf(ctx), req.deploymentId);
      const source = needMetrics(metrics);
      const lease = await quotas.openStream(deployment.organizationId, "metrics");
      const samples = leased(lease, source.watch(deployment.id, ctx.signal));
      for await (const sample of samples) yield { sample: metricsSampleToProto(sample) };
    },
  };
}
