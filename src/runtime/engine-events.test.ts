import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { driftFilters, parseEvent } from "./engine-events.js";

describe("engine events", () => {
  it("parses the lines of docker events, skipping what is not an event", () => {
    assert.deepEqual(
      parseEvent('{"Type":"container","Action":"destroy","Actor":{"ID":"abc","Attributes":{}}}'),
      { type: "container", action: "destroy", id: "abc" },
    );
    assert.deepEqual(parseEvent('{"Type":"node","Action":"update"}'), {
      type: "node",
      action: "update",
      id: "",
    });
    for (const line of ["", "not json", '{"Type":1}', "[]", "null"]) {
      assert.equal(parseEvent(line), undefined, line);
    }
  });

  it("watches the platform's containers dying or going away", () => {
    const filters = driftFilters("cloud.obiente.deployment=true");
    assert.deepEqual(filters.type, ["container"]);
    assert.deepEqual(filters.label, ["cloud.obiente.deployment=true"]);
    assert.ok(filters.event?.includes("destroy") && filters.event.includes("die"));
  });
});
