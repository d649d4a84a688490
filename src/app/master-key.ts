/**
 * The master key that encrypts env vars and secrets. It comes from SECRETS_MASTER_KEY; without
 * it, one is made on first start and kept in DATA_DIR/master.key (mode 0600), never in the
 * database. Every API and controller process of one installation must use the same key.
 *
 * After a rotation, SECRETS_MASTER_KEY_PREVIOUS lists the keys that were current before: values
 * they sealed still decrypt, and `obiente secrets rotate` seals them again under the current key.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { generateMasterKey, parseMasterKey, SecretBox } from "../crypto/index.js";

export async function loadMasterKey(
  options: {
    fromEnv: string | undefined;
    dataDir: string;
    shared: boolean;
    /** Make DATA_DIR/master.key when it is missing (a first start); true unless said. */
    create?: boolean;
  },
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
    if (options.create === false) {
      throw new Error(
        `no master key: SECRETS_MASTER_KEY is not set and ${file} does not exist (check DATA_DIR)`,
      );
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

/**
 * SECRETS_MASTER_KEY_PREVIOUS's keys. A bad entry is named by its place in the list, never
 * shown: it is a key.
 */
export function parsePreviousKeys(entries: readonly string[] | undefined): Buffer[] {
  const list = entries ?? [];
  return list.map((entry, i) => {
    try {
      return parseMasterKey(entry);
    } catch (error) {
      throw new Error(
        `SECRETS_MASTER_KEY_PREVIOUS, key ${i + 1} of ${list.length}: ${(error as Error).message}`,
      );
    }
  });
}

/** The installation's secret box: the current key, and the previous ones for decryption. */
export async function loadSecretBox(
  options: {
    fromEnv: string | undefined;
    previous: readonly string[] | undefined;
    dataDir: string;
    shared: boolean;
    create?: boolean;
  },
  logger: Logger,
): Promise<SecretBox> {
  const previousKeys = parsePreviousKeys(options.previous);
  const current = await loadMasterKey(options, logger);
  return new SecretBox(current, { previousKeys });
}
