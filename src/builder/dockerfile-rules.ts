/**
 * What a Dockerfile may not ask of the builder, checked before a build starts.
 *
 * `ADD <url>`: Docker's classic builder fetches the URL itself, from the engine's own network
 * namespace (the host's), not from the build network the build steps run on. The isolation rules
 * (src/network) do not apply there, so `ADD http://169.254.169.254/…` or `ADD http://10.0.0.12:2375/…`
 * would read what tenants must not reach. A URL is refused wherever ADD takes sources, also in
 * `ONBUILD ADD`; `RUN wget …` or `RUN curl …` fetch from the build network, under the rules.
 *
 * The instructions are read as Docker reads them: the `escape` parser directive, line
 * continuations (with comment lines inside them dropped), flags such as `--chown=…`, and the
 * JSON form `ADD ["src", "dest"]`. Pure: the builder passes the text its plan read (the
 * repository's own Dockerfile too, a regular file of at most 1 MB, symlinks never followed).
 */
import { failedPrecondition } from "../domain/index.js";

export interface Instruction {
  /** Upper case: "ADD", "RUN", … */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line of the instruction's first line. */
  line: number;
}

/** A source with a scheme (http://, https://, git://, ftp://, …) or an scp-like git address. */
const REMOTE_SOURCE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@[^:/\s]+:)/i;
const DIRECTIVE = /^#\s*([a-z][a-z0-9]*)\s*=\s*(.*?)\s*$/i;

/** Docker's instruction list of a Dockerfile. */
export function parseInstructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  let escapeChar = "\\";
  let index = 0;
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  for (; index < lines.length; index++) {
    const directive = DIRECTIVE.exec(lines[index] ?? "");
    if (!directive) break;
    if (
      directive[1]?.toLowerCase() === "escape" &&
      (directive[2] === "`" || directive[2] === "\\")
    ) {
      escapeChar = directive[2];
    }
  }
  const instructions: Instruction[] = [];
  let current: { parts: string[]; line: number } | undefined;
  for (; index < lines.length; index++) {
    const raw = lines[index] ?? "";
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (current === undefined && trimmed === "")) continue;
    if (current !== undefined && trimmed === "") continue;
    const continues = trimmed.endsWith(escapeChar);
    const content = continues ? trimmed.slice(0, -escapeChar.length) : trimmed;
    if (current === undefined) current = { parts: [], line: index + 1 };
    current.parts.push(content);
    if (continues) continue;
    instructions.push(toInstruction(current.parts.join(" "), current.line));
    current = undefined;
  }
  if (current !== undefined)
    instructions.push(toInstruction(current.parts.join(" "), current.line));
  return instructions;
}

function toInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(text.trim());
  return { keyword: (match?.[1] ?? "").toUpperCase(), args: match?.[2] ?? "", line };
}

/** ADD's sources: its arguments without flags, all but the last (the destination). */
export function addSources(args: string): string[] {
  let rest = args.trim();
  for (;;) {
    const flag = /^--[A-Za-z][A-Za-z0-9-]*(?:=\S*)?\s*/.exec(rest);
    if (!flag) break;
    rest = rest.slice(flag[0].length);
  }
  let words: string[];
  if (rest.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(rest);
      words =
        Array.isArray(parsed) && parsed.every((word) => typeof word === "string")
          ? parsed
          : rest.split(/\s+/);
    } catch {
      // Not valid JSON: Docker reads it as the shell form.
      words = rest.split(/\s+/);
    }
  } else {
    words = rest.split(/\s+/).filter((word) => word.length > 0);
  }
  return words.slice(0, -1);
}

/**
 * Throws `failed_precondition` when the Dockerfile adds a remote source, naming the line and
 * saying what to do instead. `name` is the file's name, for the message.
 */
export function checkDockerfile(text: string, name = "Dockerfile"): void {
  for (const instruction of parseInstructions(text)) {
    let { keyword, args } = instruction;
    if (keyword === "ONBUILD") ({ keyword, args } = toInstruction(args, instruction.line));
    if (keyword !== "ADD") continue;
    const remote = addSources(args).find((source) => REMOTE_SOURCE.test(source));
    if (remote === undefined) continue;
    throw failedPrecondition(
      `${name} line ${instruction.line}: ADD from a URL (${clip(remote)}) is not allowed: the builder would fetch it from the platform's own network. Download it in a RUN step instead (RUN wget -O /dest ${clip(remote)}), or add the file to the repository.`,
    );
  }
}

/** Short, and without the credentials a URL may carry (https://user:token@host/…). */
function clip(text: string): string {
  const shown = text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1***@");
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}
