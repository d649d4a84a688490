/**
 * What protects the Docker API from the collector, and the collector from a sick engine
 * (docs/architecture.md, "Metrics"): every call is cut at a timeout, retried with exponential backoff, and
 * counted by a circuit breaker that, after consecutive failures, stops calling the engine at all
 * for a while, then lets one trial call through (half-open) to see whether it is back.
 *
 * Only engine trouble counts: a timeout, an unreachable or failing engine. A container that went
 * away between the list and its stats (not_found) is the engine answering well.
 */
import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  halfJitterGenerator,
  handleWhen,
  isBrokenCircuitError,
  isIsolatedCircuitError,
  isTaskCancelledError,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import { DomainError } from "../domain/index.js";

export type BreakerState = "closed" | "open" | "half_open" | "isolated";

export interface EngineGuardOptions {
  /** A quick call (the container list). */
  timeoutMs: number;
  /** A slow call: one container's stats, which the engine measures over about a second. */
  slowTimeoutMs: number;
  attempts: number;
  breakerThreshold: number;
  halfOpenAfterMs: number;
  maxHalfOpenAfterMs: number;
}

export interface EngineGuardStats {
  breaker: BreakerState;
  /** When the breaker last opened, if it is not closed. */
  openedAt: Date | undefined;
  /** The failure that opened it. */
  lastFailure: string | undefined;
  timeouts: number;
  failures: number;
  /** Calls refused without trying because the breaker was open. */
  rejected: number;
  retries: number;
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "isolated",
};

/** Whether an error says the engine is in trouble (as opposed to a refusal of one request). */
export function isEngineFailure(error: unknown): boolean {
  if (isBrokenCircuitError(error) || isIsolatedCircuitError(error)) return false;
  if (isTaskCancelledError(error)) return true;
  if (error instanceof DomainError) {
    return (
      error.kind === "unavailable" ||
      error.kind === "deadline_exceeded" ||
      error.kind === "internal"
    );
  }
  return true;
}

export class EngineGuard {
  private readonly policy;
  private readonly slowPolicy;
  private readonly breaker;
  private openedAt: Date | undefined;
  private lastFailure: string | undefined;
  private timeouts = 0;
  private failures = 0;
  private rejected = 0;
  private retries = 0;
  /** Called on every breaker state change. */
  onStateChange: ((state: BreakerState) => void) | undefined;

  constructor(options: EngineGuardOptions) {
    const engineTrouble = handleWhen(isEngineFailure);
    this.breaker = circuitBreaker(engineTrouble, {
      breaker: new ConsecutiveBreaker(options.breakerThreshold),
      // Half jitter: at least half the delay (decorrelated jitter, the default, can be ~0 and
      // would let trial calls hammer a sick engine).
      halfOpenAfter: new ExponentialBackoff({
        generator: halfJitterGenerator,
        initialDelay: options.halfOpenAfterMs,
        maxDelay: options.maxHalfOpenAfterMs,
      }),
    });
    const retries = retry(engineTrouble, {
      maxAttempts: Math.max(0, options.attempts - 1),
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }),
    });
    const timeouts = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
    const slowTimeouts = timeout(options.slowTimeoutMs, TimeoutStrategy.Aggressive);
    // Outermost first: each attempt is timed, and counted by the breaker; a refusal of the
    // open breaker is not engine trouble, so it is not retried. Both share the breaker.
    this.policy = wrap(retries, this.breaker, timeouts);
    this.slowPolicy = wrap(retries, this.breaker, slowTimeouts);

    timeouts.onTimeout(() => this.timeouts++);
    slowTimeouts.onTimeout(() => this.timeouts++);
    retries.onRetry(() => this.retries++);
    this.breaker.onFailure(({ handled }) => {
      if (handled) this.failures++;
    });
    this.breaker.onBreak((reason) => {
      this.openedAt ??= new Date();
      this.lastFailure =
        "error" in reason ? reason.error.message : "isolated" in reason ? "isolated" : "failure";
    });
    this.breaker.onReset(() => {
      this.openedAt = undefined;
    });
    this.breaker.onStateChange((state) => this.onStateChange?.(STATES[state]));
  }

  get state(): BreakerState {
    return STATES[this.breaker.state];
  }

  /**
   * Runs one engine call under the policy. `signal` (the collector closing) cancels waits and
   * retries; the call gets a signal that aborts when it times out. A `slow` call gets the
   * longer timeout.
   */
  async run<T>(
    call: (signal: AbortSignal) => Promise<T>,
    options: { signal?: AbortSignal; slow?: boolean } = {},
  ): Promise<T> {
    const policy = options.slow ? this.slowPolicy : this.policy;
    try {
      return await policy.execute(({ signal }) => call(signal), options.signal);
    } catch (error) {
      if (isBrokenCircuitError(error)) this.rejected++;
      throw error;
    }
  }

  stats(): EngineGuardStats {
    return {
      breaker: this.state,
      openedAt: this.openedAt,
      lastFailure: this.state === "closed" ? undefined : this.lastFailure,
      timeouts: this.timeouts,
      failures: this.failures,
      rejected: this.rejected,
      retries: this.retries,
    };
  }
}
