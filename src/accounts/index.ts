export {
  BOOTSTRAP_TOKEN_FILE,
  BOOTSTRAP_TOKEN_NAME,
  type Bootstrapped,
  BootstrapTokenExpiry,
  type BootstrapTokenExpiryOptions,
  bootstrap,
  expireBootstrapToken,
  writeBootstrapTokenFile,
} from "./bootstrap.js";
export { storeAuthLookups } from "./lookups.js";
export { AccountService, type AccountServiceDeps, type ApiToken } from "./service.js";
