/**
 * The isolation rules as one `iptables-restore --noflush` input for the filter table. Pure: what
 * the node knows in, the text out, the same text for the same knowledge (the firewall compares it
 * with what it installed last).
 *
 * Chains of our own, each declared in the input, which empties it: restoring rebuilds all of them
 * in one transaction, so no packet ever sees half a rule set. Docker's own chains are not touched;
 * two jumps lead into ours (installed apart, see JUMPS):
 *
 * - FORWARD → DOCKER-USER → OBIENTE-ISOLATION: traffic routed through the node.
 *   - replies of allowed connections pass;
 *   - published replica ports (a Swarm node): connections the engine rewrote (DNAT) to a port of
 *     the range go to OBIENTE-PUBLISHED, where only the edge's addresses, and only at the node's
 *     own address, pass;
 *   - tenants' traffic (from a tenant bridge `obt-…`, an older project bridge, or a tenant's
 *     address on a shared bridge) goes to OBIENTE-TENANT: refused to the blocked destinations
 *     (the nodes, link-local, configured ones) and to engine ports anywhere, unless allowed.
 * - INPUT → OBIENTE-ISOLATION-INPUT: traffic to the node itself. A container reaching the host's
 *   own addresses (its bridge's gateway, any other) is delivered here, never through FORWARD, so
 *   DOCKER-USER cannot see it: the API, PostgreSQL, Redis, the engine and the ports Docker's proxy
 *   publishes on the host. Tenants get nothing there but replies and allowed entries.
 *
 * Everything else is left to Docker's rules: DNS, package archives and registries, the internet,
 * and the rest of the private ranges stay reachable.
 */
import { type AllowEntry, isIpv4, isIpv4Cidr } from "./cidr.js";

export const CHAINS = {
  forward: "OBIENTE-ISOLATION",
  input: "OBIENTE-ISOLATION-INPUT",
  tenant: "OBIENTE-TENANT",
  tenantHost: "OBIENTE-TENANT-HOST",
  published: "OBIENTE-PUBLISHED",
} as const;

/** Where our chains hang: each jump first in its built-in (or Docker's) chain. */
export const JUMPS = [
  { from: "DOCKER-USER", to: CHAINS.forward },
  { from: "INPUT", to: CHAINS.input },
] as const;

/** IPv6 (ip6tables): one chain, from INPUT, on Swarm nodes only (isolationRuleset6). */
export const CHAINS6 = { input: CHAINS.input } as const;
export const JUMPS6 = [{ from: "INPUT", to: CHAINS6.input }] as const;

/** icmp-admin-prohibited: the connection fails at once ("no route to host"), and says why. */
const REFUSE = "-j REJECT --reject-with icmp-admin-prohibited";

export interface IsolationInput {
  /** iptables interface names or patterns of tenant bridges: "obt-+", "br-0123456789ab". */
  tenantInterfaces: readonly string[];
  /**
   * A bridge tenants share with others (a Swarm node's docker_gwbridge, the way out of every
   * task): every source on it is a tenant but these addresses.
   */
  sharedBridge?: { interface: string; exempt: readonly string[] } | undefined;
  /** CIDRs tenants may not reach: the nodes, 169.254.0.0/16, configured ones. */
  blockedDestinations: readonly string[];
  /** TCP ports tenants may not reach at any address: the engines'. */
  blockedPorts: readonly number[];
  /** What tenants may reach nonetheless (a user's own database). */
  allow: readonly AllowEntry[];
  /**
   * Published replica ports of a Swarm node: reachable only from `from`, at `address` (the node's
   * address, where routes go). Without `address` (not known yet), from nowhere.
   */
  published?:
    | { range: { from: number; to: number }; address: string | undefined; from: readonly string[] }
    | undefined;
}

/** Throws on anything that is not what the rules take: nothing else reaches iptables' input. */
export function checkIsolationInput(input: IsolationInput): void {
  const bad = (what: string, value: unknown) => {
    throw new Error(`isolation rules: invalid ${what} ${JSON.stringify(value)}`);
  };
  for (const name of input.tenantInterfaces) if (!INTERFACE.test(name)) bad("interface", name);
  if (input.sharedBridge) {
    if (!INTERFACE.test(input.sharedBridge.interface))
      bad("interface", input.sharedBridge.interface);
    for (const address of input.sharedBridge.exempt)
      if (!isIpv4Cidr(address)) bad("address", address);
  }
  for (const cidr of input.blockedDestinations) if (!isIpv4Cidr(cidr)) bad("destination", cidr);
  for (const port of input.blockedPorts) if (!isPort(port)) bad("port", port);
  for (const entry of input.allow) {
    if (!isIpv4Cidr(entry.cidr) || !isPort(entry.port)) bad("allow entry", entry);
  }
  const published = input.published;
  if (published) {
    const { from, to } = published.range;
    if (!isPort(from) || !isPort(to) || from > to) bad("port range", published.range);
    if (published.address !== undefined && !isIpv4(published.address)) {
      bad("address", published.address);
    }
    for (const source of published.from) if (!isIpv4Cidr(source)) bad("edge address", source);
  }
}

