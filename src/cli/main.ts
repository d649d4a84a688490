/**
 * The `obiente` command. Server side: `up` (every role, the embedded defaults), `migrate`.
 * Client side: talking to an API with a saved token.
 */

import { join, resolve } from "node:path";
import { Command } from "commander";
import { VERSION } from "../api/server.js";
import { createLogger, startPlatform } from "../app/platform.js";
import { ConfigError, loadConfig } from "../config/config.js";
import { registerMetricsCommand } from "../metrics/cli.js";
import { migrate, openDatabase } from "../store/index.js";
import { registerClientCommands } from "./client.js";
import { registerClusterCommands } from "./cluster-commands.js";
import { registerDeployCommands, resolveDeployment } from "./deploy-commands.js";
import { registerPlanCommand } from "./plan-command.js";
import { terminalSafe } from "./terminal-text.js";

const program = new Command()
  .name("obiente")
  .description("Obiente Cloud: git repository and branch in, live URL out, on your own servers.")
  .version(VERSION);

program
  .command("up")
  .description("run the platform: every role of ROLES (default: all) in this process")
  .action(async () => {
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

// Errors carry the server's messages (ConnectError), which may hold text a tenant wrote.
program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`obiente: ${terminalSafe(error.message)}\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`obiente: ${terminalSafe(message)}\n`);
  process.exit(1);
});
