/**
 * The isolation rules installed through the engine (NETWORK_ISOLATION_EXEC=engine,
 * docs/security-network.md, "When the agent holds only the engine's socket"): the firewall loop
 * runs every iptables command with `docker exec` in a helper container that it starts on the
 * local engine in the host's network namespace, as the Swarm stack's agent does on its node. The
 * helper's image is obiente-test/iptables (scripts/test-images.sh: this machine's iptables).
 *
 * Targets only this test owns: a network namespace joined by a veth pair, holding a "cluster
 * node" (10.79.N.2, a blocked destination: the FORWARD path) and another private machine
 * (10.79.N.3, the control, never blocked), each with a listener; and a listener on the gateway of
 * a bridge network the test makes (an address of the host itself: the INPUT path). A container on
 * that bridge reaches all three before, only the control while the rules are in force, all three
 * again once they are uninstalled.
 *
 * The bridge is named `oet…`, listed as a tenant bridge, rather than `obt-…`: other platforms on
 * this machine keep the rules for `obt-+` (their agents leave them in place when they stop), and
 * those would refuse the test's "before". OBIENTE chains found on the host beforehand are put back
 * as they were afterwards; the helper containers are removed.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import pino from "pino";
import { NetworkFirewall } from "../src/agent/firewall.js";
import { isolationIptables, LINK_LOCAL } from "../src/agent/network-isolation.js";
import { LABELS } from "../src/domain/labels.js";
import { EngineCommands, HELPER_NAME } from "../src/network/engine-commands.js";
import { Iptables } from "../src/network/iptables.js";
import type { IsolationInput } from "../src/network/isolation-rules.js";
import { execIn } from "./helpers/exec.js";
import { BUSYBOX_IMAGE } from "./helpers/git-fixtures.js";
import {
  listener,
  makeNetns,
  netnsSkipReason,
  run,
  suffix,
  Undo,
  vethInto,
} from "./helpers/netns.js";

const IPTABLES_IMAGE = "obiente-test/iptables:latest";
const docker = new Dockerode();
const skip = await netnsSkipReason();
const silent = pino({ level: "silent" });

/** What a connection from the container answered, or nc's error. */
async function probe(container: string, host: string, port: number): Promise<string> {
  const { output } = await execIn(docker, container, [
    "sh",
    "-c",
    `(sleep 1) | timeout 3 nc ${host} ${port} 2>&1`,
  ]);
  return output.trim();
}

