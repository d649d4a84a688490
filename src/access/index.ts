export { authorize, requirePlatformAdmin, roleIn } from "./access.js";
export { type Action, allows, atLeast, ROLE_NAMES, type RoleName } from "./roles.js";
