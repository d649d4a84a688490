export { type Config, ConfigError, loadConfig, type RoleName } from "./config.js";