async function inspectIfExists(name: string) {
  try {
    return await docker.getContainer(name).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * The OBIENTE chains and jumps of one family in the host's filter table, as `iptables-save`
 * prints them; put back by restoreForeign().
 */
async function foreignRules(family: 4 | 6): Promise<string[]> {
  const save = family === 6 ? "ip6tables-save" : "iptables-save";
  const out = await run(save, ["-t", "filter"]).catch(() => "");
  return out
    .split("\n")
    .filter((line) => /^(:|-A )OBIENTE-/.test(line) || /^-A \S+ .*-j OBIENTE-/.test(line))
    .map((line) => line.replace(/ \[\d+:\d+\]$/, " [0:0]"));
}

async function restoreForeign(family: 4 | 6, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const command = family === 6 ? "ip6tables" : "iptables";
  const own = lines.filter((line) => line.startsWith(":") || /^-A OBIENTE-/.test(line));
  await new Promise<void>((resolve, reject) => {
    const child = spawn(`${command}-restore`, ["-w", "--noflush"], {
      stdio: ["pipe", "inherit", "inherit"],
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command}-restore exited ${code}`)),
    );
    child.stdin.end(["*filter", ...own, "COMMIT", ""].join("\n"));
  });
  // The jumps from built-in and Docker's chains, first as they were.
  for (const line of lines.filter((l) => !l.startsWith(":") && !/^-A OBIENTE-/.test(l)).reverse()) {
    const [, from = "", ...rest] = line.split(" ");
    // Put back by their own agent meanwhile: once is enough.
    const present = await run(command, ["-w", "-C", from, ...rest]).then(
      () => true,
      () => false,
    );
    if (!present) await run(command, ["-w", "-I", from, "1", ...rest]);
  }
}

describe("network isolation through the engine's helper container", { skip: skip ?? false }, () => {
  const undo = new Undo();
  const id = suffix();
  const helper = `${HELPER_NAME}-test-${id}`;
  const subnet = `10.79.${50 + Math.floor(Math.random() * 50)}`;
  const node = `${subnet}.2`;
  const other = `${subnet}.3`;
  const bridge = `oet${id}`;
  let gateway = "";
  let tenant = "";
  let input: IsolationInput;
  const foreign: Record<4 | 6, string[]> = { 4: [], 6: [] };
  const hostRules = async () => (await foreignRules(4)).filter((l) => l.includes(bridge));

  before(async () => {
    await docker
      .getImage(IPTABLES_IMAGE)
      .inspect()
      .catch(() => assert.fail(`${IPTABLES_IMAGE} is missing: run scripts/test-images.sh`));
    foreign[4] = await foreignRules(4);
    foreign[6] = await foreignRules(6);
    undo.push(async () => {
      // Whatever a failed test left (the tests uninstall), then the chains as they were found.
      const local = new NetworkFirewall({
        iptables: new Iptables(),
        read: async () => input,
        intervalMs: 60_000,
        logger: silent,
      });
      await local.uninstall();
      await restoreForeign(4, foreign[4]);
      await restoreForeign(6, foreign[6]);
    });

    const netnsName = `obteng${id}`;
    const netns = await makeNetns(netnsName, undo);
    await vethInto(netnsName, `oev${id}`, `${subnet}.1/24`, [`${node}/24`, `${other}/24`], undo);
    await listener(node, 8081, "service-node", undo, netns);
    await listener(other, 8081, "control-other", undo, netns);

    const network = await docker.createNetwork({
      Name: `obiente-engine-isolation-${id}`,
      Driver: "bridge",
      Options: { "com.docker.network.bridge.name": bridge },
    });
    undo.push(() => network.remove());
    const info = await network.inspect();
    gateway = String(info.IPAM?.Config?.[0]?.Gateway ?? "");
    assert.ok(gateway, "the bridge has a gateway");
    await listener(gateway, 8081, "host-service", undo);

    const container = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "600"],
      HostConfig: { NetworkMode: `obiente-engine-isolation-${id}` },
    });
    undo.push(() => container.remove({ force: true }));
    await container.start();
    tenant = container.id;

    input = {
      tenantInterfaces: [bridge],
      blockedDestinations: [LINK_LOCAL, `${node}/32`],
      blockedPorts: [2375, 2376],
      allow: [],
    };
  });

  after(async () => {
    // The helpers are the test's to remove too, whatever happened.
    for (const name of [helper, `${helper}-image`, `${helper}-fail`, `${helper}-self`]) {
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await undo.run();
    for (const family of [4, 6] as const) {
      assert.deepEqual(
        (await foreignRules(family)).sort(),
        [...foreign[family]].sort(),
        `the host's OBIENTE rules (IPv${family}) as they were found`,
      );
    }
  });

  it("keeps a container on a tenant bridge from the host and a node, and lets it back once uninstalled", async () => {
    const reaches = async () => ({
      host: await probe(tenant, gateway, 8081),
      node: await probe(tenant, node, 8081),
      control: await probe(tenant, other, 8081),
    });
    const before = await reaches();
    assert.match(before.host, /host-service/, "before: the host's address answers");
    assert.match(before.node, /service-node/, "before: the node answers");
    assert.match(before.control, /control-other/, "before: the control answers");

    const firewall = new NetworkFirewall({
      iptables: new Iptables({
        commands: new EngineCommands({ docker, image: IPTABLES_IMAGE, name: helper }),
      }),
      read: async () => input,
      intervalMs: 60_000,
      logger: silent,
    });
    try {
      assert.equal(await firewall.start(), true, JSON.stringify(firewall.health()));
      const made = await inspectIfExists(helper);
      assert.ok(made?.State.Running, "the helper runs");
      assert.equal(made.HostConfig.NetworkMode, "host");
      assert.deepEqual(made.HostConfig.CapAdd, ["NET_ADMIN"]);
      assert.deepEqual(made.HostConfig.CapDrop, ["ALL"]);
      assert.equal(made.Config.Labels?.[LABELS.component], "network-isolation");
      assert.deepEqual(await hostRules(), [
        `-A OBIENTE-ISOLATION -i ${bridge} -j OBIENTE-TENANT`,
        `-A OBIENTE-ISOLATION-INPUT -i ${bridge} -j OBIENTE-TENANT-HOST`,
      ]);

      const during = await reaches();
      assert.doesNotMatch(
        during.host,
        /host-service/,
        `the host's address answered: ${during.host}`,
      );
      assert.doesNotMatch(during.node, /service-node/, `the node answered: ${during.node}`);
      assert.match(during.host, /No route to host/, during.host);
      assert.match(during.control, /control-other/, "the control still answers");

      // Someone removes the helper and flushes a chain: the next pass makes both again.
      await docker.getContainer(helper).remove({ force: true });
      await new Iptables().must(["-F", "OBIENTE-TENANT-HOST"]);
      assert.equal(await firewall.sync(), true, JSON.stringify(firewall.health()));
      const remade = await inspectIfExists(helper);
      assert.ok(remade?.State.Running && remade.Id !== made.Id, "a new helper");
      assert.doesNotMatch(await probe(tenant, gateway, 8081), /host-service/);

      await firewall.uninstall();
      assert.deepEqual(await hostRules(), [], "no rule for the bridge is left");
      assert.equal(await inspectIfExists(helper), undefined, "the helper is removed");
      const afterwards = await reaches();
      assert.match(afterwards.host, /host-service/, "after: the host's address answers");
      assert.match(afterwards.node, /service-node/, "after: the node answers");
    } finally {
      await firewall.close();
    }
    assert.equal(await inspectIfExists(helper), undefined, "close() leaves no helper");
  });

  it("makes the helper again when its image changes, starts a stopped one, keeps a current one", async () => {
    const name = `${helper}-image`;
    const context = await mkdtemp(join(tmpdir(), "obiente-helper-image-"));
    const tag = `obiente-test/iptables:helper-${id}`;
    try {
      await writeFile(
        join(context, "Dockerfile"),
        `FROM ${IPTABLES_IMAGE}\nLABEL obiente.test=${id}\n`,
      );
      await promisify(execFile)("docker", ["build", "-q", "-t", tag, context]);
      const first = new EngineCommands({ docker, image: IPTABLES_IMAGE, name });
      await first.prepare();
      const a = await inspectIfExists(name);
      await first.prepare();
      assert.equal((await inspectIfExists(name))?.Id, a?.Id, "the same spec: the same helper");

      await docker.getContainer(name).stop({ t: 0 });
      await first.prepare();
      const restarted = await inspectIfExists(name);
      assert.ok(restarted?.State.Running && restarted.Id === a?.Id, "started again");

      const second = new EngineCommands({ docker, image: tag, name });
      const version = await second.run("iptables", ["--version"], { timeoutMs: 10_000 });
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /^iptables v/);
      const b = await inspectIfExists(name);
      assert.notEqual(b?.Id, a?.Id, "another image: another helper");
      assert.equal(b?.Image, (await docker.getImage(tag).inspect()).Id);
      await second.close();
      await second.close();
      assert.equal(await inspectIfExists(name), undefined);
    } finally {
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
      await rm(context, { recursive: true, force: true });
    }
  });

  it("says why when the helper cannot run, and changes nothing", async () => {
    const name = `${helper}-fail`;
    const firewall = new NetworkFirewall({
      iptables: new Iptables({
        commands: new EngineCommands({ docker, image: `obiente-test/missing:${id}`, name }),
      }),
      read: async () => input,
      intervalMs: 60_000,
      logger: silent,
    });
    try {
      assert.equal(await firewall.start(), false);
      const health = firewall.health();
      assert.equal(health.ok, false);
      assert.match(health.detail ?? "", /obiente-test\/missing:.* is not on this engine/);
      assert.equal(await inspectIfExists(name), undefined);
      assert.deepEqual(await hostRules(), []);
    } finally {
      await firewall.close();
    }
  });

  it("without NETWORK_ISOLATION_IMAGE, the helper runs the agent's own image", async () => {
    const name = `${helper}-self`;
    const commands = new EngineCommands({ docker, name, selfContainer: async () => tenant });
    try {
      await commands.prepare();
      const made = await inspectIfExists(name);
      assert.equal(made?.Image, (await docker.getContainer(tenant).inspect()).Image);
    } finally {
      await commands.close();
    }
    assert.equal(await inspectIfExists(name), undefined);
    // And the agent's settings choose the engine's helper.
    const iptables = isolationIptables(
      {
        NETWORK_ISOLATION: "on",
        NETWORK_ISOLATION_ALLOW: [],
        NETWORK_ISOLATION_BLOCK: [],
        NETWORK_ISOLATION_ENGINE_PORTS: [],
        NETWORK_ISOLATION_INTERVAL_SECONDS: 30,
        NETWORK_ISOLATION_EXEC: "engine",
        PORT_RANGE: { from: 20000, to: 29999 },
      },
      docker,
    );
    assert.equal(iptables.commands.where, `container ${HELPER_NAME}`);
  });
});
