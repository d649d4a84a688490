/**
 * The Docker engine's answer to POST /build, read as it arrives: newline-delimited JSON messages,
 * each holding a piece of the build's text (`stream`), an error (`error`, `errorDetail`) or other
 * data (`aux`, `status`). The build's steps print whatever they like through it, so nothing here
 * keeps more than a bounded amount of it: a message longer than `maxMessageBytes` is skipped (and
 * counted), a text line longer than `maxLineChars` is cut (and says so).
 */
import type { Readable } from "node:stream";

export interface BuildMessage {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export interface ReadBuildStreamOptions {
  /** The longest JSON message kept; longer ones are skipped whole. */
  maxMessageBytes: number;
  onMessage(message: BuildMessage): void;
  /** A message skipped for its size (its bytes), or one that was not JSON. */
  onSkipped?(bytes: number): void;
}

const NEWLINE = 0x0a;

/**
 * Reads the stream to its end, calling `onMessage` for each JSON message in order. Resolves when
 * the engine closes the answer; rejects when the stream fails (the connection was cut).
 */
export function readBuildStream(source: Readable, options: ReadBuildStreamOptions): Promise<void> {
  const reader = new JsonLineReader(options);
  return new Promise<void>((resolve, reject) => {
    source.on("data", (chunk: Buffer | string) => {
      try {
        reader.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
      } catch (error) {
        source.destroy(error as Error);
      }
    });
    source.once("end", () => {
      try {
        reader.end();
        resolve();
      } catch (error) {
        reject(error);
      }
    });
    source.once("error", reject);
    source.once("close", () => {
      // A stream closed before its end (destroyed by an abort) has nothing more to say.
      if (!source.readableEnded) reject(new Error("the build's output stream was closed early"));
    });
  });
}

/** Splits bytes into lines of JSON, keeping at most `maxMessageBytes` of an unfinished one. */
export class JsonLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside a message already over the limit: its bytes are dropped until its newline. */
  private skipping = false;
  private skippedBytes = 0;

  constructor(private readonly options: ReadBuildStreamOptions) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(start, end));
      if (newline === -1) return;
      this.finishLine();
      start = newline + 1;
    }
  }

  end(): void {
    if (this.pendingBytes > 0 || this.skipping) this.finishLine();
  }

  private take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.skipping) {
      this.skippedBytes += part.length;
      return;
    }
    if (this.pendingBytes + part.length > this.options.maxMessageBytes) {
      this.skipping = true;
      this.skippedBytes = this.pendingBytes + part.length;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copied: the chunk's memory belongs to the stream.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private finishLine(): void {
    if (this.skipping) {
      this.options.onSkipped?.(this.skippedBytes);
      this.skipping = false;
      this.skippedBytes = 0;
      return;
    }
    const text = Buffer.concat(this.pending, this.pendingBytes).toString("utf8").trim();
    this.pending = [];
    this.pendingBytes = 0;
    if (text.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.options.onSkipped?.(Buffer.byteLength(text));
      return;
    }
    if (typeof parsed === "object" && parsed !== null) this.options.onMessage(parsed);
  }
}

/**
 * Splits text that arrives in pieces into lines (`\n` or `\r\n`), cutting a line past
 * `maxLineChars`: the start is kept and the line ends with how much was cut.
 */
export class LineSplitter {
  private partial = "";
  /** Characters of the current line dropped past the limit. */
  private partialCut = 0;

  constructor(private readonly maxLineChars: number) {}

  /** The lines `text` completes. */
  lines(text: string): string[] {
    const out: string[] = [];
    let start = 0;
    while (start <= text.length) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) {
        this.append(text.slice(start));
        break;
      }
      this.append(text.slice(start, newline));
      out.push(this.take());
      start = newline + 1;
    }
    return out;
  }

  /**
   * Follows `text` without making lines of it: only where the current line stands is kept. For
   * output nobody will read line by line (past the log's head).
   */
  skip(text: string): void {
    const newline = text.lastIndexOf("\n");
    if (newline === -1) {
      this.append(text);
      return;
    }
    this.partial = "";
    this.partialCut = 0;
    this.append(text.slice(newline + 1));
  }

  /** The unfinished last line, if any, as a line. */
  flush(): string | undefined {
    if (this.partial.length === 0 && this.partialCut === 0) return undefined;
    return this.take();
  }

  private append(text: string): void {
    if (text.length === 0) return;
    const room = this.maxLineChars - this.partial.length;
    if (text.length <= room) {
      this.partial += text;
      return;
    }
    if (room > 0) this.partial += text.slice(0, room);
    this.partialCut += text.length - Math.max(room, 0);
  }

  private take(): string {
    let line = this.partial.endsWith("\r") ? this.partial.slice(0, -1) : this.partial;
    if (this.partialCut > 0) line += ` [… ${this.partialCut} more characters of this line cut]`;
    this.partial = "";
    this.partialCut = 0;
    return line;
  }
}
