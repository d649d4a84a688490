/**
 * RPC bodies are bounded (RPC_MAX_BODY_BYTES, 1 MiB by default) on both listeners, compressed
 * and once inflated, before any authentication: a compression bomb sent anonymously is refused at
 * once with ResourceExhausted, and the server does not inflate it. The server is a child process
 * (`obiente up`, the api role), so that its memory is measured alone: its resident set's peak
 * (VmHWM, reset just before each bomb) against its resident set just before.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect as http2Connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { constants, createBrotliCompress, gzipSync } from "node:zlib";
import { type SpawnedPlatform, spawnPlatform } from "./helpers/api.js";

const MiB = 1024 * 1024;
const WHO_AM_I = "/obiente.cloud.auth.v1.AuthService/WhoAmI";
/** The bound on the server's growth while it refuses a bomb. */
const MAX_GROWTH_BYTES = 50 * 1000 * 1000;
/** The bound on the time to refuse one. */
const MAX_REFUSAL_MS = 1_000;

/**
 * `inflated` bytes of JSON whitespace, gzipped as concatenated members of 16 MiB each (a gzip
 * reader inflates every member): 1 GiB makes 1,045,056 bytes, just under 1 MiB, so that the
 * bound on the inflated size is what refuses it, not the bound on the bytes read.
 */
function gzipBomb(inflated: number): Buffer {
  const chunk = 16 * MiB;
  const member = gzipSync(Buffer.alloc(chunk, 0x20), { level: 9 });
  return Buffer.concat(Array.from({ length: inflated / chunk }, () => member));
}

/** 1 GiB of whitespace as one brotli stream (about 190 KB at quality 1). */
async function brotliBomb(inflated: number): Promise<Buffer> {
  const brotli = createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
  const chunks: Buffer[] = [];
  brotli.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    brotli.once("end", resolve);
    brotli.once("error", reject);
  });
  const block = Buffer.alloc(16 * MiB, 0x20);
  for (let done = 0; done < inflated; done += block.length) {
    if (!brotli.write(block)) await new Promise((resolve) => brotli.once("drain", resolve));
  }
  brotli.end();
  await ended;
  return Buffer.concat(chunks);
}

