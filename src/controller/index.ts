export { BuildStep, type BuildStepDeps } from "./build-step.js";
export {
  type ClusterConfig,
  type ClusterOptions,
  clusterOptionsOf,
  type PlacementGuardDeps,
  placementGuard,
} from "./cluster.js";
export { Controller, type ControllerDeps } from "./controller.js";
export { Deployer } from "./deployer.js";
export { DatabaseDeploymentRecords, type DeploymentRecordsDeps } from "./deployment-records.js";
export { installationId } from "./installation.js";
export { Placer } from "./placement.js";
export { Reconciler } from "./reconciler.js";
export { removeAbandoned } from "./roll.js";
export { loadRouteTable, RouteSync } from "./routing.js";
