/**
 * Runs `obiente <args>` in this process, with the commands a test registers, against a test
 * platform (OBIENTE_API and OBIENTE_TOKEN, which win over any saved login); returns the lines it
 * printed.
 */
import { Command } from "commander";

export async function runCli(
  register: ReadonlyArray<(program: Command) => void>,
  args: string[],
  target: { api: string; token: string },
): Promise<string[]> {
  const program = new Command().exitOverride();
  for (const r of register) r(program);
  const printed: string[] = [];
  const write = process.stdout.write;
  process.env.OBIENTE_API = target.api;
  process.env.OBIENTE_TOKEN = target.token;
  process.stdout.write = ((chunk: string) => {
    printed.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "obiente", ...args]);
  } finally {
    process.stdout.write = write;
    delete process.env.OBIENTE_API;
    delete process.env.OBIENTE_TOKEN;
  }
  return printed.join("").split("\n").slice(0, -1);
}
