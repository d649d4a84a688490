/**
 * The git loop's two unauthenticated routes: forge webhooks (`POST /api/v1/webhooks/<forge>/
 * <project-id>`, signed with the project's secret) and deploy hooks (`POST /api/v1/hooks/<token>`).
 * The body is kept as the bytes received: the signature is over them. Bodies over
 * WEBHOOK_MAX_BODY_BYTES are refused (413) before they are read whole.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Logger } from "pino";
import type { GitLoopService } from "../deployments/index.js";
import { codeName, httpStatusOf, toConnectError } from "./errors.js";

export async function registerWebhookRoutes(
  app: FastifyInstance,
  deps: { gitLoop: GitLoopService; maxBodyBytes: number; logger: Logger },
): Promise<void> {
  const { gitLoop, maxBodyBytes, logger } = deps;
  const fail = (reply: FastifyReply, error: unknown) => {
    const e = toConnectError(error, logger);
    return reply
      .status(httpStatusOf(e.code))
      .send({ code: codeName(e.code), message: e.rawMessage });
  };
  await app.register(async (scope) => {
    // Whatever the forge says the type is (JSON, or GitHub's form encoding), the raw bytes.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: maxBodyBytes },
      (_req, body, done) => done(null, body),
    );
    scope.setErrorHandler((error: { statusCode?: number; message: string }, _req, reply) => {
      if (error.statusCode === 413) {
        return reply.status(413).send({
          code: "resource_exhausted",
          message: `the delivery is larger than ${maxBodyBytes} bytes (WEBHOOK_MAX_BODY_BYTES)`,
        });
      }
      return fail(reply, error);
    });

    scope.post<{ Params: { forge: string; projectId: string } }>(
      "/api/v1/webhooks/:forge/:projectId",
      { bodyLimit: maxBodyBytes },
      async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const outcome = await gitLoop.receive(
          req.params.forge,
          req.params.projectId,
          req.headers,
          body,
        );
        return reply.status(outcome.status).send(outcome);
      },
    );

    scope.post<{ Params: { token: string } }>(
      "/api/v1/hooks/:token",
      { bodyLimit: maxBodyBytes },
      async (req, reply) => {
        try {
          const deployment = await gitLoop.runDeployHook(req.params.token);
          return reply.status(202).send({
            deployment_id: deployment.id,
            name: deployment.name,
            status: deployment.status,
            message: deployment.statusMessage,
          });
        } catch (error) {
          return fail(reply, error);
        }
      },
    );
  });
}
