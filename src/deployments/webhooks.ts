/**
 * Push to deploy. A forge (GitHub, GitLab, Gitea/Forgejo, Bitbucket) sends its push and pull
 * request events to `POST /api/v1/webhooks/<forge>/<project-id>`, signed with the project's
 * webhook secret; a deploy hook is a secret URL (`POST /api/v1/hooks/<token>`) that redeploys
 * one deployment. Neither carries a signed-in user: the secret is the credential, so every
 * check (signature, then repository, then branch) comes before anything changes, and a delivery
 * sent again is processed once (its delivery id).
 *
 * What a delivery does, per deployment of the project that builds the pushed repository:
 * - a push to its branch builds and deploys that commit (an older build under way is cancelled);
 * - a push to another branch, or a pull request opened or updated, makes or updates a preview
 *   when the deployment has previews on for that branch (pull requests from forks never do: their
 *   code would run with the deployment's preview variables);
 * - a deleted branch or a closed pull request removes its preview.
 */
import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull, lt, ne } from "drizzle-orm";
import type { Logger } from "pino";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import type { SecretBox } from "../crypto/index.js";
import { DomainError, failedPrecondition, notFound } from "../domain/index.js";
import {
  branchMatches,
  type ForgeEvent,
  type ForgeName,
  type Headers,
  isForgeName,
  parseDelivery,
  sameRepository,
  verifyDelivery,
} from "../forges/index.js";
import type { ProjectService } from "../projects/index.js";
import {
  type Db,
  deployHooks,
  deployments,
  projectWebhooks,
  webhookDeliveries,
} from "../store/index.js";
import type { DeploymentService } from "./service.js";

export const FORGES: readonly ForgeName[] = ["github", "gitlab", "gitea", "bitbucket"];

/** What one delivery did to one deployment. */
export interface DeliveryResult {
  deploymentId: string;
  deployment: string;
  /** deploy, preview, remove-preview, skip or error. */
  action: "deploy" | "preview" | "remove-preview" | "skip" | "error";
  message: string;
  /** The preview's (or deployment's) id, when one was made or deployed. */
  targetId?: string;
}

/** The answer to a forge: an HTTP status and what happened, for the forge's delivery log. */
export interface DeliveryOutcome {
  status: 200 | 202 | 400 | 401 | 404;
  message: string;
  results: DeliveryResult[];
}

/** How long delivery ids are remembered; forges redeliver within hours, by hand within days. */
const DELIVERY_MEMORY_MS = 7 * 24 * 3_600_000;

/** Binds a sealed webhook secret to its project. */
export const webhookAad = (projectId: string) => `webhook:${projectId}`;
const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");
const DEPLOY_HOOK_PREFIX = "obh_";
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * What GitLoopService uses: the database, the secret box that seals webhook secrets, a logger,
 * the clock, the services a delivery acts through, and the API's public URL.
 */
export interface GitLoopServiceDeps {
  readonly db: Db;
  readonly secrets: SecretBox;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Deploys pushed commits, makes and removes previews. */
  readonly deployments: DeploymentService;
  /** Loads a project with the caller's role checked. */
  readonly projects: ProjectService;
  /** PUBLIC_URL, before the webhook and hook paths shown; empty or absent: paths only. */
  readonly publicUrl?: string | undefined;
}

export class GitLoopService {
  constructor(private readonly deps: GitLoopServiceDeps) {}

  /** The project's webhook: whether a secret is set, since when, and the path per forge. */
  async webhook(principal: Principal, projectId: string) {
    const project = await this.deps.projects.load(principal, projectId, "read");
    const [row] = await this.deps.db
      .select({ createdAt: projectWebhooks.createdAt })
      .from(projectWebhooks)
      .where(eq(projectWebhooks.projectId, project.id));
    return { ...this.urls(project.id), createdAt: row?.createdAt };
  }

