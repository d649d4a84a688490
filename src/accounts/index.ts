export { type Bootstrapped, bootstrap } from "./bootstrap.js";
export { storeAuthLookups } from "./lookups.js";
export { AccountService, type ApiToken } from "./service.js";
