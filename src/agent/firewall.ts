/**
 * The agent's firewall loop: keeps the isolation rules (src/network/isolation-rules.ts) installed
 * on its node, level-triggered. Every pass reads what the rules are made of again, rebuilds our
 * chains in one `iptables-restore` transaction and makes sure the jumps into them come first in
 * DOCKER-USER and INPUT; a pass changes nothing when all is in place, and puts back whatever was
 * removed or moved (a restarted engine, an operator's flush). Passes run every `intervalMs`, and
 * sooner when the engine says containers or networks changed.
 *
 * When iptables cannot be used (not root, no iptables, an engine without its chains), the loop
 * says so once, at error level, with the reason, and keeps trying: isolation is then missing on
 * this node, and the log line says what that means.
 *
 * close() stops the loop and leaves the rules in place: an agent being restarted or updated must
 * not open the node meanwhile. It releases where the commands ran (the helper container of
 * NETWORK_ISOLATION_EXEC=engine). uninstall() also removes the rules (tests).
 */
import type { Logger } from "pino";
import {
  CHAINS,
  CHAINS6,
  Iptables,
  type IsolationInput,
  isolationRuleset,
  isolationRuleset6,
  JUMPS,
  JUMPS6,
} from "../network/index.js";

export interface NetworkFirewallOptions {
  iptables?: Iptables;
  /** What the rules are made of, read again on every pass. */
  read: () => Promise<IsolationInput>;
  intervalMs: number;
  /** Yields whenever a pass should run sooner (engine events); restarted when it ends. */
  wake?: (signal: AbortSignal) => AsyncIterable<unknown>;
  logger: Logger;
}

/** Coalesces a burst of wake-ups (a deployment starting several containers) into one pass. */
const WAKE_DEBOUNCE_MS = 100;
/** The next pass's delay while the rules lack something only time brings (the node's address). */
const INCOMPLETE_RETRY_MS = 2_000;

export class NetworkFirewall {
  private readonly iptables: Iptables;
  private timer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly stop = new AbortController();
  private passing: Promise<boolean> | undefined;
  private again = false;
  private closed = false;
  /** The condition last logged, so that a lasting one is logged once. */
  private reported: string | undefined;
  private installedRules: string | undefined;
  /** Why ip6tables could not be used, as last logged. */
  private reported6: string | undefined;
  private incomplete = false;
  /** Why the last pass did not install the rules; undefined once they are in place. */
  private problem: string | undefined = "not installed yet";

  constructor(private readonly options: NetworkFirewallOptions) {
    this.iptables = options.iptables ?? new Iptables();
  }

  /** The rules installed by the last successful pass. */
  get rules(): string | undefined {
    return this.installedRules;
  }

  /** Runs the first pass (its outcome logged), then keeps passing until close(). */
  async start(): Promise<boolean> {
    const installed = await this.sync();
    this.schedule();
    void this.watch();
    return installed;
  }

  /**
   * One pass; true when the rules are in place afterwards. A call during a pass runs one more
   * pass after it (what it read may be older than what the caller knows).
   */
  sync(): Promise<boolean> {
    if (this.passing) {
      this.again = true;
      return this.passing;
    }
    const run = async (): Promise<boolean> => {
      let installed = await this.pass();
      while (this.again && !this.closed) {
        this.again = false;
        installed = await this.pass();
      }
      return installed;
    };
    this.passing = run().finally(() => {
      this.passing = undefined;
    });
    return this.passing;
  }

  /**
   * For /health: whether tenants' containers are under the rules now. A node without them still
   * runs (NETWORK_ISOLATION=off is the explicit way to run so), but says it where it is looked at.
   */
  health(): { ok: boolean; detail?: string } {
    return this.problem === undefined
      ? { ok: true }
      : { ok: false, detail: `network isolation is not in force: ${this.problem}` };
  }

