/**
 * What a process holds once started: the composition root builds the narrow dependencies of each
 * domain service and of the controller's pieces from it (src/app/service-deps.ts,
 * src/app/controller-deps.ts); the API server still takes it whole. Passed in rather than
 * imported as singletons, so that tests build their own with a real database and real platform
 * services.
 */
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { SecretBox } from "../crypto/index.js";
import type { PlatformServices } from "../platform/index.js";
import type { Db } from "../store/index.js";

export interface AppContext {
  readonly config: Config;
  readonly db: Db;
  readonly services: PlatformServices;
  readonly secrets: SecretBox;
  readonly logger: Logger;
  readonly now: () => Date;
}
