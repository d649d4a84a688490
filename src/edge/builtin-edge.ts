/**
 * The built-in edge of the embedded mode: a reverse proxy on one port that routes by Host header
 * and path prefix to the live replicas of each deployment, WebSockets included. No external proxy
 * needed, e.g. for `<name>.localhost` hosts on a laptop.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { EdgeAdapter } from "./edge-adapter.js";
import { edgeForwardedHeaders, isClientClaim } from "./forwarded-headers.js";
import { noDeploymentPage, notRunningPage } from "./pages.js";
import { normalizeHost, type Route, type RouteTable } from "./route-table.js";

export interface BuiltinEdgeOptions {
  /** Address to listen on, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** 0 for any free port. */
  port: number;
  logger?: Logger;
  /** How long to wait for a TCP connection to an upstream before trying the next (default 5 s). */
  connectTimeoutMs?: number;
}

/** A route and its round-robin cursor. */
interface LiveRoute {
  route: Route;
  cursor: number;
}

/** Routes by host, longest path prefix first (the table's order). */
type CompiledTable = Map<string, LiveRoute[]>;

/** Headers that belong to one connection and are not forwarded (RFC 9110, section 7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Methods that may be sent again when a reused keep-alive connection turns out to be closed. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export class BuiltinEdge implements EdgeAdapter {
  private readonly agent = new http.Agent({ keepAlive: true, scheduling: "lifo" });
  private readonly connectTimeoutMs: number;
  private readonly tunnels = new Set<Duplex>();
  private table: CompiledTable = new Map();
  private server: http.Server | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BuiltinEdgeOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  }

  async start(): Promise<{ port: number }> {
    if (this.closing) throw new Error("the built-in edge is closed");
    if (!this.server) {
      const server = http.createServer((req, res) => this.proxyRequest(req, res));
      server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
        this.proxyUpgrade(req, socket, head),
      );
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(this.options.port, this.options.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    }
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    return { port: address.port };
  }

  /** Replaces the whole table at once: a request sees either the old table or the new one. */
  async apply(table: RouteTable): Promise<void> {
    const compiled: CompiledTable = new Map();
    for (const route of table.routes) {
      const previous = this.table
        .get(route.domain)
        ?.find((live) => live.route.pathPrefix === route.pathPrefix);
      const live: LiveRoute = { route, cursor: previous?.cursor ?? 0 };
      const routes = compiled.get(route.domain);
      if (routes) routes.push(live);
      else compiled.set(route.domain, [live]);
    }
    this.table = compiled;
  }

  /** The route a request for this Host header and path goes to, if any. */
  lookup(host: string, path: string): Route | undefined {
    return this.match(host, path)?.route;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const server = this.server;
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
    if (server?.listening) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.agent.destroy();
  }

  private match(host: string, url: string): LiveRoute | undefined {
    const routes = this.table.get(normalizeHost(host));
    if (!routes) return undefined;
    const path = requestPath(url);
    return routes.find((live) => path.startsWith(live.route.pathPrefix));
  }

  /** The route's upstreams, starting at the next one in round-robin order. */
  private pick(live: LiveRoute): string[] {
    const upstreams = live.route.upstreams;
    const start = live.cursor % upstreams.length;
    live.cursor = (start + 1) % upstreams.length;
    return [...upstreams.slice(start), ...upstreams.slice(0, start)];
  }

  private proxyRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const host = normalizeHost(req.headers.host ?? "");
    const live = this.match(host, req.url ?? "/");
    if (!live) sendPage(res, 404, noDeploymentPage(host));
    else if (live.route.upstreams.length === 0) sendPage(res, 502, notRunningPage(host));
    else this.forward(req, res, host, this.pick(live), 0, false);
  }

  /**
   * Sends the request to `upstreams[index]`. A failure to connect moves on to the next upstream;
   * so does a closed keep-alive connection for a bodiless idempotent request (the upstream never
   * saw it). Once the body has started flowing, a failure is the client's 502.
   */
  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    host: string,
    upstreams: string[],
    index: number,
    retriedStale: boolean,
  ): void {
    const upstream = upstreams[index] as string;
    const { hostname, port } = splitHostPort(upstream);
    const bodiless = !hasBody(req);
    const upstreamReq = http.request({
      host: hostname,
      port,
      method: req.method,
      path: req.url,
      headers: forwardedHeaders(req, false),
      agent: this.agent,
    });
    let connected = false;
    let responded = false;
    const timer = setTimeout(
      () => upstreamReq.destroy(new Error(`connect timeout to ${upstream}`)),
      this.connectTimeoutMs,
    );
    const onConnected = () => {
      clearTimeout(timer);
      connected = true;
      if (!bodiless) req.pipe(upstreamReq);
    };
    upstreamReq.once("socket", (socket) => {
      if (socket.connecting) socket.once("connect", onConnected);
      else onConnected();
    });
    // Without a body there is nothing to hold back until the connection is up.
    if (bodiless) upstreamReq.end();

    upstreamReq.once("response", (upstreamRes) => {
      responded = true;
      res.writeHead(
        upstreamRes.statusCode ?? 502,
        upstreamRes.statusMessage,
        withoutHopByHop(upstreamRes.headers),
      );
      upstreamRes.pipe(res);
      upstreamRes.once("error", () => res.destroy());
    });
    res.once("close", () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.on("error", (error) => {
      clearTimeout(timer);
      if (responded || res.destroyed) {
        res.destroy();
        return;
      }
      const stale =
        connected && upstreamReq.reusedSocket && bodiless && IDEMPOTENT.has(req.method ?? "");
      if (stale && !retriedStale) {
        this.forward(req, res, host, upstreams, index, true);
        return;
      }
      this.options.logger?.warn({ err: error, host, upstream }, "edge upstream failed");
      if ((!connected || stale) && index + 1 < upstreams.length) {
        this.forward(req, res, host, upstreams, index + 1, retriedStale);
        return;
      }
      if (!res.headersSent) sendPage(res, 502, notRunningPage(host));
      else res.destroy();
    });
  }

  private proxyUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const host = normalizeHost(req.headers.host ?? "");
    const live = this.match(host, req.url ?? "/");
    if (!live) endWithPage(socket, 404, noDeploymentPage(host));
    else if (live.route.upstreams.length === 0) endWithPage(socket, 502, notRunningPage(host));
    else this.tunnel(req, socket, head, host, this.pick(live), 0);
  }

  /** Opens the upgraded connection to `upstreams[index]` and pipes the two sockets together. */
  private tunnel(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    host: string,
    upstreams: string[],
    index: number,
  ): void {
    const upstream = upstreams[index] as string;
    const { hostname, port } = splitHostPort(upstream);
    const upstreamReq = http.request({
      host: hostname,
      port,
      method: req.method,
      path: req.url,
      headers: forwardedHeaders(req, true),
      agent: false,
    });
    let connected = false;
    const timer = setTimeout(
      () => upstreamReq.destroy(new Error(`connect timeout to ${upstream}`)),
      this.connectTimeoutMs,
    );
    upstreamReq.once("socket", (upstreamSocket) => {
      upstreamSocket.once("connect", () => {
        clearTimeout(timer);
        connected = true;
      });
    });
    const onClientGone = () => upstreamReq.destroy();
    socket.once("close", onClientGone);

    upstreamReq.once("upgrade", (upstreamRes, upstreamSocket, upstreamHead) => {
      socket.off("close", onClientGone);
      socket.write(responseHead(upstreamRes, upstreamRes.headers));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      this.tunnels.add(socket);
      this.tunnels.add(upstreamSocket);
      const teardown = () => {
        socket.destroy();
        upstreamSocket.destroy();
        this.tunnels.delete(socket);
        this.tunnels.delete(upstreamSocket);
      };
      for (const side of [socket, upstreamSocket]) {
        side.once("close", teardown);
        side.once("error", teardown);
      }
      socket.pipe(upstreamSocket).pipe(socket);
    });
    // The upstream declined to upgrade: pass its answer on, and close (the body ends with it).
    upstreamReq.once("response", (upstreamRes) => {
      const headers = withoutHopByHop(upstreamRes.headers);
      headers.connection = "close";
      socket.write(responseHead(upstreamRes, headers));
      upstreamRes.pipe(socket);
    });
    upstreamReq.on("error", (error) => {
      clearTimeout(timer);
      if (socket.destroyed) return;
      this.options.logger?.warn({ err: error, host, upstream }, "edge upstream failed (upgrade)");
      if (!connected && index + 1 < upstreams.length) {
        socket.off("close", onClientGone);
        this.tunnel(req, socket, head, host, upstreams, index + 1);
        return;
      }
      endWithPage(socket, 502, notRunningPage(host));
    });
    upstreamReq.end();
  }
}

