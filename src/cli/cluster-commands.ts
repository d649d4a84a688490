/**
 * The CLI's cluster commands: `nodes` (list, drain, activate) and `explain <deployment>`, which
 * shows why the scheduler put a deployment where it is: every node's verdict, the constraint a
 * rejected node failed, the scores of the others.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  type Deployment,
  DeploymentService,
  type ExplainPlacementResponse,
  PlacementStrategy,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { type Node, NodeAvailability, NodeService } from "../gen/obiente/cloud/node/v1/node_pb.js";
import { transportFor } from "./client.js";
import { loadCredentials } from "./credentials.js";
import { resolveDeployment } from "./deploy-commands.js";
import { nodeJson } from "./json-shapes.js";
import { out, printJson, table } from "./output.js";

const GIB = 1024 ** 3;

async function clients() {
  const transport = transportFor(await loadCredentials());
  return {
    deployments: createClient(DeploymentService, transport),
    nodes: createClient(NodeService, transport),
  };
}

export function availabilityName(availability: NodeAvailability): string {
  return NodeAvailability[availability]?.toLowerCase() ?? "unknown";
}

export function strategyName(strategy: PlacementStrategy): string {
  return strategy === PlacementStrategy.UNSPECIFIED
    ? "platform default"
    : (PlacementStrategy[strategy]?.toLowerCase().replaceAll("_", "-") ?? "unknown");
}

/** `obiente nodes`: one line per node, then why the ones that are down are down. */
export function formatNodes(nodes: readonly Node[], now: Date): string[] {
  if (nodes.length === 0) return ["no nodes"];
  const rows = nodes.map((node) => {
    const heartbeat = node.lastHeartbeat
      ? `${Math.max(0, Math.round((now.getTime() - timestampDate(node.lastHeartbeat).getTime()) / 1000))}s ago`
      : "never";
    const capacity = node.capacity
      ? `${node.capacity.cpuCores} CPU, ${(Number(node.capacity.memoryBytes) / GIB).toFixed(1)} GiB`
      : "";
    const labels = Object.entries(node.labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    // Hostname, address, role and labels come to platform administrators only.
    return [
      node.hostname || node.name || "?",
      node.id.slice(0, 12),
      node.address || "-",
      node.role || "-",
      availabilityName(node.availability),
      capacity,
      `${node.deploymentCount}/${node.capacity?.maxDeployments ?? "?"}`,
      heartbeat,
      labels || "-",
    ];
  });
  const header = [
    "HOSTNAME",
    "ID",
    "ADDRESS",
    "ROLE",
    "AVAILABILITY",
    "CAPACITY",
    "DEPLOYED",
    "HEARTBEAT",
    "LABELS",
  ];
  const lines = table([header, ...rows]);
  for (const node of nodes) {
    if (node.statusMessage) {
      lines.push(`${node.hostname || node.name || node.id}: ${node.statusMessage}`);
    }
  }
  return lines;
}

/** `obiente explain`: the decision, then every node's verdict, the chosen ones marked. */
export function formatPlacement(
  deployment: Pick<Deployment, "id" | "name">,
  placement: ExplainPlacementResponse,
  hostnames: ReadonlyMap<string, string>,
): string[] {
  const when = placement.decidedAt ? timestampDate(placement.decidedAt).toISOString() : "never";
  const lines = [
    `${deployment.name} (${deployment.id})`,
    `  strategy: ${strategyName(placement.strategy)}, decided ${when}`,
  ];
  for (const verdict of placement.nodes) {
    const name = hostnames.get(verdict.nodeId) ?? verdict.nodeId.slice(0, 12);
    const mark = verdict.selected ? "✓" : verdict.feasible ? " " : "✗";
    const detail = verdict.feasible
      ? Object.entries(verdict.scores)
          .map(([scorer, score]) => `${scorer}=${Number(score.toFixed(3))}`)
          .join(" ")
      : verdict.reason;
    lines.push(`  ${mark} ${name.padEnd(16)} ${detail}`);
  }
  if (!placement.decidedAt) {
    lines.push("  not placed by the scheduler: placement is decided on a cluster (RUNTIME=swarm)");
  } else if (placement.nodes.some((v) => v.selected)) lines.push("  ✓ chosen");
  else if (placement.nodes.length > 0 && placement.nodes.every((v) => !v.feasible)) {
    lines.push("  no node could take it");
  }
  return lines;
}

/** A node by id, id prefix or hostname. */
async function findNode(nodes: Client<typeof NodeService>, ref: string): Promise<Node> {
  const { nodes: all } = await nodes.listNodes({});
  const matches = all.filter(
    (n) => n.id === ref || n.hostname === ref || n.name === ref || n.id.startsWith(ref),
  );
  if (matches.length === 0) throw new Error(`no node "${ref}"`);
  if (matches.length > 1) throw new Error(`"${ref}" names several nodes: use the id`);
  return matches[0] as Node;
}

export function registerClusterCommands(program: Command) {
  const nodes = program.command("nodes").description("the cluster's nodes");
  nodes
    .command("ls", { isDefault: true })
    .description("list the nodes: availability, capacity, deployments, heartbeat, labels")
    .option("--json", "print JSON (an array of nodes)")
    .action(async (o: { json?: boolean }) => {
      const c = await clients();
      const { nodes: all } = await c.nodes.listNodes({});
      if (o.json) return printJson(all.map(nodeJson));
      for (const line of formatNodes(all, new Date())) out(line);
    });
  nodes
    .command("drain <node>")
    .description("move the node's deployments elsewhere, then drain it in Swarm (administrators)")
    .action(async (ref: string) => {
      const c = await clients();
      const { node } = await c.nodes.drainNode({ id: (await findNode(c.nodes, ref)).id });
      out(`${node?.hostname ?? ref}: ${availabilityName(node?.availability ?? 0)}`);
    });
  nodes
    .command("activate <node>")
    .description("let the node take deployments again (administrators)")
    .action(async (ref: string) => {
      const c = await clients();
      const { node } = await c.nodes.activateNode({ id: (await findNode(c.nodes, ref)).id });
      out(`${node?.hostname ?? ref}: ${availabilityName(node?.availability ?? 0)}`);
    });

  program
    .command("explain <deployment>")
    .description("why the scheduler placed a deployment where it runs: every node's verdict")
    .option("--org <id|slug>", "the organization, to find a deployment by name")
    .action(async (ref: string, o: { org?: string }) => {
      const c = await clients();
      const deployment = await resolveDeployment(ref, o.org);
      const [placement, { nodes: all }] = await Promise.all([
        c.deployments.explainPlacement({ deploymentId: deployment.id }),
        c.nodes.listNodes({}),
      ]);
      const hostnames = new Map(all.map((n) => [n.id, n.hostname || n.name]));
      for (const line of formatPlacement(deployment, placement, hostnames)) out(line);
    });
}
