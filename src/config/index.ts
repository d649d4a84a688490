export { type Config, ConfigError, loadConfig, type RoleName, type TrustProxy } from "./config.js";