/** A Linux interface name (15 characters at most), or a prefix with iptables' `+`. */
const INTERFACE = /^[A-Za-z0-9_.-]{1,15}\+?$/;

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65_535;
}

export function isolationRuleset(input: IsolationInput): string {
  checkIsolationInput(input);
  const lines = ["*filter", ...Object.values(CHAINS).map((chain) => `:${chain} - [0:0]`)];
  const add = (chain: string, rule: string) => lines.push(`-A ${chain} ${rule}`);
  const established = "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN";

  // FORWARD.
  add(CHAINS.forward, established);
  const published = input.published;
  if (published) {
    const { from, to } = published.range;
    add(
      CHAINS.forward,
      `-p tcp -m conntrack --ctstate DNAT --ctorigdstport ${from}:${to} -j ${CHAINS.published}`,
    );
    if (published.address !== undefined) {
      for (const source of unique(published.from)) {
        add(
          CHAINS.published,
          `-s ${source} -m conntrack --ctorigdst ${published.address} -j RETURN`,
        );
      }
    }
    add(CHAINS.published, REFUSE);
  }
  dispatchTenants(
    input,
    (match) => add(CHAINS.forward, `${match} -j ${CHAINS.tenant}`),
    (match) => add(CHAINS.forward, `${match} -j RETURN`),
  );
  for (const rule of allowRules(input.allow)) add(CHAINS.tenant, rule);
  for (const destination of unique(input.blockedDestinations)) {
    add(CHAINS.tenant, `-d ${destination} ${REFUSE}`);
  }
  const ports = unique(input.blockedPorts.map(String));
  // multiport takes at most 15 ports per rule.
  for (let i = 0; i < ports.length; i += 15) {
    add(
      CHAINS.tenant,
      `-p tcp -m multiport --dports ${ports.slice(i, i + 15).join(",")} ${REFUSE}`,
    );
  }

  // INPUT.
  add(CHAINS.input, established);
  dispatchTenants(
    input,
    (match) => add(CHAINS.input, `${match} -j ${CHAINS.tenantHost}`),
    (match) => add(CHAINS.input, `${match} -j RETURN`),
  );
  for (const rule of allowRules(input.allow)) add(CHAINS.tenantHost, rule);
  add(CHAINS.tenantHost, REFUSE);

  lines.push("COMMIT", "");
  return lines.join("\n");
}

/**
 * The IPv6 rules, for a Swarm node's published ports: Docker (20.10) publishes host-mode ports on
 * `[::]` through docker-proxy, without any ip6tables rule, so a node's IPv6 addresses would answer
 * whoever reaches them. The edge and the routes use the nodes' IPv4 addresses (EDGE_ADDRESSES
 * are IPv4): over IPv6 the range answers nobody but the node itself. Undefined when there is
 * nothing to publish (one engine publishes on HOST_ADDRESS only).
 */
export function isolationRuleset6(input: IsolationInput): string | undefined {
  checkIsolationInput(input);
  if (!input.published) return undefined;
  const { from, to } = input.published.range;
  return [
    "*filter",
    `:${CHAINS6.input} - [0:0]`,
    `-A ${CHAINS6.input} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    `-A ${CHAINS6.input} -i lo -j RETURN`,
    `-A ${CHAINS6.input} -p tcp -m tcp --dport ${from}:${to} -j REJECT --reject-with icmp6-adm-prohibited`,
    "COMMIT",
    "",
  ].join("\n");
}

/** An allowed CIDR:PORT in TCP and UDP (a database; a resolver on a node, port 53). */
function allowRules(allow: readonly AllowEntry[]): string[] {
  return allow.flatMap((entry) =>
    ["tcp", "udp"].map(
      (protocol) =>
        `-d ${entry.cidr} -p ${protocol} -m ${protocol} --dport ${entry.port} -j RETURN`,
    ),
  );
}

/** Sends tenants' packets on (`tenant`), lets the shared bridge's exempt sources by (`exempt`). */
function dispatchTenants(
  input: IsolationInput,
  tenant: (match: string) => void,
  exempt: (match: string) => void,
): void {
  for (const name of unique(input.tenantInterfaces)) tenant(`-i ${name}`);
  const shared = input.sharedBridge;
  if (!shared) return;
  for (const address of unique(shared.exempt)) exempt(`-i ${shared.interface} -s ${address}`);
  tenant(`-i ${shared.interface}`);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
