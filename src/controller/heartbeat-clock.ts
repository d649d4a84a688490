/**
 * The time at which nodes' heartbeats are judged: the clock, or the newest heartbeat of any node
 * when that is older.
 *
 * Agents write their heartbeats to PostgreSQL. While it fails over (about 25 s on the HA stack)
 * no heartbeat is written anywhere, so judged by the clock every node would be late at once, and
 * the controller would move or fail the deployments of a cluster that is in fact healthy. Judged
 * against the newest heartbeat, a node is late only when it stays silent while others are heard.
 * The price: a node is found late up to one heartbeat interval later than by the clock; and when
 * every agent is silent no node is late (there would be nowhere to move its replicas to anyway).
 * The controller judges by it (which nodes are down, where replicas go); the API's admission
 * check (placementCheck) keeps the clock: a cluster whose agents are all silent takes nothing new.
 */
export function heartbeatClock(nodes: Iterable<{ lastHeartbeat: Date | null }>, now: Date): Date {
  let newest: number | undefined;
  for (const node of nodes) {
    const at = node.lastHeartbeat?.getTime();
    if (at !== undefined && (newest === undefined || at > newest)) newest = at;
  }
  return newest !== undefined && newest < now.getTime() ? new Date(newest) : now;
}
