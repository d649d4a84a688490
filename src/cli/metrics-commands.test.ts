import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Command } from "commander";
import { bytes, parseDuration, registerMetricsCommand, sparkline } from "./metrics-commands.js";

describe("metrics CLI", () => {
  test("formats bytes, durations and sparklines", () => {
    assert.equal(bytes(512), "512 B");
    assert.equal(bytes(1536), "1.5 KiB");
    assert.equal(bytes(256 * 1024 * 1024), "256.0 MiB");
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("6h"), 21_600_000);
    assert.throws(() => parseDuration("soon"), /30m, 6h or 2d/);
    assert.equal(sparkline([0, 50, 100]), "▁▄█");
    assert.equal(sparkline([0, 0]), "▁▁");
  });

  test("registers `metrics <deployment>` with its options", () => {
    const program = new Command();
    registerMetricsCommand(program);
    const command = program.commands.find((c) => c.name() === "metrics");
    assert.ok(command);
    assert.deepEqual(
      command.options.map((o) => o.long),
      ["--org", "--once", "--since"],
    );
  });
});
