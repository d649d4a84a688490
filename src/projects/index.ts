export { type DeployKey, deployKeyAad, isSshRemote, readDeployKey } from "./deploy-keys.js";
export { type Project, ProjectService } from "./service.js";
