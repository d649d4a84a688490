/**
 * One at a time per key, in this process: `run(key, fn)` starts `fn` once every earlier call for
 * the same key has settled (fulfilled or rejected), and other keys do not wait. The map holds a
 * key only while something runs or waits under it.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // The previous holder's outcome is its caller's to handle; here it only means "done".
    const next = previous.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** How many keys are held now. */
  get size(): number {
    return this.tails.size;
  }
}
