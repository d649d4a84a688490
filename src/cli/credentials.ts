/** Where the CLI keeps the API address and token: $OBIENTE_CONFIG or ~/.config/obiente/cli.json (0600). */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError, EXIT } from "./exit-codes.js";

export interface Credentials {
  api: string;
  token: string;
}

export function credentialsPath(): string {
  return (
    process.env.OBIENTE_CONFIG ??
    join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "obiente", "cli.json")
  );
}

export async function saveCredentials(credentials: Credentials): Promise<string> {
  const file = credentialsPath();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** OBIENTE_API and OBIENTE_TOKEN win over the saved file. */
export async function loadCredentials(): Promise<Credentials> {
  let saved: Partial<Credentials> = {};
  try {
    saved = JSON.parse(await readFile(credentialsPath(), "utf8")) as Partial<Credentials>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const api = process.env.OBIENTE_API ?? saved.api ?? "http://127.0.0.1:3000";
  const token = process.env.OBIENTE_TOKEN ?? saved.token;
  if (!token) {
    throw new CliError(
      "not logged in: run `obiente login --token obt_…` (or set OBIENTE_TOKEN)",
      EXIT.unauthenticated,
    );
  }
  return { api, token };
}
