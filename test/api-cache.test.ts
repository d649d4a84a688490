import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

describe("API response cache", () => {
  let t: TestPlatform;
  let orgId: string;
  before(async () => {
    t = await startTestPlatform();
    const { organizations } = await t.client(OrganizationService).listOrganizations({});
    orgId = organizations[0]?.id ?? "";
  });
  after(() => t.close());

  it("serves a repeated list from the cache and drops it on a write", async () => {
    const projects = t.client(ProjectService);
    const stats = () => t.platform.ctx.services.cache.stats();
    await projects.createProject({ organizationId: orgId, name: "first" });
    const before = stats();
    const a = await projects.listProjects({ organizationId: orgId });
    const b = await projects.listProjects({ organizationId: orgId });
    assert.deepEqual(b, a);
    assert.equal(stats().hits, before.hits + 1, "the second list is a cache hit");
    // Dates survive the cache: the answer is built from Date objects either way.
    assert.ok(b.projects[0]?.createdAt);

    await projects.createProject({ organizationId: orgId, name: "second" });
    const c = await projects.listProjects({ organizationId: orgId });
    assert.deepEqual(
      c.projects.map((p) => p.name),
      ["first", "second"],
      "a write invalidates the organization's cached answers",
    );
  });
});
