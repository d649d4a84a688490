import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { HOUR_MS, rollupHourly, usageDelta } from "./rollup.js";
import type { MinuteUsage } from "./rows.js";

const START = Date.UTC(2025, 0, 1);

/** Bucket rows of a few deployments over a few hours, with integral byte counts. */
const minuteRows = fc.array(
  fc.record({
    deploymentId: fc.constantFrom("dep-a", "dep-b", "dep-c"),
    minute: fc.integer({ min: 0, max: 6 * 60 - 1 }).map((m) => START + m * 60_000),
    cpuSeconds: fc.double({ min: 0, max: 240, noNaN: true }),
    memoryByteSeconds: fc.double({ min: 0, max: 60 * 2 ** 34, noNaN: true }),
    networkBytes: fc.integer({ min: 0, max: 2 ** 40 }),
    diskIoBytes: fc.integer({ min: 0, max: 2 ** 40 }),
  }),
  { maxLength: 300 },
) as fc.Arbitrary<MinuteUsage[]>;

const close = (a: number, b: number) =>
  Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe("rollupHourly", () => {
  test("every hour equals the sum of the bucket rows it covers", () => {
    fc.assert(
      fc.property(minuteRows, (rows) => {
        const hours = rollupHourly(rows);
        for (const hour of hours) {
          const covered = rows.filter(
            (r) =>
              r.deploymentId === hour.deploymentId &&
              r.minute >= hour.hour.getTime() &&
              r.minute < hour.hour.getTime() + HOUR_MS,
          );
          assert.ok(covered.length > 0, "an hour without rows");
          const sum = (pick: (r: MinuteUsage) => number) =>
            covered.reduce((s, r) => s + pick(r), 0);
          assert.ok(
            close(
              hour.cpuSeconds,
              sum((r) => r.cpuSeconds),
            ),
          );
          assert.ok(
            close(
              hour.memoryByteSeconds,
              sum((r) => r.memoryByteSeconds),
            ),
          );
          assert.equal(
            hour.networkBytes,
            sum((r) => r.networkBytes),
          );
          assert.equal(
            hour.diskIoBytes,
            sum((r) => r.diskIoBytes),
          );
        }
      }),
    );
  });

  test("every row is in exactly one hour, and the totals are kept", () => {
    fc.assert(
      fc.property(minuteRows, (rows) => {
        const hours = rollupHourly(rows);
        const keys = hours.map((h) => `${h.deploymentId}@${h.hour.getTime()}`);
        assert.equal(new Set(keys).size, keys.length, "one row per deployment and hour");
        for (const h of hours)
          assert.equal(h.hour.getTime() % HOUR_MS, 0, "hours start on the hour");
        const expected = new Set(
          rows.map((r) => `${r.deploymentId}@${Math.floor(r.minute / HOUR_MS) * HOUR_MS}`),
        );
        assert.deepEqual(new Set(keys), expected);
        assert.equal(
          hours.reduce((s, h) => s + h.networkBytes, 0),
          rows.reduce((s, r) => s + r.networkBytes, 0),
        );
      }),
    );
  });

  test("the order of the rows does not matter", () => {
    fc.assert(
      fc.property(
        minuteRows,
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        (rows, random) => {
          const shuffled = rows
            .map((row) => ({ row, key: random.next().value as number }))
            .sort((a, b) => a.key - b.key)
            .map(({ row }) => row);
          const a = rollupHourly(rows);
          const b = rollupHourly(shuffled);
          assert.equal(a.length, b.length);
          a.forEach((hour, i) => {
            const other = b[i];
            assert.ok(other);
            assert.equal(hour.deploymentId, other.deploymentId);
            assert.equal(hour.hour.getTime(), other.hour.getTime());
            assert.equal(hour.networkBytes, other.networkBytes);
            assert.ok(close(hour.cpuSeconds, other.cpuSeconds));
          });
        },
      ),
    );
  });

  test("usageDelta: stored hours plus each write's delta equal the rollup of the rows stored", () => {
    // Rows keyed by (container, minute); each write replaces the stored rows of its keys.
    const keyed = fc.array(
      fc.record({
        container: fc.constantFrom("c1", "c2", "c3"),
        deploymentId: fc.constantFrom("dep-a", "dep-b"),
        minute: fc.integer({ min: 0, max: 180 }).map((m) => START + m * 60_000),
        cpuSeconds: fc.integer({ min: 0, max: 240 }),
        memoryByteSeconds: fc.integer({ min: 0, max: 2 ** 40 }),
        networkBytes: fc.integer({ min: 0, max: 2 ** 40 }),
        diskIoBytes: fc.integer({ min: 0, max: 2 ** 40 }),
      }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(fc.array(keyed, { maxLength: 6 }), (writes) => {
        const stored = new Map<string, MinuteUsage & { container: string }>();
        const hours = new Map<string, { cpu: number; mem: number; net: number; disk: number }>();
        for (const write of writes) {
          const batch = new Map(write.map((row) => [`${row.container}@${row.minute}`, row]));
          const replaced = [...batch.keys()].flatMap((key) => stored.get(key) ?? []);
          for (const delta of usageDelta(batch.values(), replaced)) {
            const key = `${delta.deploymentId}@${delta.hour.getTime()}`;
            const hour = hours.get(key) ?? { cpu: 0, mem: 0, net: 0, disk: 0 };
            hour.cpu += delta.cpuSeconds;
            hour.mem += delta.memoryByteSeconds;
            hour.net += delta.networkBytes;
            hour.disk += delta.diskIoBytes;
            hours.set(key, hour);
          }
          for (const [key, row] of batch) stored.set(key, row);
        }
        const expected = rollupHourly(stored.values());
        for (const hour of expected) {
          const got = hours.get(`${hour.deploymentId}@${hour.hour.getTime()}`);
          assert.deepEqual(got, {
            cpu: hour.cpuSeconds,
            mem: hour.memoryByteSeconds,
            net: hour.networkBytes,
            disk: hour.diskIoBytes,
          });
        }
        // Hours with nothing stored have nothing left either.
        const known = new Set(expected.map((h) => `${h.deploymentId}@${h.hour.getTime()}`));
        for (const [key, hour] of hours) {
          if (!known.has(key)) assert.deepEqual(hour, { cpu: 0, mem: 0, net: 0, disk: 0 });
        }
        // Writing the stored rows again changes nothing.
        assert.deepEqual(usageDelta(stored.values(), stored.values()), []);
      }),
    );
  });

  test("no rows, no hours", () => {
    assert.deepEqual(rollupHourly([]), []);
  });
});
