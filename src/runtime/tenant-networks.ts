/**
 * The networks tenants' code runs on: one bridge per project, and the build network every build
 * step runs on. Pure.
 *
 * Their Linux bridges are named `obt-…` (Docker's option com.docker.network.bridge.name) rather
 * than Docker's `br-<id>`, so that one interface pattern, `obt-+`, matches every one of them in
 * the isolation rules (src/network), also a network made a moment ago, before the firewall's next
 * pass: there is no window in which a new project's containers run without the rules.
 */
import { createHash } from "node:crypto";

/** Every tenant bridge's name starts with this. */
export const TENANT_BRIDGE_PREFIX = "obt-";
/** iptables' interface pattern for all of them (`+` is its wildcard). */
export const TENANT_BRIDGE_PATTERN = `${TENANT_BRIDGE_PREFIX}+`;

/** The network every build step runs on (Docker's build `networkmode`). */
export const BUILD_NETWORK = "obiente-build";
export const BUILD_BRIDGE = `${TENANT_BRIDGE_PREFIX}build`;

/**
 * The bridge of the network `networkName`: `obt-` and 11 hex digits of its name's SHA-256 (Linux
 * allows 15 characters). Deterministic, so that two processes creating the network at once ask
 * for the same bridge and the engine refuses the second instead of making a twin.
 */
export function tenantBridgeName(networkName: string): string {
  if (networkName === BUILD_NETWORK) return BUILD_BRIDGE;
  const digest = createHash("sha256").update(networkName).digest("hex");
  return `${TENANT_BRIDGE_PREFIX}${digest.slice(0, 11)}`;
}
