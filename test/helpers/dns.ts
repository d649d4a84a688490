/**
 * A real DNS server for tests: Debian's dnsmasq (package dnsmasq-base, installed by
 * scripts/services.sh) on 127.0.0.1, on a free port, answering for names under `.test` only:
 * the TXT records the test gives, NXDOMAIN for every other name there, and nothing it forwards
 * anywhere (no upstream servers). dnsmasq reads TXT records from its command line only, so
 * `setTxtRecords` restarts it on the same port with the new set.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { freePort, stopProcess } from "./caddy.js";

export const dnsmasqBinary = process.env.DNSMASQ_BINARY ?? "/usr/sbin/dnsmasq";

export interface TestDnsServer {
  /** "127.0.0.1:<port>", as DNS_RESOLVERS takes it. */
  address: string;
  /** Replaces every TXT record: name → values. */
  setTxtRecords(records: Record<string, string[]>): Promise<void>;
  close(): Promise<void>;
}

const READY_NAME = "ready.dnsmasq.test";

export async function startDnsServer(
  records: Record<string, string[]> = {},
): Promise<TestDnsServer> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = "";

  const start = async (current: Record<string, string[]>) => {
    const txt = Object.entries({ ...current, [READY_NAME]: ["ready"] }).flatMap(([name, values]) =>
      // No shell: the value goes as it is (quotes would be part of it); a comma would split it.
      values.map((value) => `--txt-record=${name},${value}`),
    );
    output = "";
    child = spawn(
      dnsmasqBinary,
      [
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        `--port=${port}`,
        "--pid-file=",
        "--local=/test/",
        "--log-facility=-",
        ...txt,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([address]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited:\n${output}`);
      try {
        await resolver.resolveTxt(READY_NAME);
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`dnsmasq did not answer on ${address}:\n${output}`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const stop = async () => {
    if (child) await stopProcess(child);
    child = undefined;
  };

  await start(records);
  return {
    address,
    async setTxtRecords(next) {
      await stop();
      await start(next);
    },
    close: stop,
  };
}
