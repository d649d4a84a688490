export {
  DEFAULT_IMAGES,
  DEFAULT_NODE_MAJOR,
  type DetectOptions,
} from "./base-images.js";
export {
  BUILD_ID_LABEL,
  type BuildImageOptions,
  type BuildLimits,
  type BuiltImage,
  buildImage,
  DEPLOYMENT_ID_LABEL,
} from "./build.js";
export type { BuilderPort, BuildRequest, BuildResult, CommitInfo } from "./builder-port.js";
export {
  type BuildContext,
  type ExtraFile,
  type PackContextOptions,
  packContext,
} from "./context.js";
export { type DetectInput, detectBuild } from "./detect.js";
export {
  type CloneOptions,
  type CloneResult,
  cloneShallow,
  type HttpCredential,
  MAX_COMMIT_MESSAGE_CHARS,
  redactUrl,
  type SshKey,
  validCommitSha,
} from "./git.js";
export { type BuildSettings, ImageBuilder, type ImageBuilderOptions } from "./image-builder.js";
export type { LogSink } from "./log-sink.js";
export {
  APP_PORT,
  type BuildKind,
  type BuildPlan,
  formatPlan,
  GENERATED_DOCKERFILE,
  type PlanReason,
} from "./plan.js";
export { type PlanRepositoryOptions, planRepository } from "./plan-repository.js";
export { type CheckoutPlan, packPlan, planCheckout, type SourceSelection } from "./plan-source.js";
export { readSourceTree } from "./read-source.js";
export { dockerfilePath, rootDirectory } from "./source-path.js";
export { type SourceTree, treeOf } from "./source-tree.js";
