/**
 * What the agent's isolation rules are made of on its node, and the loop that keeps them
 * (docs/security-network.md):
 *
 * - tenants' sources: the node engine's tenant bridges and, on a Swarm node, docker_gwbridge
 *   (src/network/engine-view.ts);
 * - blocked destinations: 169.254.0.0/16, every node address in node_metadata, the hosts of the
 *   engines the platform talks to, the private addresses of the platform's own services (its
 *   PostgreSQL, Redis, registry and OIDC issuer, looked up again at each pass), and
 *   NETWORK_ISOLATION_BLOCK;
 * - blocked ports: NETWORK_ISOLATION_ENGINE_PORTS (2375, 2376) and the ports of those engines;
 * - the allow-list NETWORK_ISOLATION_ALLOW;
 * - on a Swarm node, the published replica ports (PORT_RANGE): reachable only at the node's own
 *   address (its node_metadata row) and only from EDGE_ADDRESSES, by default every node's address
 *   (the edge and the controllers' health checks come from the nodes; tenants cannot, since these
 *   same rules keep them from every node address).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import {
  EngineCommands,
  Iptables,
  type IsolationInput,
  isIpv4,
  isPrivateIpv4,
  LocalCommands,
  normalizeCidr,
  parseAllowEntry,
  readEngineView,
  serviceHosts,
} from "../network/index.js";
import { parseDockerHost } from "../runtime/index.js";
import { type Db, nodeMetadata } from "../store/index.js";
import { NetworkFirewall } from "./firewall.js";

export const LINK_LOCAL = "169.254.0.0/16";

export interface IsolationSettings {
  NETWORK_ISOLATION: "on" | "off";
  NETWORK_ISOLATION_ALLOW: readonly string[];
  NETWORK_ISOLATION_BLOCK: readonly string[];
  NETWORK_ISOLATION_ENGINE_PORTS: readonly number[];
  NETWORK_ISOLATION_INTERVAL_SECONDS: number;
  NETWORK_ISOLATION_NETNS?: string | undefined;
  /** Where iptables runs; `local` when unset. */
  NETWORK_ISOLATION_EXEC?: "local" | "engine" | undefined;
  NETWORK_ISOLATION_IMAGE?: string | undefined;
  EDGE_ADDRESSES?: readonly string[] | undefined;
  PORT_RANGE: { from: number; to: number };
}

/** The cluster as the rules see it: every node's address, and this node's. */
export interface ClusterAddresses {
  nodes: string[];
  self: string | undefined;
}

export interface IsolationReaderOptions {
  docker: Dockerode;
  settings: IsolationSettings;
  /** The engines the platform talks to (DOCKER_HOST, SWARM_NODE_SOCKETS). */
  engines: readonly string[];
  cluster: () => Promise<ClusterAddresses>;
  /** On a Swarm node: its published replica ports get the edge-only rules. */
  swarm: boolean;
  /**
   * The URLs of the platform's own services (DATABASE_URL, METRICS_DATABASE_URL, REDIS_URL,
   * REGISTRY, OIDC_ISSUER): their hosts' private IPv4 addresses are blocked.
   */
  services?: readonly string[];
  /** A host's IPv4 addresses (the system's resolver by default). */
  lookup?: (host: string) => Promise<string[]>;
  /** Told when a service's host cannot be looked up (the pass goes on without it). */
  onLookupError?: (host: string, error: unknown) => void;
}

const systemLookup = async (host: string): Promise<string[]> =>
  (await dnsLookup(host, { all: true, family: 4 })).map((entry) => entry.address);

/** The private IPv4 addresses of the hosts the service URLs name, as /32s. */
async function privateServiceAddresses(
  urls: readonly string[],
  lookup: (host: string) => Promise<string[]>,
  onError: (host: string, error: unknown) => void,
): Promise<string[]> {
  const hosts = [...new Set(urls.flatMap(serviceHosts))];
  const found = await Promise.all(
    hosts.map(async (host) => {
      if (isIpv4(host)) return [host];
      try {
        return await lookup(host);
      } catch (error) {
        onError(host, error);
        return [];
      }
    }),
  );
  return [...new Set(found.flat().filter(isPrivateIpv4))].map((address) => `${address}/32`);
}

