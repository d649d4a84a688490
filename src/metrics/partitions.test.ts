import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DAY_MS,
  daysAhead,
  isExpired,
  partitionBounds,
  partitionDay,
  partitionName,
  retentionCutoff,
} from "./partitions.js";

const day = Date.UTC(2025, 2, 30);

describe("partitions", () => {
  test("names round-trip to their UTC day", () => {
    const name = partitionName("container_metrics_minute", day);
    assert.equal(name, "container_metrics_minute_p20250330");
    assert.equal(partitionDay("container_metrics_minute", name), day);
    assert.equal(partitionDay("node_metrics_minute", name), undefined);
    assert.equal(
      partitionDay("container_metrics_minute", "container_metrics_minute_default"),
      undefined,
    );
  });

  test("bounds are UTC whatever the session's time zone", () => {
    assert.deepEqual(partitionBounds(day), {
      from: "2025-03-30T00:00:00.000Z",
      to: "2025-03-31T00:00:00.000Z",
    });
  });

  test("today and the days ahead; a day expires once wholly past the cutoff", () => {
    const now = day + 5 * 3_600_000;
    assert.deepEqual(daysAhead(now, 2), [day, day + DAY_MS, day + 2 * DAY_MS]);
    const cutoff = retentionCutoff(now, 7);
    assert.equal(isExpired(day - 7 * DAY_MS, cutoff), false, "the cutoff falls inside that day");
    assert.equal(isExpired(day - 8 * DAY_MS, cutoff), true);
  });
});