  private async pass(): Promise<boolean> {
    const { logger } = this.options;
    try {
      const unusable = await this.iptables.unusable(JUMPS.map((jump) => jump.from));
      if (unusable) {
        this.problem = `iptables cannot be used here: ${unusable}`;
        this.report(`unusable ${unusable}`, () =>
          logger.error(
            { reason: unusable },
            "network isolation could not be installed: containers of projects and builds can reach this node, the cluster's nodes, engine ports and link-local addresses (NETWORK_ISOLATION=off to run without it)",
          ),
        );
        return false;
      }
      const input = await this.options.read();
      // A Swarm node whose own address is not recorded yet refuses its published ports to
      // everyone: look again soon rather than at the next interval.
      this.incomplete = input.published !== undefined && input.published.address === undefined;
      const rules = isolationRuleset(input);
      await this.iptables.restore(rules);
      for (const jump of JUMPS) await this.iptables.ensureFirstJump(jump.from, jump.to);
      const rules6 = isolationRuleset6(input);
      if (rules6 !== undefined) await this.passIpv6(rules6);
      const changed = rules !== this.installedRules;
      this.installedRules = rules;
      this.problem = undefined;
      this.report("installed", () =>
        logger.info({ chains: Object.values(CHAINS) }, "network isolation installed"),
      );
      if (changed) logger.debug({ rules }, "network isolation rules");
      return true;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.problem = `the rules could not be updated: ${reason}`;
      this.report(`failed ${reason}`, () =>
        logger.error({ reason }, "network isolation could not be updated; retrying"),
      );
      return false;
    }
  }

  /** The IPv6 rules; a node where ip6tables cannot be used is said so once, not failed. */
  private async passIpv6(rules: string): Promise<void> {
    const ip6 = this.iptables.family(6);
    const unusable = await ip6.unusable(JUMPS6.map((jump) => jump.from));
    if (unusable) {
      if (this.reported6 !== unusable) {
        this.reported6 = unusable;
        this.options.logger.warn(
          { reason: unusable },
          "ip6tables cannot be used: published replica ports stay open on this node's IPv6 addresses, if it has any",
        );
      }
      return;
    }
    this.reported6 = undefined;
    await ip6.restore(rules);
    for (const jump of JUMPS6) await ip6.ensureFirstJump(jump.from, jump.to);
  }

  private schedule(): void {
    if (this.closed) return;
    const delay = this.incomplete
      ? Math.min(INCOMPLETE_RETRY_MS, this.options.intervalMs)
      : this.options.intervalMs;
    this.timer = setTimeout(() => {
      void this.sync().finally(() => this.schedule());
    }, delay);
  }

  private async watch(): Promise<void> {
    const { wake, logger } = this.options;
    if (!wake) return;
    while (!this.closed) {
      try {
        for await (const _event of wake(this.stop.signal)) {
          if (this.closed) return;
          clearTimeout(this.wakeTimer);
          this.wakeTimer = setTimeout(() => void this.sync(), WAKE_DEBOUNCE_MS);
        }
      } catch (error) {
        if (this.closed) return;
        logger.debug({ err: error }, "engine events for the firewall ended; the interval goes on");
      }
      // The stream ended (the engine went away): the interval keeps passing; listen again later.
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, this.options.intervalMs);
        this.stop.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve(undefined);
          },
          { once: true },
        );
      });
    }
  }

  private report(condition: string, log: () => void): void {
    if (this.reported === condition) return;
    this.reported = condition;
    log();
  }

  /**
   * Stops the loop and releases where its commands run (a helper container); the rules stay.
   * Safe to call twice.
   */
  async close(): Promise<void> {
    await this.halt();
    await this.iptables.close();
  }

  /** Stops the loop, removes the jumps and our chains, then releases as close() does. */
  async uninstall(): Promise<void> {
    await this.halt();
    try {
      await this.removeRules();
    } finally {
      await this.iptables.close();
    }
  }

  private async halt(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    clearTimeout(this.timer);
    clearTimeout(this.wakeTimer);
    await this.passing;
  }

  private async removeRules(): Promise<void> {
    for (const jump of JUMPS) await this.iptables.removeJump(jump.from, jump.to);
    await this.iptables.deleteChains(Object.values(CHAINS));
    const ip6 = this.iptables.family(6);
    // A node without IPv6 support has nothing of ours there: nothing to remove.
    if ((await ip6.unusable(["INPUT"])) === undefined) {
      for (const jump of JUMPS6) await ip6.removeJump(jump.from, jump.to);
      await ip6.deleteChains(Object.values(CHAINS6));
    }
    this.installedRules = undefined;
  }
}
