export {
  BUILD_ID_LABEL,
  type BuildImageOptions,
  type BuildLimits,
  type BuiltImage,
  buildImage,
  DEPLOYMENT_ID_LABEL,
} from "./build.js";
export type { BuilderPort, BuildRequest, BuildResult } from "./builder-port.js";
export {
  type BuildContext,
  type ExtraFile,
  type PackContextOptions,
  packContext,
} from "./context.js";
export {
  APP_PORT,
  type BuildKind,
  type BuildPlan,
  DEFAULT_STATIC_ROOT,
  type DetectInput,
  type DetectOptions,
  defaultStaticCommand,
  detectBuild,
  GENERATED_DOCKERFILE,
} from "./detect.js";
export {
  type CloneOptions,
  type CloneResult,
  cloneShallow,
  type HttpCredential,
  redactUrl,
  type SshKey,
} from "./git.js";
export { type BuildSettings, ImageBuilder, type ImageBuilderOptions } from "./image-builder.js";
export type { LogSink } from "./log-sink.js";