  /**
   * Makes the project's webhook secret, or replaces it: deliveries signed with the old one are
   * refused from now on. The secret is returned here only; it is kept sealed.
   */
  async rotateWebhookSecret(principal: Principal, projectId: string) {
    // Whoever holds the secret deploys the project's code: owners and admins only.
    const project = await this.deps.projects.load(principal, projectId, "manage");
    const secret = randomBytes(32).toString("base64url");
    const secretEncrypted = this.deps.secrets.encrypt(secret, webhookAad(project.id));
    const createdAt = this.deps.now();
    await this.deps.db.transaction(async (tx) => {
      await tx
        .insert(projectWebhooks)
        .values({ projectId: project.id, secretEncrypted, createdAt })
        .onConflictDoUpdate({
          target: projectWebhooks.projectId,
          set: { secretEncrypted, createdAt },
        });
      await recordAudit(tx, {
        principal,
        organizationId: project.organizationId,
        action: "webhook.rotate",
        resourceType: "project",
        resourceId: project.id,
      });
    });
    return { ...this.urls(project.id), createdAt, secret };
  }

  /** A deployment's deploy hook, without its token (shown once, when made). */
  async deployHook(principal: Principal, deploymentId: string) {
    const deployment = await this.deps.deployments.load(principal, deploymentId, "read");
    const [row] = await this.deps.db
      .select()
      .from(deployHooks)
      .where(eq(deployHooks.deploymentId, deployment.id));
    return row
      ? { exists: true, prefix: row.prefix, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt }
      : { exists: false };
  }

  /** Makes the deployment's deploy hook, or replaces it (the old URL stops working). */
  async rotateDeployHook(principal: Principal, deploymentId: string) {
    const deployment = await this.deps.deployments.load(principal, deploymentId, "write");
    if (deployment.parentId !== null) {
      throw failedPrecondition(
        "a preview is deployed by pushes to its branch: it has no deploy hook",
      );
    }
    const token = `${DEPLOY_HOOK_PREFIX}${randomBytes(32).toString("base64url")}`;
    const prefix = token.slice(0, 10);
    const createdAt = this.deps.now();
    await this.deps.db.transaction(async (tx) => {
      const values = { tokenHash: hashToken(token), prefix, createdAt, lastUsedAt: null };
      await tx
        .insert(deployHooks)
        .values({ deploymentId: deployment.id, ...values })
        .onConflictDoUpdate({ target: deployHooks.deploymentId, set: values });
      await recordAudit(tx, {
        principal,
        organizationId: deployment.organizationId,
        action: "deploy_hook.rotate",
        resourceType: "deployment",
        resourceId: deployment.id,
        details: { prefix },
      });
    });
    return {
      path: `/api/v1/hooks/${token}`,
      url: this.absolute(`/api/v1/hooks/${token}`),
      prefix,
      createdAt,
    };
  }

  async deleteDeployHook(principal: Principal, deploymentId: string): Promise<void> {
    const deployment = await this.deps.deployments.load(principal, deploymentId, "write");
    await this.deps.db.transaction(async (tx) => {
      const removed = await tx
        .delete(deployHooks)
        .where(eq(deployHooks.deploymentId, deployment.id))
        .returning({ prefix: deployHooks.prefix });
      if (removed.length === 0) throw notFound("deploy hook");
      await recordAudit(tx, {
        principal,
        organizationId: deployment.organizationId,
        action: "deploy_hook.delete",
        resourceType: "deployment",
        resourceId: deployment.id,
      });
    });
  }

  /** A POST to a deploy hook: redeploys the branch's head. Unknown tokens are NotFound. */
  async runDeployHook(token: string) {
    if (!token.startsWith(DEPLOY_HOOK_PREFIX) || token.length > 200) throw notFound("deploy hook");
    const [hook] = await this.deps.db
      .select()
      .from(deployHooks)
      .where(eq(deployHooks.tokenHash, hashToken(token)));
    if (!hook) throw notFound("deploy hook");
    const [current] = await this.deps.db
      .select()
      .from(deployments)
      .where(and(eq(deployments.id, hook.deploymentId), ne(deployments.desiredState, "deleted")));
    if (!current) throw notFound("deploy hook");
    await this.deps.db
      .update(deployHooks)
      .set({ lastUsedAt: this.deps.now() })
      .where(eq(deployHooks.deploymentId, hook.deploymentId));
    return this.deps.deployments.deployCommit(current, {
      commit: "",
      trigger: "hook",
      reason: `deploy hook ${hook.prefix}… called`,
    });
  }

