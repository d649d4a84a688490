/**
 * The tables of migrations/*.sql, described for drizzle's query builder. The SQL files are the
 * source of truth; this file must say the same thing (the store tests check every table here
 * exists with these columns after the migrations run).
 */
import {
  bigint,
  boolean,
  doublePrecision,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const createdAt = () => ts("created_at").notNull().defaultNow();
const updatedAt = () => ts("updated_at").notNull().defaultNow();

export const users = pgTable("users", {
  id: uuid("id").primaryKey(),
  email: text("email").notNull(),
  displayName: text("display_name").notNull().default(""),
  platformAdmin: boolean("platform_admin").notNull().default(false),
  oidcIssuer: text("oidc_issuer"),
  oidcSubject: text("oidc_subject"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  /** Added by email, never signed in: an invitation, taken by the first sign-in with that email. */
  invited: boolean("invited").notNull().default(false),
});

export const organizations = pgTable("organizations", {
  id: uuid("id").primaryKey(),
  name: text("name").notNull(),
  slug: text("slug").notNull().unique(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  /** The value of the TXT records that prove this organization owns a domain; made on first use. */
  domainToken: text("domain_token"),
});

export type RoleName = "owner" | "admin" | "developer" | "viewer";

export const memberships = pgTable(
  "memberships",
  {
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    role: text("role").$type<RoleName>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] })],
);

