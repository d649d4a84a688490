/**
 * `obiente open --browser`: the platform's own opener (xdg-open, open, or Windows' start), given
 * the URL as one argument, never through a shell string. Only when asked.
 */
import { spawn } from "node:child_process";
import { CliError } from "./exit-codes.js";

export function openInBrowser(url: string): Promise<void> {
  if (!/^https?:\/\//i.test(url)) throw new CliError(`not a web address: ${url}`);
  const [command, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["rundll32", ["url.dll,FileProtocolHandler", url]]
        : ["xdg-open", [url]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.once("error", (error) =>
      reject(new CliError(`could not open a browser (${command}): ${error.message}`)),
    );
    child.once("spawn", () => {
      child.unref();
      resolve();
    });
  });
}
