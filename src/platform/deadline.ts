/**
 * A request bounded in time: at `timeoutMs` its signal aborts (for requests that take one) and
 * the promise rejects with `late()`'s error, whether or not the request heeded the signal. For
 * calls whose other side can hold a connection open without answering (a Swarm manager whose
 * Raft leader vanished, a Redis behind a lost link).
 */
export async function withDeadline<T>(
  request: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  late: () => Error,
): Promise<T> {
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = late();
      deadline.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([request(deadline.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