export const projects = pgTable("projects", {
  id: uuid("id").primaryKey(),
  organizationId: uuid("organization_id").notNull(),
  name: text("name").notNull(),
  slug: text("slug").notNull(),
  description: text("description").notNull().default(""),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export type DesiredState = "running" | "stopped" | "deleted";
export type DeploymentStatusName =
  | "queued"
  | "building"
  | "deploying"
  | "running"
  | "stopped"
  | "failed"
  | "deleting";

export const deployments = pgTable("deployments", {
  id: uuid("id").primaryKey(),
  organizationId: uuid("organization_id").notNull(),
  projectId: uuid("project_id").notNull(),
  name: text("name").notNull(),
  gitRepo: text("git_repo").notNull(),
  branch: text("branch").notNull(),
  /** The build context inside the repository; "" for its root. */
  rootDirectory: text("root_directory").notNull().default(""),
  /** The Dockerfile, from the repository's root; "" for the context's own or a generated one. */
  dockerfilePath: text("dockerfile_path").notNull().default(""),
  desiredState: text("desired_state").$type<DesiredState>().notNull().default("running"),
  status: text("status").$type<DeploymentStatusName>().notNull().default("queued"),
  statusMessage: text("status_message").notNull().default(""),
  replicas: integer("replicas").notNull().default(1),
  cpuMillicores: integer("cpu_millicores").notNull().default(0),
  memoryMb: integer("memory_mb").notNull().default(0),
  strategy: text("strategy").notNull().default(""),
  currentBuildId: uuid("current_build_id"),
  generation: integer("generation").notNull().default(1),
  restartGeneration: integer("restart_generation").notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  /** The commit the next build builds; "" for the branch's head. */
  wantedCommit: text("wanted_commit").notNull().default(""),
  /** What asked for the next build (BuildTrigger), copied to the build. */
  buildTrigger: text("build_trigger").$type<BuildTrigger | "">().notNull().default(""),
  /** Whether pushes to other branches and pull requests make previews of this deployment. */
  previewsEnabled: boolean("previews_enabled").notNull().default(false),
  /** Which branches get previews: a comma-separated glob list; "" for every branch. */
  previewBranches: text("preview_branches").notNull().default(""),
  /** A preview's production deployment; null for a deployment that is not a preview. */
  parentId: uuid("parent_id"),
  /** The pull request a preview is of, when a pull request made it. */
  pullRequest: integer("pull_request"),
  /** The last push or pull request event that touched a preview (PREVIEW_TTL_HOURS). */
  lastPushAt: ts("last_push_at"),
});

export type BuildTrigger = "api" | "push" | "pull_request" | "hook" | "preview";

/** A deployment's https credential, sealed (src/deployments/git-credentials.ts). */
export const deploymentGitCredentials = pgTable("deployment_git_credentials", {
  deploymentId: uuid("deployment_id").primaryKey(),
  origin: text("origin").notNull(),
  credentialEncrypted: text("credential_encrypted").notNull(),
  updatedAt: updatedAt(),
});

/** A project's deploy key for ssh repositories, the private key sealed (src/projects/deploy-keys.ts). */
export const projectDeployKeys = pgTable("project_deploy_keys", {
  projectId: uuid("project_id").primaryKey(),
  publicKey: text("public_key").notNull(),
  fingerprint: text("fingerprint").notNull(),
  privateKeyEncrypted: text("private_key_encrypted").notNull(),
  createdAt: createdAt(),
});

/** A project's webhook secret, sealed (src/deployments/webhooks.ts). */
export const projectWebhooks = pgTable("project_webhooks", {
  projectId: uuid("project_id").primaryKey(),
  secretEncrypted: text("secret_encrypted").notNull(),
  createdAt: createdAt(),
});

/** Webhook deliveries seen, so that one sent again is processed once. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    projectId: uuid("project_id").notNull(),
    forge: text("forge").notNull(),
    deliveryId: text("delivery_id").notNull(),
    receivedAt: ts("received_at").notNull().defaultNow(),
    outcome: text("outcome").notNull().default(""),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.forge, t.deliveryId] })],
);

/** A deployment's deploy hook; only the token's hash is kept. */
export const deployHooks = pgTable("deploy_hooks", {
  deploymentId: uuid("deployment_id").primaryKey(),
  tokenHash: text("token_hash").notNull().unique(),
  prefix: text("prefix").notNull(),
  createdAt: createdAt(),
  lastUsedAt: ts("last_used_at"),
});

export type BuildStatusName = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export const builds = pgTable("builds", {
  id: uuid("id").primaryKey(),
  deploymentId: uuid("deployment_id").notNull(),
  status: text("status").$type<BuildStatusName>().notNull().default("queued"),
  statusMessage: text("status_message").notNull().default(""),
  gitRepo: text("git_repo").notNull(),
  branch: text("branch").notNull(),
  commitSha: text("commit_sha").notNull().default(""),
  imageId: text("image_id").notNull().default(""),
  logs: text("logs").notNull().default(""),
  port: integer("port").notNull().default(8080),
  createdAt: createdAt(),
  startedAt: ts("started_at"),
  finishedAt: ts("finished_at"),
  commitMessage: text("commit_message").notNull().default(""),
  /** `Name <email>`, as git reports the commit's author. */
  commitAuthor: text("commit_author").notNull().default(""),
  committedAt: ts("committed_at"),
  trigger: text("trigger").$type<BuildTrigger | "">().notNull().default(""),
});

/** A deployment's variables, sealed: its own (env_vars) or its previews' (preview_env_vars). */
const variablesTable = (name: string) =>
  pgTable(
    name,
    {
      deploymentId: uuid("deployment_id").notNull(),
      key: text("key").notNull(),
      valueEncrypted: text("value_encrypted").notNull(),
      createdAt: createdAt(),
      updatedAt: updatedAt(),
    },
    (t) => [primaryKey({ columns: [t.deploymentId, t.key] })],
  );

export const envVars = variablesTable("env_vars");

/** Variables only a deployment's previews get, over its own. */
export const previewEnvVars = variablesTable("preview_env_vars");

export type DomainStatusName = "pending" | "verified" | "unverified";

/**
 * A domain of a deployment. Custom domains are pending until their organization proves it owns
 * them; only verified ones are routed, and one organization at most has a domain verified.
 */
export const domains = pgTable(
  "domains",
  {
    domain: text("domain").notNull(),
    deploymentId: uuid("deployment_id").notNull(),
    organizationId: uuid("organization_id").notNull(),
    isDefault: boolean("is_default").notNull().default(false),
    createdAt: createdAt(),
    status: text("status").$type<DomainStatusName>().notNull().default("pending"),
    statusMessage: text("status_message").notNull().default(""),
    verifiedAt: ts("verified_at"),
    checkedAt: ts("checked_at"),
    failingSince: ts("failing_since"),
  },
  (t) => [primaryKey({ columns: [t.domain, t.organizationId] })],
);

/** Limits set for one organization; a null column follows the platform's default. */
export const organizationQuotas = pgTable("organization_quotas", {
  organizationId: uuid("organization_id").primaryKey(),
  deployments: integer("deployments"),
  replicas: integer("replicas"),
  cpuMillicores: integer("cpu_millicores"),
  memoryMb: integer("memory_mb"),
  domains: integer("domains"),
  concurrentBuilds: integer("concurrent_builds"),
  concurrentStreams: integer("concurrent_streams"),
  logTailLines: integer("log_tail_lines"),
  updatedAt: updatedAt(),
});

/** Log and metrics streams open now, renewed by the API process that serves each. */
export const streamLeases = pgTable("stream_leases", {
  id: uuid("id").primaryKey(),
  organizationId: uuid("organization_id").notNull(),
  kind: text("kind").notNull(),
  expiresAt: ts("expires_at").notNull(),
});

export const apiTokens = pgTable("api_tokens", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id").notNull(),
  name: text("name").notNull(),
  tokenHash: text("token_hash").notNull().unique(),
  prefix: text("prefix").notNull(),
  createdAt: createdAt(),
  expiresAt: ts("expires_at"),
  lastUsedAt: ts("last_used_at"),
  revokedAt: ts("revoked_at"),
});

export const auditLog = pgTable("audit_log", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  at: ts("at").notNull().defaultNow(),
  organizationId: uuid("organization_id"),
  userId: uuid("user_id"),
  action: text("action").notNull(),
  resourceType: text("resource_type").notNull(),
  resourceId: text("resource_id").notNull().default(""),
  details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
});

