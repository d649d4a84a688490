// The label table is the platform's (src/domain/labels.ts); offered here with the names that use it.
export { DEPLOYMENT_LABEL_VALUE, LABELS } from "../domain/index.js";
export {
  DEFAULT_DOCKER_HOST,
  dockerOptions,
  insecureEngineProblem,
  parseDockerHost,
} from "./docker-host.js";
export { DockerRuntimePort } from "./docker-port.js";
// The engine clients load dockerode: of them, their types only. Their code is imported from
// their modules where the engines start (src/app/deploying.ts, which only the roles running an
// engine load), so that a process without an engine (the CLI, the API alone) never loads dockerode.
export type {
  ContainerHealth,
  ContainerInfo,
  ContainerSpec,
  ContainerState,
  DockerRuntime,
  DockerRuntimeOptions,
  EngineInfo,
  HealthCheckSpec,
  ImageRemoval,
  NetworkRef,
  RunningContainer,
} from "./docker-runtime.js";
export { engineCredentials } from "./engine-credentials.js";
export { statusOf } from "./engine-errors.js";
export type { LogOptions } from "./engine-logs.js";
export type { PortRange } from "./host-ports.js";
export { removeImagesLabelled } from "./image-cleanup.js";
export type { LogLine } from "./log-stream.js";
export {
  containerName,
  containerNames,
  type DeploymentLabelValues,
  deploymentLabels,
  NAMES_REMEMBERED_MAX,
  projectNetworkName,
} from "./names.js";
export { parseRegistry } from "./registry-reference.js";
export type {
  ClusterNode,
  ClusterPort,
  ContainerRef,
  RuntimePort,
  Started,
} from "./runtime-port.js";
export { type ContainerStats, computeStats, type RawDockerStats } from "./stats.js";
export type { EngineRef, ImagePresence } from "./swarm-images.js";
export { SwarmRuntimePort, swarmCluster } from "./swarm-port.js";
export type {
  ImageSources,
  RunningService,
  SwarmRuntime,
  SwarmRuntimeOptions,
} from "./swarm-runtime.js";
export type {
  ServiceInfo,
  ServiceTask,
  SwarmFeatures,
  SwarmNode,
  SwarmNodeAvailability,
  SwarmNodeRole,
  SwarmNodeState,
  SwarmServiceSpec,
  SwarmTaskState,
} from "./swarm-spec.js";
export { TENANT_BRIDGE_PATTERN, TENANT_BRIDGE_PREFIX } from "./tenant-networks.js";
