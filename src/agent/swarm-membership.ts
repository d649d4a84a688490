/**
 * This node's place in the Swarm, as its own engine tells it (`docker info` → Swarm.NodeID and
 * Swarm.ControlAvailable): the node id under which the node's agent records its containers'
 * samples and the node's usage, and whether the engine is a manager, the only kind that can list
 * the Swarm's nodes (SwarmNodeSync). Read again on every refresh, so that a node that joins the
 * Swarm, or is promoted or demoted, is seen as it is now.
 */
import type { Logger } from "pino";
import { type EngineInfo, UNREACHABLE_NODE_ID } from "./heartbeat.js";

export interface SwarmMembershipOptions {
  engine: { readonly endpoint: string; info(): Promise<Pick<EngineInfo, "swarm">> };
  logger: Logger;
}

export class SwarmMembership {
  private current: { nodeId: string; manager: boolean } | undefined;
  private refreshing: Promise<void> | undefined;
  /** What was last logged, so that a lasting condition is logged once. */
  private reported: string | undefined;

  constructor(private readonly options: SwarmMembershipOptions) {}

  /** The Swarm node id, once the engine has said it ("local" until then). */
  get nodeId(): string {
    return this.current?.nodeId ?? UNREACHABLE_NODE_ID;
  }

  /** Whether the engine is a Swarm manager, as it last said (false until it answers). */
  get manager(): boolean {
    return this.current?.manager ?? false;
  }

  /** Asks the engine again; calls during a refresh share it. An engine that does not answer
   * leaves the last known membership as it was. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshNow(): Promise<void> {
    const { engine, logger } = this.options;
    let info: Pick<EngineInfo, "swarm">;
    try {
      info = await engine.info();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.report(`unreachable: ${reason}`, () =>
        logger.warn({ endpoint: engine.endpoint, reason }, "the container engine does not answer"),
      );
      return;
    }
    if (!info.swarm) {
      this.current = undefined;
      this.report("not in a Swarm", () =>
        logger.warn(
          { endpoint: engine.endpoint },
          "RUNTIME=swarm, but the engine is not an active node of a Swarm",
        ),
      );
      return;
    }
    this.current = { ...info.swarm };
    this.report(`${info.swarm.nodeId} ${info.swarm.manager}`, () =>
      logger.info(
        { nodeId: info.swarm?.nodeId, manager: info.swarm?.manager },
        "this node in the Swarm",
      ),
    );
  }

  private report(condition: string, log: () => void): void {
    if (this.reported === condition) return;
    this.reported = condition;
    log();
  }
}
