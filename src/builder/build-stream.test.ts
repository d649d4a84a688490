import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import {
  type BuildMessage,
  JsonLineReader,
  LineSplitter,
  readBuildStream,
} from "./build-stream.js";
import { BoundedLog } from "./log-sink.js";

describe("JsonLineReader", () => {
  it("joins messages split across chunks and skips what is not JSON", () => {
    const messages: BuildMessage[] = [];
    const skipped: number[] = [];
    const reader = new JsonLineReader({
      maxMessageBytes: 1024,
      onMessage: (m) => messages.push(m),
      onSkipped: (n) => skipped.push(n),
    });
    reader.push(Buffer.from('{"stream":"a\\n"}\r\n{"str'));
    reader.push(Buffer.from('eam":"b"}\nnot json\n'));
    reader.push(Buffer.from('{"error":"boom"}'));
    reader.end();
    assert.deepEqual(messages, [{ stream: "a\n" }, { stream: "b" }, { error: "boom" }]);
    assert.deepEqual(skipped, [8]);
  });

  it("skips a message over the limit whole, keeping nothing of it", () => {
    const messages: BuildMessage[] = [];
    const skipped: number[] = [];
    const reader = new JsonLineReader({
      maxMessageBytes: 100,
      onMessage: (m) => messages.push(m),
      onSkipped: (n) => skipped.push(n),
    });
    reader.push(Buffer.from(`{"stream":"${"x".repeat(80)}`));
    reader.push(Buffer.from(`${"x".repeat(1000)}"}\n{"stream":"ok"}\n`));
    assert.deepEqual(messages, [{ stream: "ok" }]);
    assert.deepEqual(skipped, [11 + 80 + 1000 + 2]);
  });

  it("reads a stream to its end", async () => {
    const messages: BuildMessage[] = [];
    await readBuildStream(Readable.from([Buffer.from('{"stream":"x"}\n{"stream":"y"}\n')]), {
      maxMessageBytes: 100,
      onMessage: (m) => messages.push(m),
    });
    assert.deepEqual(messages, [{ stream: "x" }, { stream: "y" }]);
  });
});

describe("LineSplitter", () => {
  it("makes lines of pieces, CRLF included", () => {
    const lines = new LineSplitter(100);
    assert.deepEqual(lines.lines("a\r\nb"), ["a"]);
    assert.deepEqual(lines.lines("c\n\nd"), ["bc", ""]);
    assert.equal(lines.flush(), "d");
    assert.equal(lines.flush(), undefined);
  });

  it("cuts a line past the limit and says how much", () => {
    const lines = new LineSplitter(10);
    assert.deepEqual(lines.lines("0123456789abc"), []);
    assert.deepEqual(lines.lines("def\nnext\n"), [
      "0123456789 [… 6 more characters of this line cut]",
      "next",
    ]);
  });

  it("follows text it skips, so the next line starts where it should", () => {
    const lines = new LineSplitter(100);
    lines.skip("y\ny\nStep");
    assert.deepEqual(lines.lines(" 2/2 : RUN x\n"), ["Step 2/2 : RUN x"]);
  });
});

describe("BoundedLog", () => {
  it("passes everything on while it fits", () => {
    const out: string[] = [];
    const log = new BoundedLog((l) => out.push(l), { headChars: 100, tailChars: 50 });
    log.line("one");
    log.line("two");
    log.close();
    assert.deepEqual(out, ["one", "two"]);
  });

  it("keeps the head and the tail, and says what was cut", () => {
    const out: string[] = [];
    const log = new BoundedLog((l) => out.push(l), { headChars: 20, tailChars: 20 });
    for (let i = 0; i < 1000; i++) log.line(`line ${i}`);
    log.close();
    log.close();
    assert.deepEqual(out.slice(0, 3), ["line 0", "line 1", "line 2"]);
    assert.match(out[3] ?? "", /^\[the build's output is over 20 bytes/);
    assert.match(
      out[4] ?? "",
      /^\[[\d.]+ KB of the build's output cut; the last 2 line\(s\) follow\]$/,
    );
    assert.deepEqual(out.slice(5), ["line 998", "line 999"]);
    const total = out.reduce((sum, l) => sum + l.length, 0);
    assert.ok(total < 300, `bounded: ${total}`);
  });

  it("keeps only the end of raw text once full", () => {
    const out: string[] = [];
    const log = new BoundedLog((l) => out.push(l), { headChars: 1, tailChars: 8 });
    log.line("head");
    for (let i = 0; i < 10_000; i++) log.text("y\n");
    log.text("end\n");
    log.close();
    assert.deepEqual(out.slice(-3), ["y", "y", "end"]);
    assert.ok(out.length < 8);
  });
});