/** A line of /proc/PID/status, in bytes. */
async function procStatus(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  assert.ok(match?.[1], `no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Runs `send` and returns how much the server's resident set peaked above where it was before,
 * and how long `send` took.
 */
async function measured<T>(
  pid: number,
  send: () => Promise<T>,
): Promise<{ result: T; growth: number; ms: number }> {
  const before = await procStatus(pid, "VmRSS");
  // "5" resets the peak (VmHWM) to the current resident set.
  await writeFile(`/proc/${pid}/clear_refs`, "5");
  const started = performance.now();
  const result = await send();
  const ms = performance.now() - started;
  const growth = (await procStatus(pid, "VmHWM")) - before;
  return { result, growth, ms };
}

/** A gRPC call over h2c, by hand: one enveloped, compressed message; the status it ends with. */
function grpcCall(
  grpcUrl: string,
  encoding: string,
  payload: Buffer,
): Promise<{ status: string | undefined; message: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(grpcUrl);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": WHO_AM_I,
      "content-type": "application/grpc+proto",
      ...(encoding === "identity" ? {} : { "grpc-encoding": encoding }),
      te: "trailers",
    });
    let status: string | undefined;
    let message: string | undefined;
    // An answer may come before the whole body was read: the client's writes then wait on
    // flow control forever, so the session is torn down once the status is known.
    const done = () => {
      session.destroy();
      resolve({ status, message });
    };
    const take = (headers: Record<string, unknown>) => {
      if (headers["grpc-status"] === undefined) return;
      status = String(headers["grpc-status"]);
      message = decodeURIComponent(String(headers["grpc-message"] ?? ""));
      done();
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.resume();
    stream.on("error", () => {});
    stream.on("close", done);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(encoding === "identity" ? 0 : 1, 0); // the "compressed" flag
    prefix.writeUInt32BE(payload.length, 1);
    stream.end(Buffer.concat([prefix, payload]));
  });
}

describe("RPC bodies are bounded, compressed and inflated (RPC_MAX_BODY_BYTES)", () => {
  let dataDir: string;
  let server: SpawnedPlatform;
  let pid: number;
  let gzip1GiB: Buffer;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "obiente-limits-"));
    server = await spawnPlatform({ DATA_DIR: dataDir });
    assert.ok(server.child.pid);
    pid = server.child.pid;
    gzip1GiB = gzipBomb(1024 * MiB);
    assert.ok(gzip1GiB.length < MiB, `the bomb is ${gzip1GiB.length} bytes compressed`);
    // Warm-up: the first compressed calls load zlib and compile the paths the bombs take.
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.baseUrl}${WHO_AM_I}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: gzipSync(Buffer.from("{}")),
      });
      assert.equal(response.status, 401, "an anonymous call is unauthenticated");
      await response.body?.cancel();
      await grpcCall(server.grpcUrl, "gzip", gzipSync(Buffer.alloc(0)));
    }
  });

  after(async () => {
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses an anonymous gzip bomb (1 MB that inflate to 1 GiB) to WhoAmI over the Connect protocol", async (t) => {
    const { result, growth, ms } = await measured(pid, async () => {
      const response = await fetch(`${server.baseUrl}${WHO_AM_I}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: new Uint8Array(gzip1GiB),
      });
      return { status: response.status, body: (await response.json()) as { code: string } };
    });
    t.diagnostic(`refused in ${Math.round(ms)} ms; peak growth ${(growth / MiB).toFixed(1)} MiB`);
    assert.equal(result.status, 429, JSON.stringify(result.body));
    assert.equal(result.body.code, "resource_exhausted");
    assert.ok(ms < MAX_REFUSAL_MS, `refused after ${Math.round(ms)} ms`);
    assert.ok(growth < MAX_GROWTH_BYTES, `the server grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it("refuses the same bomb as a gRPC message on GRPC_PORT (h2c)", async (t) => {
    const { result, growth, ms } = await measured(pid, () =>
      grpcCall(server.grpcUrl, "gzip", gzip1GiB),
    );
    t.diagnostic(`refused in ${Math.round(ms)} ms; peak growth ${(growth / MiB).toFixed(1)} MiB`);
    assert.equal(result.status, "8", `grpc-status ${result.status}: ${result.message}`);
    assert.match(result.message ?? "", /readMaxBytes/);
    assert.ok(ms < MAX_REFUSAL_MS, `refused after ${Math.round(ms)} ms`);
    assert.ok(growth < MAX_GROWTH_BYTES, `the server grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it("refuses a brotli bomb (1 GiB inflated) alike", async (t) => {
    const bomb = await brotliBomb(1024 * MiB);
    const { result, growth, ms } = await measured(pid, async () => {
      const response = await fetch(`${server.baseUrl}${WHO_AM_I}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "br" },
        body: new Uint8Array(bomb),
      });
      return { status: response.status, body: (await response.json()) as { code: string } };
    });
    t.diagnostic(`refused in ${Math.round(ms)} ms; peak growth ${(growth / MiB).toFixed(1)} MiB`);
    assert.equal(result.status, 429, JSON.stringify(result.body));
    assert.equal(result.body.code, "resource_exhausted");
    assert.ok(growth < MAX_GROWTH_BYTES, `the server grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it("refuses a plain body over the bound from its Content-Length, on both listeners", async () => {
    const big = Buffer.alloc(2 * MiB, 0x20);
    const response = await fetch(`${server.baseUrl}${WHO_AM_I}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    assert.equal(response.status, 429);
    assert.equal(((await response.json()) as { code: string }).code, "resource_exhausted");
    const grpc = await grpcCall(server.grpcUrl, "identity", big);
    assert.equal(grpc.status, "8", `grpc-status ${grpc.status}: ${grpc.message}`);
  });

  it("still answers compressed calls within the bound, and stays healthy", async () => {
    assert.ok(server.adminToken);
    const response = await fetch(`${server.baseUrl}${WHO_AM_I}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-encoding": "gzip",
        authorization: `Bearer ${server.adminToken}`,
      },
      body: gzipSync(
        Buffer.concat([Buffer.from("{"), Buffer.alloc(512 * 1024, 0x20), Buffer.from("}")]),
      ),
    });
    assert.equal(response.status, 200, await response.text());
    const health = await fetch(`${server.baseUrl}/health`);
    assert.equal(health.status, 200);
  });
});
