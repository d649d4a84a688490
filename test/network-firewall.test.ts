/**
 * The agent's firewall loop against real iptables, in a network namespace of the test's own (so
 * the host's rules are never touched): Docker's DOCKER-USER chain is made there as the engine
 * makes it. The loop installs our chains in one transaction and its jumps first, changes nothing
 * on a pass with nothing to do, puts back what an operator removed or moved, follows what the
 * rules are made of, says once why it cannot install, and uninstalls cleanly.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { NetworkFirewall } from "../src/agent/firewall.js";
import { Iptables } from "../src/network/iptables.js";
import type { IsolationInput } from "../src/network/isolation-rules.js";
import { makeNetns, netnsSkipReason, run, suffix, Undo } from "./helpers/netns.js";

const skip = await netnsSkipReason();

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

describe("the firewall loop on real iptables", { skip: skip ?? false }, () => {
  const undo = new Undo();
  let netns = "";
  let iptables: Iptables;
  const input: IsolationInput = {
    tenantInterfaces: ["obt-+"],
    blockedDestinations: ["169.254.0.0/16", "10.79.1.2/32"],
    blockedPorts: [2375, 2376],
    allow: [{ cidr: "10.79.1.3/32", port: 5432 }],
  };
  const save = async () =>
    (await run("nsenter", [`--net=${netns}`, "iptables-save", "-t", "filter"]))
      .split("\n")
      .filter((line) => line.startsWith("-A ") || line.startsWith(":"))
      .map((line) => line.replace(/ \[\d+:\d+\]$/, ""));

  before(async () => {
    const name = `obtfw${suffix()}`;
    netns = await makeNetns(name, undo);
    iptables = new Iptables({ netns });
    // What Docker makes: DOCKER-USER, jumped to first from FORWARD, returning.
    await iptables.must(["-N", "DOCKER-USER"]);
    await iptables.must(["-A", "DOCKER-USER", "-j", "RETURN"]);
    await iptables.must(["-I", "FORWARD", "1", "-j", "DOCKER-USER"]);
  });

  after(() => undo.run());

  it("installs the chains and jumps first, and a second pass changes nothing", async () => {
    const { logger, lines } = capture();
    const firewall = new NetworkFirewall({
      iptables,
      read: async () => input,
      intervalMs: 60_000,
      logger,
    });
    try {
      assert.equal(await firewall.start(), true);
      const first = await save();
      assert.deepEqual(await iptables.rules("DOCKER-USER"), [
        "-A DOCKER-USER -j OBIENTE-ISOLATION",
        "-A DOCKER-USER -j RETURN",
      ]);
      assert.equal((await iptables.rules("INPUT"))[0], "-A INPUT -j OBIENTE-ISOLATION-INPUT");
      assert.ok(
        first.includes(
          "-A OBIENTE-TENANT -d 10.79.1.2/32 -j REJECT --reject-with icmp-admin-prohibited",
        ),
        first.join("\n"),
      );
      assert.ok(first.includes("-A OBIENTE-ISOLATION -i obt-+ -j OBIENTE-TENANT"));
      assert.equal(await firewall.sync(), true);
      assert.deepEqual(await save(), first);
      assert.equal(lines.filter((l) => l.msg === "network isolation installed").length, 1);
    } finally {
      await firewall.close();
    }
  });

  it("puts back a jump an operator moved and a chain someone flushed", async () => {
    const firewall = new NetworkFirewall({
      iptables,
      read: async () => input,
      intervalMs: 60_000,
      logger: pino({ level: "silent" }),
    });
    try {
      await firewall.start();
      const installed = await save();
      await iptables.must(["-I", "DOCKER-USER", "1", "-s", "10.79.1.9", "-j", "ACCEPT"]);
      await iptables.must(["-I", "DOCKER-USER", "3", "-j", "OBIENTE-ISOLATION"]);
      await iptables.must(["-F", "OBIENTE-TENANT"]);
      await iptables.must(["-D", "INPUT", "-j", "OBIENTE-ISOLATION-INPUT"]);
      await firewall.sync();
      assert.deepEqual(await iptables.rules("DOCKER-USER"), [
        "-A DOCKER-USER -j OBIENTE-ISOLATION",
        "-A DOCKER-USER -s 10.79.1.9/32 -j ACCEPT",
        "-A DOCKER-USER -j RETURN",
      ]);
      const now = await save();
      for (const line of installed.filter((l) => l.includes("OBIENTE-"))) {
        assert.ok(now.includes(line), `missing after the pass: ${line}`);
      }
      await iptables.must(["-D", "DOCKER-USER", "-s", "10.79.1.9", "-j", "ACCEPT"]);
    } finally {
      await firewall.close();
    }
  });

  it("follows what the rules are made of", async () => {
    let current = input;
    const firewall = new NetworkFirewall({
      iptables,
      read: async () => current,
      intervalMs: 60_000,
      logger: pino({ level: "silent" }),
    });
    try {
      await firewall.start();
      current = { ...input, blockedDestinations: [...input.blockedDestinations, "10.79.1.4/32"] };
      await firewall.sync();
      assert.ok(
        (await iptables.rules("OBIENTE-TENANT")).includes(
          "-A OBIENTE-TENANT -d 10.79.1.4/32 -j REJECT --reject-with icmp-admin-prohibited",
        ),
      );
      assert.match(firewall.rules ?? "", /10\.79\.1\.4\/32/);
    } finally {
      await firewall.close();
    }
  });

  it("says once, with the reason, when it cannot install, and keeps the node as it was", async () => {
    const bare = await makeNetns(`obtfb${suffix()}`, undo);
    const { logger, lines } = capture();
    const firewall = new NetworkFirewall({
      iptables: new Iptables({ netns: bare }),
      read: async () => input,
      intervalMs: 60_000,
      logger,
    });
    try {
      assert.equal(await firewall.start(), false);
      assert.equal(await firewall.sync(), false);
      const errors = lines.filter((l) => l.level === 50);
      assert.equal(errors.length, 1, JSON.stringify(lines));
      assert.match(String(errors[0]?.msg), /^network isolation could not be installed/);
      assert.match(String(errors[0]?.reason), /DOCKER-USER/);
      const chains = await run("nsenter", [`--net=${bare}`, "iptables", "-S"]);
      assert.doesNotMatch(chains, /OBIENTE/);
    } finally {
      await firewall.close();
    }
  });

  it("uninstalls: no chain or jump of ours is left", async () => {
    const firewall = new NetworkFirewall({
      iptables,
      read: async () => input,
      intervalMs: 60_000,
      logger: pino({ level: "silent" }),
    });
    await firewall.start();
    await firewall.uninstall();
    await firewall.uninstall();
    const left = await save();
    assert.deepEqual(
      left.filter((line) => line.includes("OBIENTE")),
      [],
    );
    assert.deepEqual(await iptables.rules("DOCKER-USER"), ["-A DOCKER-USER -j RETURN"]);
  });
});
