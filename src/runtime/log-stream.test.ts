import assert from "node:assert/strict";
import { test } from "node:test";
import { frame, LogDemuxer, type LogLine, parseTimestampPrefix } from "./log-stream.js";

const T1 = "2026-11-27T04:56:14.089526327Z";
const T2 = "2026-11-27T04:56:15Z";

function simple(lines: LogLine[]): Array<[string, string, string]> {
  return lines.map((l) => [l.stream, l.line, l.at.toISOString()]);
}

test("frames are demultiplexed into stdout and stderr lines with their timestamps", () => {
  const demuxer = new LogDemuxer();
  const lines = demuxer.push(
    Buffer.concat([frame("stdout", `${T1} hello\n`), frame("stderr", `${T2} oops\n`)]),
  );
  assert.deepEqual(simple(lines), [
    ["stdout", "hello", "2026-11-27T04:56:14.089Z"],
    ["stderr", "oops", "2026-11-27T04:56:15.000Z"],
  ]);
  assert.deepEqual(demuxer.end(), []);
});

test("a frame split over chunks, byte by byte, gives the same lines", () => {
  const bytes = Buffer.concat([frame("stdout", `${T1} a\n`), frame("stdout", `${T2} b\n`)]);
  const demuxer = new LogDemuxer();
  const lines: LogLine[] = [];
  for (let i = 0; i < bytes.length; i++) lines.push(...demuxer.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(
    lines.map((l) => l.line),
    ["a", "b"],
  );
});

test("a long line sent as several messages is joined and keeps its first time", () => {
  const demuxer = new LogDemuxer();
  const lines = demuxer.push(
    Buffer.concat([
      frame("stdout", `${T1} part one,`),
      frame("stderr", `${T1} between\n`),
      frame("stdout", `${T2} part two\n`),
    ]),
  );
  assert.deepEqual(simple(lines), [
    ["stderr", "between", "2026-11-27T04:56:14.089Z"],
    ["stdout", "part one,part two", "2026-11-27T04:56:14.089Z"],
  ]);
});

test("the last line without a newline comes out at the end", () => {
  const demuxer = new LogDemuxer();
  assert.deepEqual(demuxer.push(frame("stdout", `${T1} no newline`)), []);
  assert.deepEqual(simple(demuxer.end()), [["stdout", "no newline", "2026-11-27T04:56:14.089Z"]]);
});

test("a TTY stream is raw: all stdout, lines cut anywhere, CRLF trimmed", () => {
  const demuxer = new LogDemuxer(true);
  const text = Buffer.from(`${T1} first\r\n${T2} sécond\r\n${T2} last`, "utf8");
  const lines: LogLine[] = [];
  for (let i = 0; i < text.length; i += 5) lines.push(...demuxer.push(text.subarray(i, i + 5)));
  lines.push(...demuxer.end());
  assert.deepEqual(simple(lines), [
    ["stdout", "first", "2026-11-27T04:56:14.089Z"],
    ["stdout", "sécond", "2026-11-27T04:56:15.000Z"],
    ["stdout", "last", "2026-11-27T04:56:15.000Z"],
  ]);
});

test("timestamp prefixes: nanoseconds, none, offsets, and text that is not one", () => {
  assert.equal(parseTimestampPrefix(`${T1} x`)?.at.toISOString(), "2026-11-27T04:56:14.089Z");
  assert.equal(parseTimestampPrefix(`${T1} x`)?.length, T1.length + 1);
  assert.equal(
    parseTimestampPrefix("2026-11-27T06:56:14.5+02:00 x")?.at.toISOString(),
    "2026-11-27T04:56:14.500Z",
  );
  assert.equal(parseTimestampPrefix("hello world"), undefined);
  assert.equal(parseTimestampPrefix(T1), undefined, "needs the space after it");
});
