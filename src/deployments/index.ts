export { deploymentEnv, envAad, previewEnvAad } from "./env-vars.js";
export { buildCancelChannel, buildLogChannel, type StatusEvent, statusChannel } from "./events.js";
export {
  gitCredentialAad,
  readGitCredential,
  sealGitCredentials,
  stripCredentials,
} from "./git-credentials.js";
export {
  BuildPlanService,
  type BuildPlanServiceDeps,
  detectOptionsOf,
} from "./plan-service.js";
export {
  type Build,
  type Deployment,
  DeploymentService,
  type DeploymentServiceDeps,
  type DomainView,
  type Location,
  type PlacementFit,
  type Strategy,
} from "./service.js";
export { GitLoopService, type GitLoopServiceDeps, webhookAad } from "./webhooks.js";
