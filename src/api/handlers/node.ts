/**
 * NodeService. Any signed-in user may read the nodes, platform administrators see all of them,
 * others what convert.ts's nodeToProto shows tenants; changes are the domain service's to refuse
 * to anyone but a platform administrator.
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { NodeService } from "../../gen/obiente/cloud/node/v1/node_pb.js";
import type { NodeRecord } from "../../nodes/index.js";
import { nodeToProto } from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function nodeHandlers({ nodes }: Domain): ServiceImpl<typeof NodeService> {
  const shown = (ctx: HandlerContext) => {
    const view = principalOf(ctx).platformAdmin ? "admin" : "member";
    return (row: NodeRecord) => nodeToProto(row, view);
  };
  return {
    async listNodes(_req, ctx) {
      return { nodes: (await nodes.list(principalOf(ctx))).map(shown(ctx)) };
    },
    async getNode(req, ctx) {
      return { node: shown(ctx)(await nodes.get(principalOf(ctx), req.id)) };
    },
    async drainNode(req, ctx) {
      return { node: shown(ctx)(await nodes.drain(principalOf(ctx), req.id)) };
    },
    async activateNode(req, ctx) {
      return { node: shown(ctx)(await nodes.activate(principalOf(ctx), req.id)) };
    },
    async labelNode(req, ctx) {
      return {
        node: shown(ctx)(await nodes.label(principalOf(ctx), req.id, req.set, req.remove)),
      };
    },
  };
}
