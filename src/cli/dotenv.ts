/**
 * `obiente env set --from-file .env`: the `.env` format as the common tools read it. One
 * `KEY=VALUE` per line, optionally after `export `; blank lines and `#` comments skipped. A value
 * is taken as written (trimmed, a ` #` comment after it dropped), or quoted: 'single' quotes keep
 * everything as it is, "double" quotes understand \n, \r, \t, \" and \\; both may span lines.
 * Keys are checked by the server. Pure.
 */

export class DotenvError extends Error {
  override readonly name = "DotenvError";
}

const ASSIGNMENT = /^\s*(?:export\s+)?([^\s=#]+)\s*=\s*(.*)$/s;
const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

export function parseDotenv(text: string): Record<string, string> {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const vars: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const match = ASSIGNMENT.exec(line);
    if (!match) throw new DotenvError(`line ${i + 1}: expected KEY=VALUE`);
    const key = match[1] as string;
    let rest = match[2] as string;
    const quote = rest[0];
    if (quote !== '"' && quote !== "'") {
      vars[key] = rest.replace(/\s+#.*$/, "").trim();
      continue;
    }
    // A quoted value: read on, across lines, to the closing quote.
    const startLine = i + 1;
    let value = "";
    let at = 1;
    for (;;) {
      const c = rest[at];
      if (c === undefined) {
        i++;
        if (i >= lines.length) {
          throw new DotenvError(`line ${startLine}: the value of ${key} has no closing ${quote}`);
        }
        value += "\n";
        rest = lines[i] ?? "";
        at = 0;
        continue;
      }
      if (c === quote) break;
      if (quote === '"' && c === "\\") {
        const next = rest[at + 1];
        if (next !== undefined && next in ESCAPES) {
          value += ESCAPES[next];
          at += 2;
          continue;
        }
      }
      value += c;
      at++;
    }
    const after = rest.slice(at + 1).trim();
    if (after !== "" && !after.startsWith("#")) {
      throw new DotenvError(`line ${i + 1}: unexpected text after the quoted value of ${key}`);
    }
    vars[key] = value;
  }
  return vars;
}

/** `KEY=VALUE` arguments of the command line; the value may hold `=` and be empty. */
export function parsePairs(pairs: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new DotenvError(`expected KEY=VALUE, got "${pair}"`);
    vars[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return vars;
}
