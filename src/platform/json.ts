/**
 * Every platform service stores values as JSON, in memory as in Redis, so that both adapters give
 * the same answers: a caller gets a copy (never a shared reference), and a Date comes back as a
 * string whichever adapter serves.
 */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify returns undefined for undefined, functions and symbols: nothing could be read
  // back, and `undefined` already means "absent" in every get().
  if (text === undefined) throw new TypeError("value is not JSON-serialisable");
  return text;
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