/** Reads what the rules are made of now. */
export function isolationReader(options: IsolationReaderOptions): () => Promise<IsolationInput> {
  const { settings } = options;
  const allow = settings.NETWORK_ISOLATION_ALLOW.map((entry) => {
    const parsed = parseAllowEntry(entry);
    if (!parsed) throw new Error(`NETWORK_ISOLATION_ALLOW: "${entry}" is not CIDR:PORT`);
    return parsed;
  });
  const engineHosts: string[] = [];
  const enginePorts: number[] = [];
  for (const engine of options.engines) {
    const address = parseDockerHost(engine);
    if (address.scheme === "unix") continue;
    if (isIpv4(address.host)) engineHosts.push(`${address.host}/32`);
    enginePorts.push(Number(address.port));
  }
  const configured = settings.NETWORK_ISOLATION_BLOCK.map(normalizeCidr);
  return async () => {
    const [view, cluster, services] = await Promise.all([
      readEngineView(options.docker),
      options.cluster(),
      privateServiceAddresses(
        options.services ?? [],
        options.lookup ?? systemLookup,
        options.onLookupError ?? (() => {}),
      ),
    ]);
    const nodes = cluster.nodes.filter(usable).map((address) => `${address}/32`);
    return {
      tenantInterfaces: view.tenantInterfaces,
      sharedBridge: view.sharedBridge,
      blockedDestinations: [
        ...new Set([LINK_LOCAL, ...nodes, ...engineHosts, ...services, ...configured]),
      ],
      blockedPorts: [...new Set([...settings.NETWORK_ISOLATION_ENGINE_PORTS, ...enginePorts])],
      allow,
      ...(options.swarm
        ? {
            published: {
              range: settings.PORT_RANGE,
              address:
                cluster.self !== undefined && usable(cluster.self) ? cluster.self : undefined,
              from: settings.EDGE_ADDRESSES?.map(normalizeCidr) ?? nodes,
            },
          }
        : {}),
    };
  };
}

/** An IPv4 address a packet can be sent to (not empty, not loopback). */
function usable(address: string): boolean {
  return isIpv4(address) && !address.startsWith("127.") && address !== "0.0.0.0";
}

/** The nodes' addresses from node_metadata; `nodeId` names this node's row. */
export function clusterFromDb(db: Db, nodeId: () => string): () => Promise<ClusterAddresses> {
  return async () => {
    const rows = await db
      .select({ id: nodeMetadata.id, address: nodeMetadata.address })
      .from(nodeMetadata);
    return {
      nodes: rows.map((row) => row.address),
      self: rows.find((row) => row.id === nodeId())?.address,
    };
  };
}

/** Engine events after which tenants' sources may have changed. */
export function isolationWake(docker: Dockerode) {
  return async function* (signal: AbortSignal): AsyncGenerator<unknown> {
    const stream = (await docker.getEvents({
      filters: JSON.stringify({
        type: ["container", "network"],
        event: ["start", "die", "destroy", "create", "connect", "disconnect"],
      }),
      abortSignal: signal,
    } as Dockerode.GetEventsOptions)) as NodeJS.ReadableStream;
    try {
      for await (const chunk of stream) yield chunk;
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  };
}

/**
 * Where the agent's iptables commands run (NETWORK_ISOLATION_EXEC): its own process, in
 * NETWORK_ISOLATION_NETNS if set; or a helper container on its engine, in that engine's host
 * namespace (src/network/engine-commands.ts).
 */
export function isolationIptables(
  settings: IsolationSettings,
  docker: Dockerode,
  logger?: Logger,
): Iptables {
  return new Iptables({
    commands:
      settings.NETWORK_ISOLATION_EXEC === "engine"
        ? new EngineCommands({ docker, image: settings.NETWORK_ISOLATION_IMAGE, logger })
        : new LocalCommands(settings.NETWORK_ISOLATION_NETNS),
  });
}

export interface NetworkIsolationOptions extends IsolationReaderOptions {
  logger: Logger;
}

/**
 * Starts the firewall loop when NETWORK_ISOLATION is on (its first pass done); undefined when off.
 */
export async function startNetworkIsolation(
  options: NetworkIsolationOptions,
): Promise<NetworkFirewall | undefined> {
  const { settings, logger } = options;
  if (settings.NETWORK_ISOLATION === "off") {
    logger.warn(
      "NETWORK_ISOLATION=off: containers of projects and builds can reach this node, the cluster's nodes, engine ports and link-local addresses",
    );
    return undefined;
  }
  const lookupFailed = new Set<string>();
  const firewall = new NetworkFirewall({
    iptables: isolationIptables(settings, options.docker, logger),
    read: isolationReader({
      onLookupError: (host, error) => {
        // Said once per host: the pass goes on, and the next one looks it up again.
        if (lookupFailed.has(host)) return;
        lookupFailed.add(host);
        logger.warn(
          { host, err: error },
          "a platform service's host could not be looked up: its address is not blocked for tenants until it can",
        );
      },
      ...options,
    }),
    intervalMs: settings.NETWORK_ISOLATION_INTERVAL_SECONDS * 1000,
    wake: isolationWake(options.docker),
    logger,
  });
  await firewall.start();
  return firewall;
}
