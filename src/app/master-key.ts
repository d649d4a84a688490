/**
 * The master key that encrypts env vars and secrets. It comes from SECRETS_MASTER_KEY; without
 * it, one is made on first start and kept in DATA_DIR/master.key (mode 0600), never in the
 * database. Every API and controller process of one installation must use the same key.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { generateMasterKey, parseMasterKey } from "../crypto/secret-box.js";

export async function loadMasterKey(
  options: { fromEnv: string | undefined; dataDir: string; shared: boolean },
  logger: Logger,
): Promise<Buffer> {
  if (options.fromEnv) {
    try {
      return parseMasterKey(options.fromEnv);
    } catch (error) {
      throw new Error(`SECRETS_MASTER_KEY: ${(error as Error).message}`);
    }
  }
  const file = join(options.dataDir, "master.key");
  try {
    return parseMasterKey((await readFile(file, "utf8")).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`cannot read the master key in ${file}: ${(error as Error).message}`);
    }
  }
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const key = generateMasterKey();
  // "wx": never overwrite a key another process wrote a moment ago.
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" }).catch(
    async (error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    },
  );
  if (options.shared) {
    logger.warn(
      { file },
      "SECRETS_MASTER_KEY is not set: using a key kept in the data folder. Set SECRETS_MASTER_KEY on every process when running more than one.",
    );
  }
  return parseMasterKey((await readFile(file, "utf8")).trim());
}
