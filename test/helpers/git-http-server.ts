/**
 * A real git server over HTTPS on loopback that needs a password: `git http-backend` (git's own
 * smart-HTTP CGI program) behind a small node https server that checks HTTP basic auth against
 * the credential it is given (which a test may change), with a self-signed certificate for
 * 127.0.0.1 (give `caFile` to git as GIT_SSL_CAINFO). It records every Authorization header it
 * saw, so that a test can tell which credentials a client tried.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface GitHttpServer {
  /** `https://127.0.0.1:<port>/<name>.git`, without a credential. */
  url: string;
  caFile: string;
  /** What the server accepts now. */
  credential: { username: string; password: string };
  /** Requests answered 401 and requests let through. */
  refused: number;
  served: number;
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /**
   * Speak git's protocol v0 only, as older servers do: the client's request for v2 is not passed
   * to git, so that upload-pack serves only what it advertises (the branches' heads) unless the
   * repository's uploadpack.allow*SHA1InWant says otherwise.
   */
  protocolV0?: boolean;
}

/** Serves the bare repository `bareRepo` (a folder named `<name>.git`) over HTTPS. */
export async function startGitHttpServer(
  bareRepo: string,
  credential: { username: string; password: string },
  options: GitHttpServerOptions = {},
): Promise<GitHttpServer> {
  const dir = await mkdtemp(join(tmpdir(), "obiente-git-https-"));
  const keyFile = join(dir, "key.pem");
  const caFile = join(dir, "cert.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    caFile,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  const projectRoot = join(bareRepo, "..");
  const name = bareRepo.split("/").pop() ?? "repo.git";

  const state: GitHttpServer = {
    url: "",
    caFile,
    credential,
    refused: 0,
    served: 0,
    close: async () => undefined,
  };

  const server = https.createServer(
    { key: await readFile(keyFile), cert: await readFile(caFile) },
    (request, response) => {
      const expected = `Basic ${Buffer.from(`${state.credential.username}:${state.credential.password}`).toString("base64")}`;
      if (request.headers.authorization !== expected) {
        state.refused++;
        response.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' });
        response.end("authentication required\n");
        return;
      }
      state.served++;
      const url = new URL(request.url ?? "/", "https://127.0.0.1");
      const cgi = spawn("git", ["http-backend"], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          GIT_PROJECT_ROOT: projectRoot,
          GIT_HTTP_EXPORT_ALL: "1",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_CONFIG_GLOBAL: "/dev/null",
          REQUEST_METHOD: request.method ?? "GET",
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: request.headers["content-type"] ?? "",
          HTTP_CONTENT_ENCODING: request.headers["content-encoding"] ?? "",
          GIT_PROTOCOL: options.protocolV0 ? "" : String(request.headers["git-protocol"] ?? ""),
          REMOTE_USER: state.credential.username,
          REMOTE_ADDR: "127.0.0.1",
        },
        stdio: ["pipe", "pipe", "ignore"],
      });
      request.pipe(cgi.stdin);
      // The CGI answer: header lines, a blank line, then the body.
      let head = Buffer.alloc(0);
      let headerDone = false;
      cgi.stdout.on("data", (chunk: Buffer) => {
        if (headerDone) {
          response.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        headerDone = true;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
          const colon = line.indexOf(":");
          if (colon === -1) continue;
          const key = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (key.toLowerCase() === "status") status = Number.parseInt(value, 10);
          else headers[key] = value;
        }
        response.writeHead(status, headers);
        response.write(head.subarray(end + 4));
      });
      cgi.on("close", () => {
        if (!headerDone) response.writeHead(502);
        response.end();
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `https://127.0.0.1:${port}/${name}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  };
  return state;
}