  /**
   * One delivery from a forge. Nothing changes unless the signature holds; a delivery id seen
   * before is answered without acting again.
   */
  async receive(
    forgeName: string,
    projectId: string,
    headers: Headers,
    body: Buffer,
  ): Promise<DeliveryOutcome> {
    const answer = (status: DeliveryOutcome["status"], message: string): DeliveryOutcome => ({
      status,
      message,
      results: [],
    });
    if (!isForgeName(forgeName)) {
      return answer(404, `unknown forge "${forgeName.slice(0, 40)}": one of ${FORGES.join(", ")}`);
    }
    const forge = forgeName;
    if (!/^[0-9a-f-]{36}$/i.test(projectId)) return answer(404, "no such project");
    const [hook] = await this.deps.db
      .select()
      .from(projectWebhooks)
      .where(eq(projectWebhooks.projectId, projectId.toLowerCase()));
    if (!hook) return answer(404, "this project has no webhook secret: make one first");
    const secret = this.deps.secrets.decrypt(hook.secretEncrypted, webhookAad(hook.projectId));
    if (!verifyDelivery(forge, headers, body, secret)) {
      return answer(401, `the delivery's signature does not match this project's ${forge} secret`);
    }

    let event: ForgeEvent;
    try {
      event = parseDelivery(forge, headers, body);
    } catch (error) {
      if (error instanceof DomainError) return answer(400, error.message);
      throw error;
    }
    const now = this.deps.now();
    const seen = await this.deps.db
      .insert(webhookDeliveries)
      .values({
        projectId: hook.projectId,
        forge,
        deliveryId: event.deliveryId.slice(0, 200),
        receivedAt: now,
      })
      .onConflictDoNothing()
      .returning({ id: webhookDeliveries.deliveryId });
    if (seen.length === 0) {
      return answer(200, `delivery ${event.deliveryId} was processed already`);
    }
    await this.deps.db
      .delete(webhookDeliveries)
      .where(lt(webhookDeliveries.receivedAt, new Date(now.getTime() - DELIVERY_MEMORY_MS)));

    const outcome = await this.act(hook.projectId, event);
    await this.deps.db
      .update(webhookDeliveries)
      .set({ outcome: outcome.message.slice(0, 500) })
      .where(
        and(
          eq(webhookDeliveries.projectId, hook.projectId),
          eq(webhookDeliveries.forge, forge),
          eq(webhookDeliveries.deliveryId, event.deliveryId.slice(0, 200)),
        ),
      );
    this.deps.logger.info(
      { projectId: hook.projectId, forge, delivery: event.deliveryId, status: outcome.status },
      `webhook: ${outcome.message}`,
    );
    return outcome;
  }

  private async act(projectId: string, event: ForgeEvent): Promise<DeliveryOutcome> {
    if (event.kind === "ping") return { status: 200, message: "pong", results: [] };
    if (event.kind === "ignored") return { status: 202, message: event.reason, results: [] };
    const candidates = await this.deps.db
      .select()
      .from(deployments)
      .where(
        and(
          eq(deployments.projectId, projectId),
          isNull(deployments.parentId),
          ne(deployments.desiredState, "deleted"),
        ),
      );
    const urls = event.repository.urls;
    const tracking = candidates.filter((d) => urls.some((url) => sameRepository(d.gitRepo, url)));
    if (tracking.length === 0) {
      return {
        status: 404,
        message: `no deployment of this project builds ${event.repository.fullName || urls[0] || "this repository"}`,
        results: [],
      };
    }
    const results: DeliveryResult[] = [];
    for (const deployment of tracking) {
      results.push(
        await this.actOn(deployment, event).catch((error: unknown) => {
          if (!(error instanceof DomainError)) {
            this.deps.logger.error(
              { err: error, deploymentId: deployment.id },
              "webhook: acting on a delivery failed",
            );
          }
          return failure(deployment, error);
        }),
      );
    }
    const message = results.map((r) => `${r.deployment}: ${r.message}`).join("; ");
    return { status: 202, message, results };
  }

