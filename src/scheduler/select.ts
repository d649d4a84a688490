/**
 * Selection: of the nodes a pass found feasible, the one with the highest total. Ties go to the
 * lowest node id (nodes come in id order, and only a strictly higher total replaces the best),
 * so the same input always gives the same node, on every controller.
 *
 * A selector is offered each feasible node as the pass scores it, rather than reading a table
 * of totals afterwards: a pass that records nothing for explanations allocates nothing per node.
 */
export interface Selector {
  offer(i: number, total: number): void;
  /** The index of the chosen node, or -1 when no node was offered. */
  readonly chosen: number;
}

class HighestTotal implements Selector {
  chosen = -1;
  private best = Number.NEGATIVE_INFINITY;

  offer(i: number, total: number): void {
    if (total > this.best) {
      this.chosen = i;
      this.best = total;
    }
  }
}

export const highestTotal = (): Selector => new HighestTotal();
