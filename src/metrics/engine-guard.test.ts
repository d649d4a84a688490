import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DomainError, notFound, unavailable } from "../domain/errors.js";
import { EngineGuard } from "./engine-guard.js";

const options = {
  timeoutMs: 50,
  slowTimeoutMs: 100,
  attempts: 2,
  breakerThreshold: 3,
  halfOpenAfterMs: 600,
  maxHalfOpenAfterMs: 600,
};

describe("EngineGuard", () => {
  test("opens after consecutive engine failures, then a trial call closes it", async () => {
    const guard = new EngineGuard(options);
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(unavailable("no Docker engine"));
    };
    // Two calls of two attempts each: the 3rd failure opens it, the 4th attempt is refused.
    await assert.rejects(guard.run(failing));
    await assert.rejects(guard.run(failing));
    assert.equal(guard.state, "open");
    assert.equal(calls, 3);
    assert.equal(guard.stats().retries, 2);

    await assert.rejects(guard.run(failing), /circuit breaker is open/i);
    assert.equal(calls, 3, "an open breaker does not call the engine");
    assert.equal(guard.stats().rejected, 2);

    await sleep(650);
    assert.equal(await guard.run(async () => "ok"), "ok");
    assert.equal(guard.state, "closed");
    assert.equal(guard.stats().openedAt, undefined);
  });

  test("times calls out, and timeouts count as engine failures", async () => {
    const guard = new EngineGuard({ ...options, attempts: 1 });
    let aborted = 0;
    const hang = (signal: AbortSignal) =>
      new Promise<never>(() => signal.addEventListener("abort", () => aborted++));
    for (let i = 0; i < 3; i++) await assert.rejects(guard.run(hang));
    assert.equal(guard.state, "open");
    assert.equal(guard.stats().timeouts, 3);
    assert.equal(aborted, 3, "the call's signal is aborted when it times out");
  });

  test("a refusal of one request (not_found) is neither retried nor counted", async () => {
    const guard = new EngineGuard(options);
    let calls = 0;
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        guard.run(() => {
          calls++;
          return Promise.reject(notFound("container x"));
        }),
        (e: unknown) => e instanceof DomainError && e.kind === "not_found",
      );
    }
    assert.equal(calls, 5);
    assert.equal(guard.state, "closed");
  });
});
