/**
 * The `obiente` command. Server side: `up` (every role, the embedded defaults), `migrate`,
 * `secrets rotate`.
 * Client side: talking to an API with a saved token.
 */

import { join, resolve } from "node:path";
import { Command } from "commander";
import { ConfigError, loadConfig } from "../config/index.js";
import { VERSION } from "../core/index.js";
import { registerAdminCommands } from "./admin-commands.js";
import { registerBackupCommands } from "./backup-commands.js";
import { registerClientCommands } from "./client.js";
import { registerClusterCommands } from "./cluster-commands.js";
import { registerDeployCommands, resolveDeployment } from "./deploy-commands.js";
import { registerDeploymentCommands } from "./deployment-commands.js";
import { registerDomainCommands } from "./domain-commands.js";
import { registerEnvCommands } from "./env-commands.js";
import { EXIT, exitCodeOf, messageOf } from "./exit-codes.js";
import { registerHooksCommands } from "./hooks-commands.js";
import { registerMetricsCommand } from "./metrics-commands.js";
import { registerPlanCommand } from "./plan-command.js";
import { registerPreviewCommands } from "./preview-commands.js";
import { registerProjectCommands } from "./project-commands.js";
import { registerSecretsCommands } from "./secrets-commands.js";
import { terminalSafe } from "./terminal-text.js";

const program = new Command()
  .name("obiente")
  .description("Obiente Cloud: git repository and branch in, live URL out, on your own servers.")
  .version(VERSION)
  // Errors end in the handler below, which picks the exit code (src/cli/exit-codes.ts); every
  // command registered after this inherits it.
  .exitOverride();

program
  .command("up")
  .description("run the platform: every role of ROLES (default: all) in this process")
  .action(async () => {
    // The server side is imported by the commands that run it, not by every client command.
    const { createLogger, startPlatform } = await import("../app/platform.js");
    const config = loadConfig();
    const logger = createLogger(config);
    const platform = await startPlatform(config, logger);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      await platform.close();
      process.exit(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
  });

program
  .command("migrate")
  .description("apply the database migrations and exit")
  .action(async () => {
    const { migrate, openDatabase } = await import("../store/index.js");
    const config = loadConfig();
    const database = await openDatabase(
      config.DATABASE_URL
        ? { url: config.DATABASE_URL }
        : { dataDir: join(resolve(config.DATA_DIR), "data") },
    );
    try {
      const { applied } = await migrate(database);
      process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "up to date\n");
    } finally {
      await database.close();
    }
  });

registerClientCommands(program);
registerDeployCommands(program);
registerMetricsCommand(program, { resolveDeployment });
registerClusterCommands(program);
registerPlanCommand(program);
registerProjectCommands(program);
registerDeploymentCommands(program);
registerEnvCommands(program);
registerDomainCommands(program);
registerHooksCommands(program);
registerPreviewCommands(program);
registerAdminCommands(program);
registerBackupCommands(program);
registerSecretsCommands(program);

// Errors carry the server's messages (ConnectError), which may hold text a tenant wrote.
program.parseAsync(process.argv).catch((error: unknown) => {
  const message = messageOf(error);
  if (message !== undefined) process.stderr.write(`obiente: ${terminalSafe(message)}\n`);
  process.exit(error instanceof ConfigError ? EXIT.usage : exitCodeOf(error));
});
