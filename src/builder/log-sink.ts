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