  private async actOn(
    deployment: typeof deployments.$inferSelect,
    event: Extract<ForgeEvent, { kind: "push" | "pull_request" }>,
  ): Promise<DeliveryResult> {
    const about = { deploymentId: deployment.id, deployment: deployment.name };
    const skip = (message: string): DeliveryResult => ({ ...about, action: "skip", message });
    const preview = await this.previewOf(deployment, event.branch);
    const previewed =
      deployment.previewsEnabled && branchMatches(deployment.previewBranches, event.branch);

    if (event.kind === "push") {
      const short = event.after.slice(0, 7);
      if (event.deleted) {
        if (!preview) return skip(`branch ${event.branch} was deleted; it had no preview`);
        await this.deps.deployments.removePreview(preview);
        return {
          ...about,
          action: "remove-preview",
          message: `branch ${event.branch} was deleted: its preview is removed`,
          targetId: preview.id,
        };
      }
      if (event.branch === deployment.branch) {
        const row = await this.deps.deployments.deployCommit(deployment, {
          commit: event.after,
          trigger: "push",
          reason: `push of ${short} to ${event.branch}`,
        });
        return { ...about, action: "deploy", message: `deploying ${short}`, targetId: row.id };
      }
      if (!previewed && !preview) {
        return skip(
          deployment.previewsEnabled
            ? `branch ${event.branch} is not tracked (${deployment.branch}) and matches no preview branch (${deployment.previewBranches})`
            : `branch ${event.branch} is not tracked (${deployment.branch}), and previews are off`,
        );
      }
      return this.deployPreview(deployment, {
        branch: event.branch,
        commit: event.after,
        trigger: "push",
      });
    }

    // A pull request.
    if (event.branch === deployment.branch) {
      return skip(
        `pull request #${event.number} is from the tracked branch ${event.branch} itself`,
      );
    }
    if (event.action === "closed") {
      if (!preview) return skip(`pull request #${event.number} closed; it had no preview`);
      await this.deps.deployments.removePreview(preview);
      return {
        ...about,
        action: "remove-preview",
        message: `pull request #${event.number} closed: its preview is removed`,
        targetId: preview.id,
      };
    }
    if (
      event.headRepository &&
      !event.headRepository.urls.some((url) => sameRepository(deployment.gitRepo, url))
    ) {
      return skip(
        `pull request #${event.number} comes from a fork (${event.headRepository.fullName}): forks get no previews, their code would run with the preview variables`,
      );
    }
    if (!previewed) {
      return skip(
        deployment.previewsEnabled
          ? `branch ${event.branch} matches no preview branch (${deployment.previewBranches})`
          : "previews are off",
      );
    }
    return this.deployPreview(deployment, {
      branch: event.branch,
      // Bitbucket names a pull request's head by an abbreviated sha: build the branch's head.
      commit: FULL_SHA.test(event.sha) ? event.sha : "",
      pullRequest: event.number,
      trigger: "pull_request",
    });
  }

  private async deployPreview(
    deployment: typeof deployments.$inferSelect,
    request: {
      branch: string;
      commit: string;
      pullRequest?: number;
      trigger: "push" | "pull_request";
    },
  ): Promise<DeliveryResult> {
    const { deployment: preview, created } = await this.deps.deployments.upsertPreview(
      deployment,
      request,
    );
    // The default domain comes first.
    const domain = preview.domains[0] ?? "";
    return {
      deploymentId: deployment.id,
      deployment: deployment.name,
      action: "preview",
      message: `${created ? "making" : "updating"} the preview of ${request.branch} at ${domain} (${request.commit.slice(0, 7) || "its head"})`,
      targetId: preview.id,
    };
  }

  private async previewOf(deployment: typeof deployments.$inferSelect, branch: string) {
    const [row] = await this.deps.db
      .select()
      .from(deployments)
      .where(
        and(
          eq(deployments.parentId, deployment.id),
          eq(deployments.branch, branch),
          ne(deployments.desiredState, "deleted"),
        ),
      );
    return row;
  }

  /** The delivery path for each forge, and the full URL when PUBLIC_URL says where the API is. */
  private urls(projectId: string) {
    return {
      endpoints: FORGES.map((forge) => {
        const path = `/api/v1/webhooks/${forge}/${projectId}`;
        return { forge, path, url: this.absolute(path) };
      }),
    };
  }

  private absolute(path: string): string {
    const base = this.deps.publicUrl;
    return base ? `${base.replace(/\/+$/, "")}${path}` : "";
  }
}

function failure(deployment: typeof deployments.$inferSelect, error: unknown): DeliveryResult {
  return {
    deploymentId: deployment.id,
    deployment: deployment.name,
    action: "error",
    message:
      error instanceof DomainError ? error.message : "an internal error; see the platform's log",
  };
}