export type NodeAvailabilityName = "active" | "drain" | "down";

export const nodeMetadata = pgTable("node_metadata", {
  id: text("id").primaryKey(),
  hostname: text("hostname").notNull().default(""),
  address: text("address").notNull().default(""),
  role: text("role").notNull().default("worker"),
  availability: text("availability").$type<NodeAvailabilityName>().notNull().default("active"),
  statusMessage: text("status_message").notNull().default(""),
  labels: jsonb("labels").$type<Record<string, string>>().notNull().default({}),
  cpuCores: doublePrecision("cpu_cores").notNull().default(0),
  memoryBytes: bigint("memory_bytes", { mode: "number" }).notNull().default(0),
  maxDeployments: integer("max_deployments").notNull().default(50),
  cpuPercent: doublePrecision("cpu_percent").notNull().default(0),
  memoryUsedBytes: bigint("memory_used_bytes", { mode: "number" }).notNull().default(0),
  diskPercent: doublePrecision("disk_percent").notNull().default(0),
  deploymentCount: integer("deployment_count").notNull().default(0),
  lastHeartbeat: ts("last_heartbeat"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export type LocationStatusName = "starting" | "running" | "stopped" | "failed";

export const deploymentLocations = pgTable("deployment_locations", {
  id: uuid("id").primaryKey(),
  deploymentId: uuid("deployment_id").notNull(),
  replica: integer("replica").notNull().default(0),
  nodeId: text("node_id").notNull(),
  containerId: text("container_id").notNull().default(""),
  buildId: uuid("build_id"),
  status: text("status").$type<LocationStatusName>().notNull().default("running"),
  address: text("address").notNull().default(""),
  port: integer("port").notNull().default(0),
  domain: text("domain").notNull().default(""),
  healthStatus: text("health_status").notNull().default("unknown"),
  resourceUsage: jsonb("resource_usage").$type<Record<string, number>>().notNull().default({}),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const deploymentRouting = pgTable(
  "deployment_routing",
  {
    domain: text("domain").notNull(),
    pathPrefix: text("path_prefix").notNull().default("/"),
    deploymentId: uuid("deployment_id").notNull(),
    targetPort: integer("target_port").notNull().default(0),
    tls: boolean("tls").notNull().default(false),
    lbAlgorithm: text("lb_algorithm").notNull().default("round_robin"),
    weights: jsonb("weights").$type<Record<string, number>>().notNull().default({}),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.domain, t.pathPrefix] })],
);

export const controllerState = pgTable("controller_state", {
  key: text("key").primaryKey(),
  value: jsonb("value").$type<unknown>().notNull(),
  updatedAt: updatedAt(),
});

/** The scheduler's last decision per deployment (ExplainPlacement). */
export const placements = pgTable("placements", {
  deploymentId: uuid("deployment_id").primaryKey(),
  decidedAt: ts("decided_at").notNull().defaultNow(),
  strategy: text("strategy").notNull(),
  explanation: jsonb("explanation").$type<Record<string, unknown>>().notNull().default({}),
});

/** A node's availability and labels as set through the platform, until applied to Swarm. */
export const nodeSpecs = pgTable("node_specs", {
  nodeId: text("node_id").primaryKey(),
  availability: text("availability").$type<"active" | "drain">().notNull().default("active"),
  labels: jsonb("labels").$type<Record<string, string>>().notNull().default({}),
  applied: boolean("applied").notNull().default(false),
  updatedAt: updatedAt(),
});
