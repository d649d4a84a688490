/**
 * A container's or a Swarm service's log lines, read from the engine. Both log endpoints take
 * the same query and answer with the same stream (multiplexed unless the container has a TTY),
 * which log-stream.ts turns into lines.
 */
import { engineError, reasonOf } from "./engine-errors.js";
import { LogDemuxer, type LogLine } from "./log-stream.js";

export interface LogOptions {
  /** The last N lines only. */
  tail?: number;
  /** Lines written at or after this time. */
  since?: Date;
  /** Keep streaming new lines until the container stops or `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** What both log endpoints are asked (dockerode's ContainerLogsOptions, `follow` aside). */
export interface LogQuery {
  stdout: true;
  stderr: true;
  timestamps: true;
  tail?: number;
  /** Seconds since the epoch, with a fraction (unixSeconds). */
  since?: string;
  abortSignal?: AbortSignal;
}

/** One container's or service's log endpoint, and how messages name it. */
export interface LogSource {
  /** The log so far: the stream's bytes in one body. */
  read(query: LogQuery): Promise<unknown>;
  /** The log as it grows: a stream that ends when the container stops or the service goes. */
  follow(query: LogQuery): Promise<NodeJS.ReadableStream & { destroy?: () => void }>;
  /** The container has a TTY: the stream is raw, not multiplexed. */
  tty: boolean;
  /** The engine's address, for messages. */
  endpoint: string;
  /** The source in the failed action's words: "read the logs of <name>". */
  name: string;
  /** What is not found when the engine answers 404 ("container <id>"). */
  what: string;
}

/** Lines of an app's log put in the message of its failure. */
const FAILURE_LOG_LINES = 20;

/**
 * The source's log lines, stdout and stderr, each with the time Docker received it. With
 * `follow`, it goes on until the stream ends or `signal` aborts (then it just ends).
 */
export async function* readLogs(
  source: LogSource,
  options: LogOptions = {},
): AsyncGenerator<LogLine> {
  const { signal } = options;
  const demuxer = new LogDemuxer(source.tty);
  const query: LogQuery = {
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
    ...(options.since ? { since: unixSeconds(options.since) } : {}),
    ...(signal ? { abortSignal: signal } : {}),
  };
  if (!options.follow) {
    let body: unknown;
    try {
      body = await source.read(query);
    } catch (error) {
      throw engineError(error, source.endpoint, `read the logs of ${source.name}`);
    }
    yield* demuxer.push(Buffer.isBuffer(body) ? body : Buffer.from(String(body)));
    yield* demuxer.end();
    return;
  }
  if (signal?.aborted) return;
  const action = `follow the logs of ${source.name}`;
  let stream: NodeJS.ReadableStream & { destroy?: () => void };
  try {
    stream = await source.follow(query);
  } catch (error) {
    if (signal?.aborted) return;
    throw engineError(error, source.endpoint, action, source.what);
  }
  const stop = () => stream.destroy?.();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const chunk of stream) {
      yield* demuxer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    }
    yield* demuxer.end();
  } catch (error) {
    if (!signal?.aborted) throw engineError(error, source.endpoint, action, source.what);
  } finally {
    signal?.removeEventListener("abort", stop);
    stop();
  }
}

/**
 * The end of a failed app's message: its last log lines, that it logged nothing, or why its
 * logs could not be read. `logs` reads them (the runtime's own `logs`).
 */
export async function lastLogLines(
  logs: (options: LogOptions) => AsyncIterable<LogLine>,
): Promise<string> {
  try {
    const lines: string[] = [];
    for await (const entry of logs({ tail: FAILURE_LOG_LINES })) lines.push(entry.line);
    return lines.length > 0 ? `; last log lines:\n${lines.join("\n")}` : "; it logged nothing";
  } catch (error) {
    return `; its logs could not be read: ${reasonOf(error)}`;
  }
}

/** Docker's `since`: seconds since the epoch, with a fraction for sub-second precision. */
function unixSeconds(at: Date): string {
  const ms = at.getTime();
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String((ms - seconds * 1000) * 1_000_000).padStart(9, "0")}`;
}
