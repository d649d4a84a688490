/**
 * Text from the server (log lines of builds and apps, names, status messages, errors) is written by
 * tenants: printed raw, its escape sequences would drive the reader's terminal (rewrite the screen
 * or the title, hide or fake lines, set hyperlinks, copy to the clipboard through OSC 52, answer
 * back on some terminals). The CLI prints such text only through `terminalSafe`. Pure.
 */

/**
 * In order: CSI (ESC [ or U+009B, parameters, intermediates, final byte); the string sequences OSC,
 * DCS, SOS, PM and APC (7-bit or C1 introducer) up to their terminator (BEL, ESC \ or U+009C) or to
 * the end of the text when unterminated, as a terminal would swallow it; any other ESC sequence
 * (intermediates and a final byte); then each remaining C0 control but tab and line feed, DEL and
 * each C1 control.
 */
const CONTROL =
  /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)|\x1b[\x20-\x2f]*[\x30-\x7e]?|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** The text without terminal control sequences or control characters; `\n`, `\t` and printable Unicode kept. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, "");
}
