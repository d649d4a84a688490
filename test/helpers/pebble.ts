/**
 * Pebble, Let's Encrypt's test ACME CA (Debian package `pebble`), on free loopback ports with a
 * TLS certificate of its own made with openssl. Validation is skipped (PEBBLE_VA_ALWAYS_VALID),
 * since test domains do not resolve.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually, freePort, stopProcess } from "./caddy.js";

export const pebbleBinary = process.env.PEBBLE_BINARY ?? "pebble";

export interface RunningPebble {
  /** The ACME directory, e.g. https://127.0.0.1:14000/dir. */
  directoryUrl: string;
  /** PEM file of the certificate Pebble serves its API with: ACME clients must trust it. */
  certificatePath: string;
  /** Pebble's issuing root and intermediate (PEM), from its management API. */
  issuingRoot(): Promise<string>;
  issuingIntermediate(): Promise<string>;
  log(): string;
  close(): Promise<void>;
}

export async function startPebble(): Promise<RunningPebble> {
  const dir = await mkdtemp(join(tmpdir(), "obiente-pebble-"));
  let child: ChildProcess | undefined;
  let output = "";
  const close = async () => {
    if (child) await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const certificatePath = join(dir, "cert.pem");
    const keyPath = join(dir, "key.pem");
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      keyPath,
      "-out",
      certificatePath,
    ]);
    const [listen, management, httpPort, tlsPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const configPath = join(dir, "pebble.json");
    await writeFile(
      configPath,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${listen}`,
          managementListenAddress: `127.0.0.1:${management}`,
          certificate: certificatePath,
          privateKey: keyPath,
          httpPort,
          tlsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    const started = spawn(pebbleBinary, ["-config", configPath], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        PEBBLE_VA_ALWAYS_VALID: "1",
        PEBBLE_VA_NOSLEEP: "1",
        // Pebble rejects 5% of nonces by default to exercise clients' retries; not here.
        PEBBLE_WFE_NONCEREJECT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-200_000);
    };
    started.stdout?.on("data", append);
    started.stderr?.on("data", append);

    const ca = await readFile(certificatePath, "utf8");
    const directoryUrl = `https://127.0.0.1:${listen}/dir`;
    await eventually(
      async () => {
        if (started.exitCode !== null) throw new Error(`pebble exited: ${output}`);
        return (await httpsGet(directoryUrl, ca)).includes("newOrder") ? true : undefined;
      },
      15_000,
      "Pebble's directory",
      50,
    );
    const managementUrl = `https://127.0.0.1:${management}`;
    return {
      directoryUrl,
      certificatePath,
      issuingRoot: () => httpsGet(`${managementUrl}/roots/0`, ca),
      issuingIntermediate: () => httpsGet(`${managementUrl}/intermediates/0`, ca),
      log: () => output,
      close,
    };
  } catch (error) {
    await close();
    throw new Error(`could not start Pebble: ${output}`, { cause: error });
  }
}

/** GET over HTTPS, trusting only `ca`. */
function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body}`));
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
  });
}
