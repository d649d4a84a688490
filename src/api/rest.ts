/**
 * A plain REST alias for the common calls, as the design names them (`POST /api/v1/deployments`
 * with `{ project_id, git_repo, branch, env_vars }`). It calls the same domain services as the
 * RPCs, authenticates the same way, and answers errors as `{ code, message }` with the HTTP
 * status the Connect protocol uses for that code. Field names are snake_case, as in the proto.
 */
import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { z } from "zod";
import type { Authenticator, Principal } from "../auth/index.js";
import { invalidArgument } from "../domain/index.js";
import { DeploymentSchema } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationSchema } from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectSchema } from "../gen/obiente/cloud/project/v1/project_pb.js";
import { deploymentToProto, organizationToProto, projectToProto } from "./convert.js";
import { codeName, httpStatusOf, toConnectError } from "./errors.js";
import type { Domain } from "./handlers/services.js";

const json = <D extends DescMessage>(schema: D, message: MessageShape<D>) =>
  toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });

const createDeploymentBody = z.strictObject({
  project_id: z.string(),
  git_repo: z.string(),
  branch: z.string(),
  name: z.string().optional(),
  env_vars: z.record(z.string(), z.string()).optional(),
  domain: z.string().optional(),
  replicas: z.number().int().optional(),
});
const createProjectBody = z.strictObject({
  organization_id: z.string(),
  name: z.string(),
  description: z.string().optional(),
});
const createOrganizationBody = z.strictObject({ name: z.string(), slug: z.string().optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null) throw invalidArgument("the request needs a JSON body");
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "body";
  if (issue?.code === "unrecognized_keys") {
    throw invalidArgument(
      `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`,
    );
  }
  throw invalidArgument(`${where}: ${issue?.message ?? "invalid"}`);
}

/**
 * Authenticates a request once, however many times it is asked (the rate limiter's key, then the
 * handler): the answer is kept with the request.
 */
export function requestAuthenticator(
  authenticator: Authenticator,
): (req: FastifyRequest) => Promise<Principal> {
  const done = new WeakMap<FastifyRequest, Promise<Principal>>();
  return (req) => {
    let principal = done.get(req);
    if (!principal) {
      principal = authenticator.authenticate(req.headers.authorization);
      done.set(req, principal);
    }
    return principal;
  };
}

export function registerRestRoutes(
  app: FastifyInstance,
  deps: {
    domain: Domain;
    /** See requestAuthenticator. */
    authenticate: (req: FastifyRequest) => Promise<Principal>;
    logger: Logger;
    /** The metrics system's report (/metrics/observability), for any signed-in user. */
    observability?: () => unknown;
    /**
     * The API's own RPC figures in Prometheus' text format (/metrics/rpc), for any signed-in
     * user: procedure names and codes, nothing of a tenant (the whole /metrics holds tenants'
     * ids and is for scrapers only).
     */
    rpcMetrics?: () => Promise<string>;
  },
) {
  const { domain, authenticate: principal, logger } = deps;
  const fail = (reply: FastifyReply, error: unknown) => {
    const e = toConnectError(error, logger);
    return reply
      .status(httpStatusOf(e.code))
      .send({ code: codeName(e.code), message: e.rawMessage });
  };
  const route =
    (handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return await handler(req, reply);
      } catch (error) {
        return fail(reply, error);
      }
    };

  // Malformed JSON bodies: answer in the same shape as every other error.
  app.setErrorHandler(
    (error: { statusCode?: number; code?: string; message: string }, _req, reply) => {
      if (error.statusCode !== undefined && error.statusCode < 500) {
        const message =
          error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || /JSON/.test(error.message)
            ? "the body is not valid JSON"
            : error.message;
        return reply.status(error.statusCode).send({
          code: error.statusCode === 429 ? "resource_exhausted" : "invalid_argument",
          message,
        });
      }
      return fail(reply, error);
    },
  );

  const observability = deps.observability;
  if (observability) {
    app.get(
      "/metrics/observability",
      route(async (req) => {
        await principal(req);
        return observability();
      }),
    );
  }

  const rpcMetrics = deps.rpcMetrics;
  if (rpcMetrics) {
    app.get(
      "/metrics/rpc",
      route(async (req, reply) => {
        await principal(req);
        return reply.type("text/plain; version=0.0.4").send(await rpcMetrics());
      }),
    );
  }

  app.post(
    "/api/v1/deployments",
    route(async (req, reply) => {
      const body = parse(createDeploymentBody, req.body);
      const row = await domain.deployments.create(await principal(req), {
        projectId: body.project_id,
        name: body.name,
        gitRepo: body.git_repo,
        branch: body.branch,
        envVars: body.env_vars,
        domain: body.domain,
        replicas: body.replicas,
      });
      return reply.status(201).send(json(DeploymentSchema, deploymentToProto(row, domain.urlOf)));
    }),
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/deployments/:id",
    route(async (req) => {
      const { id } = req.params as { id: string };
      const row = await domain.deployments.get(await principal(req), id);
      return json(DeploymentSchema, deploymentToProto(row, domain.urlOf));
    }),
  );

  app.get(
    "/api/v1/deployments",
    route(async (req) => {
      const query = req.query as Record<string, string | undefined>;
      const rows = await domain.deployments.list(await principal(req), {
        ...(query.project_id ? { projectId: query.project_id } : {}),
        ...(query.organization_id ? { organizationId: query.organization_id } : {}),
      });
      return {
        deployments: rows.map((r) => json(DeploymentSchema, deploymentToProto(r, domain.urlOf))),
      };
    }),
  );

  app.delete(
    "/api/v1/deployments/:id",
    route(async (req, reply) => {
      const { id } = req.params as { id: string };
      await domain.deployments.delete(await principal(req), id);
      return reply.status(204).send();
    }),
  );

  app.post(
    "/api/v1/projects",
    route(async (req, reply) => {
      const body = parse(createProjectBody, req.body);
      const row = await domain.projects.create(await principal(req), {
        organizationId: body.organization_id,
        name: body.name,
        ...(body.description === undefined ? {} : { description: body.description }),
      });
      return reply.status(201).send(json(ProjectSchema, projectToProto(row)));
    }),
  );

  app.get(
    "/api/v1/projects",
    route(async (req) => {
      const query = req.query as Record<string, string | undefined>;
      const rows = await domain.projects.list(await principal(req), query.organization_id ?? "");
      return { projects: rows.map((r) => json(ProjectSchema, projectToProto(r))) };
    }),
  );

  app.get(
    "/api/v1/projects/:id",
    route(async (req) => {
      const { id } = req.params as { id: string };
      return json(
        ProjectSchema,
        projectToProto(await domain.projects.get(await principal(req), id)),
      );
    }),
  );

  app.post(
    "/api/v1/organizations",
    route(async (req, reply) => {
      const body = parse(createOrganizationBody, req.body);
      const row = await domain.organizations.create(await principal(req), {
        name: body.name,
        ...(body.slug === undefined ? {} : { slug: body.slug }),
      });
      return reply.status(201).send(json(OrganizationSchema, organizationToProto(row)));
    }),
  );

  app.get(
    "/api/v1/organizations",
    route(async (req) => {
      const rows = await domain.organizations.list(await principal(req));
      return { organizations: rows.map((r) => json(OrganizationSchema, organizationToProto(r))) };
    }),
  );
}
