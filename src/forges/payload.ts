/**
 * Reading a delivery's JSON body: typed fields by path, and errors that say which field of which
 * delivery is missing, for the person who set the webhook up. Nothing here knows a forge.
 */
import { invalidArgument } from "../domain/index.js";

/** A full commit name: SHA-1 (40 hex) or SHA-256 (64 hex). */
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A commit name that may be abbreviated, as git accepts it (7 hex at least). */
const SOME_SHA = /^[0-9a-f]{7,64}$/;

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** One JSON object of a delivery, with the path it was found at for messages. */
export class Payload {
  private constructor(
    private readonly value: JsonObject,
    /** What the payload is, for messages: `the GitHub "push" delivery`. */
    private readonly what: string,
    /** Where this object sits in the delivery (`pull_request.head.`), for messages. */
    private readonly prefix: string,
  ) {}

  /**
   * The delivery's body as an object. `application/x-www-form-urlencoded` bodies (GitHub's and
   * Gitea's other content type) carry the JSON in their `payload` field.
   */
  static parse(body: Buffer, contentType: string | undefined, what: string): Payload {
    let text = body.toString("utf8");
    if (contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      const payload = new URLSearchParams(text).get("payload");
      if (payload === null) {
        throw invalidArgument(`${what} is form-encoded but has no "payload" field`);
      }
      text = payload;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const detail = error instanceof Error ? `: ${error.message}` : "";
      throw invalidArgument(`${what} is not valid JSON${detail}`);
    }
    if (!isObject(value)) throw invalidArgument(`${what} is not a JSON object`);
    return new Payload(value, what, "");
  }

  /** The value at a dotted path (`head.repo.full_name`), or undefined. */
  get(path: string): unknown {
    let value: unknown = this.value;
    for (const key of path.split(".")) {
      if (!isObject(value) || !Object.hasOwn(value, key)) return undefined;
      value = value[key];
    }
    return value;
  }

  string(path: string): string {
    const value = this.get(path);
    if (typeof value !== "string") throw this.missing(path, "a string");
    return value;
  }

  /** A string with something in it: a branch, a name. */
  nonEmptyString(path: string): string {
    const value = this.string(path);
    if (value.trim() === "") throw this.missing(path, "a non-empty string");
    return value;
  }

  /** The string at `path`; undefined when it is absent, null or not a string. */
  optionalString(path: string): string | undefined {
    const value = this.get(path);
    return typeof value === "string" ? value : undefined;
  }

  optionalBoolean(path: string): boolean | undefined {
    const value = this.get(path);
    return typeof value === "boolean" ? value : undefined;
  }

  /** A positive whole number (a pull request's number). */
  positiveInteger(path: string): number {
    const value = this.get(path);
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw this.missing(path, "a positive whole number");
    }
    return value;
  }

  /** A number or a string, as forges write ids; undefined otherwise. */
  optionalId(path: string): string | undefined {
    const value = this.get(path);
    return typeof value === "number" || typeof value === "string" ? String(value) : undefined;
  }

  /** A full commit sha (40 or 64 hex), lower-cased. */
  commitSha(path: string): string {
    const value = this.string(path).toLowerCase();
    if (!FULL_SHA.test(value)) throw this.missing(path, "a commit sha (40 or 64 hex digits)");
    return value;
  }

  /** A commit sha that may be abbreviated (7 to 64 hex), lower-cased. */
  someCommitSha(path: string): string {
    const value = this.string(path).toLowerCase();
    if (!SOME_SHA.test(value)) throw this.missing(path, "a commit sha (7 to 64 hex digits)");
    return value;
  }

  /** The date at `path`; undefined when absent or unreadable (a commit's date is only shown). */
  optionalDate(path: string): Date | undefined {
    const value = this.optionalString(path);
    if (value === undefined) return undefined;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }

  object(path: string): Payload {
    const value = this.optionalObject(path);
    if (value === undefined) throw this.missing(path, "an object");
    return value;
  }

  /** The object at `path`; undefined when it is absent or null. */
  optionalObject(path: string): Payload | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) throw this.missing(path, "an object");
    return new Payload(value, this.what, `${this.prefix}${path}.`);
  }

  /** The objects of the array at `path`; `[]` when it is absent or null. */
  objects(path: string): Payload[] {
    const value = this.get(path);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.missing(path, "an array");
    return value.map((item, i) => {
      if (!isObject(item)) throw this.missing(`${path}.${i}`, "an object");
      return new Payload(item, this.what, `${this.prefix}${path}.${i}.`);
    });
  }

  /** The objects of the array at `path`, which must be there. */
  requiredObjects(path: string): Payload[] {
    if (!Array.isArray(this.get(path))) throw this.missing(path, "an array");
    return this.objects(path);
  }

  private missing(path: string, expected: string) {
    return invalidArgument(
      `${this.what} has no usable "${this.prefix}${path}" (expected ${expected}); ` +
        "is the webhook sending this forge's JSON payload?",
    );
  }
}
