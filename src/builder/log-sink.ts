/** Where build output goes, one line at a time (the build's stored and streamed log). */
export type LogSink = (line: string) => void;

/**
 * Wraps a sink so that one that throws can neither fail a build nor crash the process from inside
 * a stream event handler: logging is best effort.
 */
export function guardLog(onLog: LogSink | undefined): LogSink {
  return (line) => {
    try {
      onLog?.(line);
    } catch {
      // Ignored on purpose, see above.
    }
  };
}

export interface BoundedLogLimits {
  /** Output passed on as it comes (characters), before the log starts cutting. */
  headChars: number;
  /** The end of the output kept past the head, passed on when the log closes. */
  tailChars: number;
}

/**
 * A build's log, bounded whatever the build prints: the first `headChars` go to the sink line by
 * line as they come; after that only the last `tailChars` are kept, and `close()` passes them on
 * after a line saying how much was cut. Nothing it holds grows with the output.
 */
export class BoundedLog {
  private headLeft: number;
  private tail: string[] = [];
  private tailLength = 0;
  private cutChars = 0;
  private closed = false;

  constructor(
    private readonly sink: LogSink,
    private readonly limits: BoundedLogLimits,
  ) {
    this.headLeft = limits.headChars;
  }

  /** Past the head: from now on only the tail is kept. */
  get full(): boolean {
    return this.headLeft <= 0;
  }

  /** How many characters of output were left out so far. */
  get cut(): number {
    return this.cutChars + Math.max(0, this.tailLength - this.limits.tailChars);
  }

  line(line: string): void {
    if (this.closed) return;
    if (this.headLeft > 0) {
      this.headLeft -= line.length + 1;
      this.sink(line);
      if (this.headLeft <= 0) {
        this.sink(
          `[the build's output is over ${formatChars(this.limits.headChars)}: the rest is not shown as it comes; its last ${formatChars(this.limits.tailChars)} are shown when the build ends]`,
        );
      }
      return;
    }
    this.text(`${line}\n`);
  }

  /** Raw output (several lines, or part of one) once the log is full. */
  text(text: string): void {
    if (this.closed || text.length === 0) return;
    if (this.headLeft > 0) {
      const lines = text.split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      for (const line of lines) this.line(line);
      return;
    }
    this.tail.push(text);
    this.tailLength += text.length;
    // Whole pieces that fall out of the tail are dropped as they do; the first one left may
    // still reach past the tail's start, and is trimmed on close.
    while (
      this.tail.length > 1 &&
      this.tailLength - (this.tail[0] as string).length >= this.limits.tailChars
    ) {
      const dropped = this.tail.shift() as string;
      this.tailLength -= dropped.length;
      this.cutChars += dropped.length;
    }
  }

  /** Passes on what was kept of the end, after saying how much was cut. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.tail.length === 0) return;
    let text = this.tail.join("");
    this.tail = [];
    if (text.length > this.limits.tailChars) {
      this.cutChars += text.length - this.limits.tailChars;
      text = text.slice(-this.limits.tailChars);
      // The first line is most likely a piece of one: it counts as cut too.
      const newline = text.indexOf("\n");
      if (newline !== -1) {
        this.cutChars += newline + 1;
        text = text.slice(newline + 1);
      }
    }
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    if (this.cutChars > 0) {
      this.sink(
        `[${formatChars(this.cutChars)} of the build's output cut; the last ${lines.length} line(s) follow]`,
      );
    }
    for (const line of lines) this.sink(line);
    this.tailLength = 0;
  }
}

function formatChars(chars: number): string {
  if (chars >= 1024 * 1024) return `${Math.round((chars / (1024 * 1024)) * 10) / 10} MB`;
  if (chars >= 1024) return `${Math.round((chars / 1024) * 10) / 10} KB`;
  return `${chars} bytes`;
}
