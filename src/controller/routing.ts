/**
 * Keeps the edges' configuration equal to the database: reads deployment_routing and the
 * deployment locations, computes the whole route table (a pure function, src/edge) and hands it
 * to every edge, which replaces its configuration whole. Calls that arrive while a sync runs
 * are coalesced into one more sync after it, so the last state always wins.
 */
import type { Logger } from "pino";
import { type EdgeAdapter, type RouteTable, routeTable } from "../edge/index.js";
import { type Db, deploymentLocations, deploymentRouting, domains } from "../store/index.js";

/** The route table of the database: verified domains only (pending custom domains are not served). */
export async function loadRouteTable(db: Db): Promise<RouteTable> {
  const [routes, locations, domainRows] = await Promise.all([
    db.select().from(deploymentRouting),
    db.select().from(deploymentLocations),
    db
      .select({
        domain: domains.domain,
        deploymentId: domains.deploymentId,
        status: domains.status,
      })
      .from(domains),
  ]);
  return routeTable(routes, locations, domainRows);
}

export class RouteSync {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly db: Db,
    private readonly edges: readonly EdgeAdapter[],
    private readonly logger: Logger,
  ) {}

  /** Resolves once a sync that started after this call has finished. */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          const table = await loadRouteTable(this.db);
          await Promise.all(this.edges.map((edge) => edge.apply(table)));
        } while (this.again);
      } catch (error) {
        this.logger.error({ err: error }, "applying routes to the edge failed");
        throw error;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
