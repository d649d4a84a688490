export { BuildStep } from "./build-step.js";
export {
  type ClusterConfig,
  type ClusterOptions,
  clusterOptionsOf,
  placementGuard,
} from "./cluster.js";
export { Controller } from "./controller.js";
export { Deployer } from "./deployer.js";
export { DatabaseDeploymentRecords } from "./deployment-records.js";
export { installationId } from "./installation.js";
export { Placer } from "./placement.js";
export { Reconciler } from "./reconciler.js";
export { removeAbandoned } from "./roll.js";
export { loadRouteTable, RouteSync } from "./routing.js";
