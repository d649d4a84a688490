/**
 * Docker's log stream, turned into lines. Pure: bytes in, lines out.
 *
 * Without a TTY the engine multiplexes stdout and stderr in frames: an 8-byte header (stream type
 * in byte 0: 1 stdout, 2 stderr; payload size as a big-endian uint32 in bytes 4–7), then the
 * payload. A frame may arrive split over several chunks, or several frames in one chunk. With a
 * TTY the stream is raw and everything is stdout. With `timestamps=true` each line starts with an
 * RFC 3339 timestamp in nanoseconds and a space.
 */

import { StringDecoder } from "node:string_decoder";

export interface LogLine {
  stream: "stdout" | "stderr";
  line: string;
  at: Date;
}

const HEADER_BYTES = 8;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2}) /;

export class LogDemuxer {
  private buffer: Buffer = Buffer.alloc(0);
  /** Text of a line not yet ended by "\n", per stream (a long line comes in several messages). */
  private readonly pending = new Map<LogLine["stream"], { text: string; at: Date }>();
  private lastAt = new Date(0);
  /** TTY mode: raw text of the line being received, decoded across chunk boundaries. */
  private ttyText = "";
  private readonly decoder = new StringDecoder("utf8");

  /** @param tty the container has a TTY: the stream is raw, not multiplexed. */
  constructor(private readonly tty = false) {}

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: Buffer): LogLine[] {
    const lines: LogLine[] = [];
    if (this.tty) {
      // Chunks cut the raw stream anywhere, even inside a timestamp: only whole lines are parsed.
      const parts = (this.ttyText + this.decoder.write(chunk)).split("\n");
      this.ttyText = parts.pop() ?? "";
      for (const part of parts) this.segment("stdout", part, true, lines);
      return lines;
    }
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    while (this.buffer.length - offset >= HEADER_BYTES) {
      const size = this.buffer.readUInt32BE(offset + 4);
      if (this.buffer.length - offset < HEADER_BYTES + size) break;
      const type = this.buffer[offset];
      const payload = this.buffer.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + size);
      offset += HEADER_BYTES + size;
      // 0 is stdin, which a logs request never returns; anything else is treated as stdout.
      this.text(type === 2 ? "stderr" : "stdout", payload.toString("utf8"), lines);
    }
    this.buffer = this.buffer.subarray(offset);
    return lines;
  }

  /** The stream ended: returns the last line if it had no "\n". */
  end(): LogLine[] {
    const lines: LogLine[] = [];
    const ttyRest = this.ttyText + this.decoder.end();
    this.ttyText = "";
    if (ttyRest !== "") this.segment("stdout", ttyRest, true, lines);
    for (const [stream, { text, at }] of this.pending) lines.push({ stream, line: text, at });
    this.pending.clear();
    this.buffer = Buffer.alloc(0);
    return lines;
  }

  /** A frame's payload: one message, or a piece of a long one (no "\n" at its end). */
  private text(stream: LogLine["stream"], text: string, out: LogLine[]): void {
    const parts = text.split("\n");
    const rest = parts.pop() ?? "";
    for (const part of parts) this.segment(stream, part, true, out);
    if (rest !== "") this.segment(stream, rest, false, out);
  }

  /** One piece of a line; `ended` when a "\n" followed it. */
  private segment(stream: LogLine["stream"], raw: string, ended: boolean, out: LogLine[]): void {
    const previous = this.pending.get(stream);
    let content = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    let at = this.lastAt;
    const parsed = parseTimestampPrefix(content);
    if (parsed) {
      at = parsed.at;
      this.lastAt = at;
      content = content.slice(parsed.length);
    }
    // A continuation keeps the time its line began at.
    const merged = previous
      ? { text: previous.text + content, at: previous.at }
      : { text: content, at };
    if (ended) {
      this.pending.delete(stream);
      out.push({ stream, line: merged.text, at: merged.at });
    } else {
      this.pending.set(stream, merged);
    }
  }
}

/** `2024-05-01T10:00:00.123456789Z rest` → the time (millisecond precision) and prefix length. */
export function parseTimestampPrefix(text: string): { at: Date; length: number } | undefined {
  const match = TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [whole, seconds, fraction = "", zone] = match;
  const at = new Date(`${seconds}.${fraction.padEnd(3, "0").slice(0, 3)}${zone}`);
  if (Number.isNaN(at.getTime())) return undefined;
  return { at, length: whole.length };
}

/** The frame header the engine puts before each payload; for tests and fixtures. */
export function frame(stream: "stdout" | "stderr", payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = stream === "stderr" ? 2 : 1;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}
