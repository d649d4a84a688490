import type { ServiceImpl } from "@connectrpc/connect";
import type { ProjectService } from "../../gen/obiente/cloud/project/v1/project_pb.js";
import { deployKeyToProto, projectToProto, webhookToProto } from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function projectHandlers(domain: Domain): ServiceImpl<typeof ProjectService> {
  const { projects } = domain;
  return {
    async createProject(req, ctx) {
      const project = await projects.create(principalOf(ctx), {
        organizationId: req.organizationId,
        name: req.name,
        description: req.description,
      });
      return { project: projectToProto(project) };
    },
    async getProject(req, ctx) {
      return { project: projectToProto(await projects.get(principalOf(ctx), req.id)) };
    },
    async listProjects(req, ctx) {
      const rows = await projects.list(principalOf(ctx), req.organizationId);
      return { projects: rows.map(projectToProto) };
    },
    async updateProject(req, ctx) {
      const project = await projects.update(principalOf(ctx), {
        id: req.id,
        name: req.name,
        description: req.description,
      });
      return { project: projectToProto(project) };
    },
    async deleteProject(req, ctx) {
      await projects.delete(principalOf(ctx), req.id);
      return {};
    },
    async getDeployKey(req, ctx) {
      const key = await projects.deployKey(principalOf(ctx), req.projectId);
      return { deployKey: deployKeyToProto(key) };
    },
    async rotateDeployKey(req, ctx) {
      const key = await projects.rotateDeployKey(principalOf(ctx), req.projectId);
      return { deployKey: deployKeyToProto(key) };
    },
    async getWebhook(req, ctx) {
      const hook = await domain.gitLoop.webhook(principalOf(ctx), req.projectId);
      return { webhook: webhookToProto(req.projectId, hook) };
    },
    async rotateWebhookSecret(req, ctx) {
      const hook = await domain.gitLoop.rotateWebhookSecret(principalOf(ctx), req.projectId);
      return { webhook: webhookToProto(req.projectId, hook), secret: hook.secret };
    },
  };
}