function requestPath(url: string): string {
  let path = url;
  if (!path.startsWith("/")) {
    try {
      path = new URL(url).pathname; // absolute-form request target
    } catch {
      return "/";
    }
  }
  const query = path.indexOf("?");
  return query === -1 ? path : path.slice(0, query);
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Host and port of "10.0.0.5:8080" or "[fd00::5]:8080". */
function splitHostPort(upstream: string): { hostname: string; port: number } {
  const colon = upstream.lastIndexOf(":");
  const hostname = upstream.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { hostname, port: Number(upstream.slice(colon + 1)) };
}

/** Names listed in a Connection header are hop-by-hop too. */
function connectionTokens(headers: http.IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const tokens = new Set<string>();
  for (const token of (Array.isArray(value) ? value.join(",") : (value ?? "")).split(",")) {
    const name = token.trim().toLowerCase();
    if (name !== "") tokens.add(name);
  }
  return tokens;
}

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const listed = connectionTokens(headers);
  const kept: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

/**
 * The request's end-to-end headers, the original Host kept, without the client's own claims about
 * who it is (Forwarded, X-Real-IP, X-Forwarded-*, …), plus the edge's: this edge is where requests
 * enter, so it states the peer it accepted and trusts no header about it.
 */
function forwardedHeaders(req: http.IncomingMessage, upgrade: boolean): http.OutgoingHttpHeaders {
  const headers = withoutHopByHop(req.headers);
  for (const name of Object.keys(headers)) if (isClientClaim(name)) delete headers[name];
  Object.assign(
    headers,
    edgeForwardedHeaders({
      address: req.socket.remoteAddress ?? "",
      host: req.headers.host,
      encrypted: "encrypted" in req.socket && req.socket.encrypted === true,
    }),
  );
  if (upgrade) {
    headers.connection = "Upgrade";
    if (req.headers.upgrade !== undefined) headers.upgrade = req.headers.upgrade;
  }
  return headers;
}

function responseHead(res: http.IncomingMessage, headers: http.OutgoingHttpHeaders): string {
  let head = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ""}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) head += `${name}: ${one}\r\n`;
  }
  return `${head}\r\n`;
}

function sendPage(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "cache-control": "no-store",
  });
  res.end(html);
}

function endWithPage(socket: Duplex, status: number, html: string): void {
  const reason = http.STATUS_CODES[status] ?? "";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/html; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(html)}\r\nconnection: close\r\n\r\n${html}`,
  );
}
