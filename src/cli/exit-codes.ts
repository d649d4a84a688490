/**
 * What `obiente` exits with, for scripts: one code per kind of outcome a script may act on
 * (README.md, "Exit codes"). Pure.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";

export const EXIT = {
  ok: 0,
  /** Anything else: the server refused for another reason, a deployment or build failed. */
  error: 1,
  /** The command line was wrong, or the server found the input invalid. */
  usage: 2,
  notFound: 3,
  permissionDenied: 4,
  /** Not logged in, or the token is no longer accepted. */
  unauthenticated: 5,
  /** The API could not be reached (or answered it is unavailable): worth retrying later. */
  unavailable: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI itself finds, with the code it exits with. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
  }
}

const BY_CODE: Partial<Record<Code, ExitCode>> = {
  [Code.InvalidArgument]: EXIT.usage,
  [Code.NotFound]: EXIT.notFound,
  [Code.PermissionDenied]: EXIT.permissionDenied,
  [Code.Unauthenticated]: EXIT.unauthenticated,
  [Code.Unavailable]: EXIT.unavailable,
};

/** The exit code for an error that ended a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  // Commander printed its message already; --help and --version end with 0.
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof ConnectError) return BY_CODE[error.code] ?? EXIT.error;
  return EXIT.error;
}

/** The message to print for an error, or undefined when it was printed already (commander's). */
export function messageOf(error: unknown): string | undefined {
  if (error instanceof CommanderError) return undefined;
  // ConnectError's message starts with "[not_found] …"; the raw message is the server's sentence.
  if (error instanceof ConnectError) {
    if (
      error.code === Code.Unavailable &&
      /\bE(CONNREFUSED|NOTFOUND|HOSTUNREACH|TIMEDOUT)\b/.test(error.rawMessage)
    ) {
      return `the API cannot be reached (${error.rawMessage}): is it running, and are OBIENTE_API or \`obiente login --api\` right?`;
    }
    return error.rawMessage || Code[error.code];
  }
  return error instanceof Error ? error.message : String(error);
}
