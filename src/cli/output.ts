/**
 * How the CLI prints: text through `terminalSafe` (the server's text is written by tenants), tables
 * aligned, and JSON for scripts (`--json`), with every control character escaped so that it is
 * both valid JSON and harmless on a terminal.
 */
import { terminalSafe } from "./terminal-text.js";

/** One line of text that may hold the server's text. */
export function out(line: string): void {
  process.stdout.write(`${terminalSafe(line)}\n`);
}

/** A hint for people, on stderr, so that stdout stays what scripts read. */
export function note(line: string): void {
  process.stderr.write(`${terminalSafe(line)}\n`);
}

/**
 * JSON text; JSON.stringify escapes C0 controls but not DEL and the C1 controls (U+0080–U+009F,
 * which some terminals read as CSI and OSC introducers): those are escaped here too.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${jsonText(value)}\n`);
}

/** Rows as aligned columns (the last column is not padded). */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths?.[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}
