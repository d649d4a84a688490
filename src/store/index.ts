export {
  type Database,
  type DatabaseLogger,
  type Db,
  executeRows,
  type OpenDatabaseOptions,
  openDatabase,
  type RawTransaction,
  type SqlParameter,
  type Tx,
} from "./database.js";
export { constraintOf, isForeignKeyViolation, isUniqueViolation } from "./errors.js";
export { type MigrateOptions, migrate, migrationLockKey } from "./migrate.js";
export * as schema from "./schema.js";
export * from "./schema.js";
