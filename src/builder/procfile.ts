/**
 * A Procfile's `web:` line (Heroku's format: `<process>: <command>` per line), which names how
 * any stack's app starts. The command is a shell command line, as on Heroku.
 */
import { failedPrecondition } from "../domain/index.js";

export function webCommand(procfile: string): string | undefined {
  for (const raw of procfile.split(/\r?\n/)) {
    const match = /^\s*web\s*:\s*(.*?)\s*$/.exec(raw);
    if (!match) continue;
    const command = match[1] ?? "";
    if (command.length === 0) throw failedPrecondition("Procfile: the web: line has no command");
    if (command.length > 2000)
      throw failedPrecondition("Procfile: the web: command is over 2000 characters");
    return command;
  }
  return undefined;
}

/** The exec form that runs a Procfile command: through sh, which expands $PORT as Heroku's does. */
export function shellCommand(command: string): string[] {
  return ["sh", "-c", command];
}

/** The command split into words when it uses no shell syntax (for images without a shell). */
export function plainWords(command: string): string[] | undefined {
  if (/[$`'"\\|&;<>(){}*?[\]~#=]/.test(command)) return undefined;
  return command.split(/\s+/).filter((word) => word.length > 0);
}
