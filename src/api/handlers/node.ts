import type { ServiceImpl } from "@connectrpc/connect";
import type { NodeService } from "../../gen/obiente/cloud/node/v1/node_pb.js";
import { nodeToProto } from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function nodeHandlers({ nodes }: Domain): ServiceImpl<typeof NodeService> {
  return {
    async listNodes(_req, ctx) {
      return { nodes: (await nodes.list(principalOf(ctx))).map(nodeToProto) };
    },
    async getNode(req, ctx) {
      return { node: nodeToProto(await nodes.get(principalOf(ctx), req.id)) };
    },
    async drainNode(req, ctx) {
      return { node: nodeToProto(await nodes.drain(principalOf(ctx), req.id)) };
    },
    async activateNode(req, ctx) {
      return { node: nodeToProto(await nodes.activate(principalOf(ctx), req.id)) };
    },
    async labelNode(req, ctx) {
      return {
        node: nodeToProto(await nodes.label(principalOf(ctx), req.id, req.set, req.remove)),
      };
    },
  };
}
