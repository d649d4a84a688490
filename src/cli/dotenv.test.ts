import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DotenvError, parseDotenv, parsePairs } from "./dotenv.js";

describe(".env files", () => {
  test("plain, exported, commented, quoted and multi-line values", () => {
    const text = [
      "# a comment",
      "",
      "PLAIN=value",
      "export EXPORTED = spaced value  ",
      "WITH_COMMENT=abc # not part of it",
      "HASH_INSIDE=a#b",
      "EMPTY=",
      "SINGLE='keeps \\n and # as they are'",
      'DOUBLE="line\\nbreak \\"quoted\\" \\\\ done" # comment',
      'MULTI="first',
      "second",
      'third"',
      "EQUALS=a=b=c",
      "CRLF=yes\r",
    ].join("\n");
    assert.deepEqual(parseDotenv(text), {
      PLAIN: "value",
      EXPORTED: "spaced value",
      WITH_COMMENT: "abc",
      HASH_INSIDE: "a#b",
      EMPTY: "",
      SINGLE: "keeps \\n and # as they are",
      DOUBLE: 'line\nbreak "quoted" \\ done',
      MULTI: "first\nsecond\nthird",
      EQUALS: "a=b=c",
      CRLF: "yes",
    });
  });

  test("a later line wins", () => {
    assert.deepEqual(parseDotenv("A=1\nA=2\n"), { A: "2" });
  });

  test("errors name the line", () => {
    assert.throws(() => parseDotenv("A=1\njust words\n"), /line 2: expected KEY=VALUE/);
    assert.throws(
      () => parseDotenv('A=1\nB="open\nstill open\n'),
      /line 2: the value of B has no closing "/,
    );
    assert.throws(
      () => parseDotenv("A='x' y"),
      /line 1: unexpected text after the quoted value of A/,
    );
    assert.throws(() => parseDotenv("=x"), DotenvError);
  });

  test("command-line pairs", () => {
    assert.deepEqual(parsePairs(["A=1", "B=x=y", "C="]), { A: "1", B: "x=y", C: "" });
    assert.throws(() => parsePairs(["NOEQUALS"]), /expected KEY=VALUE, got "NOEQUALS"/);
    assert.throws(() => parsePairs(["=v"]), DotenvError);
  });
});
