// The label table is the platform's (src/domain/labels.ts); offered here with the names that use it.
export { DEPLOYMENT_LABEL_VALUE, LABELS } from "../domain/labels.js";
export { DEFAULT_DOCKER_HOST, dockerOptions } from "./docker-host.js";
export {
  type ContainerHealth,
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  DockerRuntime,
  type DockerRuntimeOptions,
  type EngineInfo,
  type HealthCheckSpec,
  type ImageRemoval,
  LOG_MAX_FILES,
  LOG_MAX_SIZE,
  type NetworkRef,
  PIDS_LIMIT,
  RESTART_MAX_RETRIES,
  type RunningContainer,
} from "./docker-runtime.js";
export type { LogOptions } from "./engine-logs.js";
export type { PortRange } from "./host-ports.js";
export type { LogLine } from "./log-stream.js";
export {
  containerName,
  containerNames,
  type DeploymentLabelValues,
  deploymentLabels,
  NAMES_REMEMBERED_MAX,
  projectNetworkName,
} from "./names.js";
export { type ContainerStats, computeStats, type RawDockerStats } from "./stats.js";
export {
  copyImage,
  type EngineRef,
  engineClient,
  type ImagePresence,
} from "./swarm-images.js";
export {
  type ImageSources,
  type RunningService,
  SwarmRuntime,
  type SwarmRuntimeOptions,
} from "./swarm-runtime.js";
export {
  RESTART_DELAY_MS,
  type ServiceInfo,
  type ServiceTask,
  STOP_GRACE_MS,
  type SwarmFeatures,
  type SwarmNode,
  type SwarmNodeAvailability,
  type SwarmNodeRole,
  type SwarmNodeState,
  type SwarmServiceSpec,
  type SwarmTaskState,
  serviceSpec,
  UPDATE_MONITOR_MS,
} from "./swarm-spec.js";
