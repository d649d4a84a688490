/**
 * Waits for `work` at most `ms`. postgres.js keeps a query waiting while its server cannot be
 * reached, so every database call that a loop, a scrape or an RPC waits for is bounded here;
 * the work itself goes on in the background.
 */
export async function within<T>(
  work: Promise<T>,
  ms: number,
): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ done: true as const, value })), expired]);
  } finally {
    clearTimeout(timer);
  }
}
