/**
 * `obiente secrets rotate`: seals every stored secret again under the current master key, against
 * the database directly (as `obiente migrate` does), with the configuration of the platform's
 * processes: SECRETS_MASTER_KEY (the new key; or DATA_DIR/master.key without it) and
 * SECRETS_MASTER_KEY_PREVIOUS (the keys values may still be sealed with).
 */
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../config/index.js";

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerSecretsCommands(program: Command) {
  const secrets = program.command("secrets").description("the secrets the platform keeps");
  secrets
    .command("rotate")
    .description(
      "re-encrypt every stored secret under SECRETS_MASTER_KEY, reading older values with SECRETS_MASTER_KEY_PREVIOUS (idempotent)",
    )
    .option("--batch-size <n>", "values per transaction", "500")
    .option("--dry-run", "count the values to re-encrypt, change nothing")
    .action(async (options: { batchSize: string; dryRun?: boolean }) => {
      // The server side is imported by the command that needs it, not by every client command.
      const [
        { default: pino },
        { loadSecretBox },
        { rotateSecrets, SEALED_COLUMNS },
        { openDatabase },
      ] = await Promise.all([
        import("pino"),
        import("../app/master-key.js"),
        import("../secrets/index.js"),
        import("../store/index.js"),
      ]);
      const batchSize = Number(options.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
        throw new Error("--batch-size must be a whole number from 1 to 100000");
      }
      const config = loadConfig();
      const dataDir = resolve(config.DATA_DIR);
      const box = await loadSecretBox(
        {
          fromEnv: config.SECRETS_MASTER_KEY,
          previous: config.SECRETS_MASTER_KEY_PREVIOUS,
          dataDir,
          shared: false,
          // A key made up now would seal everything under a key no process has.
          create: false,
        },
        pino({ level: "silent" }),
      );
      const database = await openDatabase(
        config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: join(dataDir, "data") },
      );
      let failures = 0;
      try {
        out(`current key ${box.keyId}; previous keys: ${box.previousKeyIds.join(", ") || "none"}`);
        const reports = await rotateSecrets(database.db, box, SEALED_COLUMNS, {
          batchSize,
          dryRun: options.dryRun ?? false,
        });
        for (const report of reports) {
          out(
            `${report.column}: ${report.resealed} ${options.dryRun ? "to re-encrypt" : "re-encrypted"}${report.failed.length ? `, ${report.failed.length} could not be decrypted` : ""}`,
          );
          for (const failure of report.failed) out(`  ${failure.row}: ${failure.reason}`);
          failures += report.failed.length;
        }
      } finally {
        await database.close();
      }
      if (failures > 0) {
        out(
          "some values are sealed with a key neither SECRETS_MASTER_KEY nor SECRETS_MASTER_KEY_PREVIOUS holds: add it to SECRETS_MASTER_KEY_PREVIOUS and run this again",
        );
        process.exitCode = 1;
      } else if (!options.dryRun) {
        out(
          `every value is under key ${box.keyId}: SECRETS_MASTER_KEY_PREVIOUS may be removed from every process`,
        );
      }
    });
}
