export { type DeployKey, deployKeyAad, isSshRemote, readDeployKey } from "./deploy-keys.js";
export { type Project, ProjectService, type ProjectServiceDeps } from "./service.js";
