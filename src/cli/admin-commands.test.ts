import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DomainSchema, DomainStatus } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { QuotaSchema } from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import { formatQuotas, parseQuotaSettings } from "./admin-commands.js";
import { formatDomain } from "./domain-commands.js";

describe("admin and domain commands' input and output", () => {
  test("quotas set: NAME=LIMIT and NAME=default", () => {
    assert.deepEqual(
      parseQuotaSettings(["deployments=20", "cpu-millicores=8000", "replicas=default"]),
      {
        limits: { deployments: 20n, cpu_millicores: 8000n },
        reset: ["replicas"],
      },
    );
    assert.throws(() => parseQuotaSettings([]), /give NAME=LIMIT/);
    assert.throws(
      () => parseQuotaSettings(["deployments"]),
      /expected NAME=LIMIT, got "deployments"/,
    );
    assert.throws(() => parseQuotaSettings(["deployments=-1"]), /a whole number or "default"/);
  });

  test("quotas get: aligned, with where each limit comes from", () => {
    const q = (name: string, used: number, limit: number, overridden = false) =>
      create(QuotaSchema, { name, used: BigInt(used), limit: BigInt(limit), overridden });
    assert.deepEqual(
      formatQuotas({
        organizationId: "o-1",
        organizationSlug: "acme",
        quotas: [q("deployments", 3, 10), q("log_tail_lines", 0, 500, true)],
      }),
      [
        "acme (o-1)",
        "QUOTA           USED  LIMIT  FROM",
        "deployments     3     10     platform default",
        "log_tail_lines  -     500    set for this organization",
      ],
    );
  });

  test("domains: a pending one shows the record to add", () => {
    const pending = create(DomainSchema, {
      domain: "shop.example.com",
      status: DomainStatus.PENDING,
      verification: {
        recordName: "_obiente-challenge.shop.example.com",
        recordType: "TXT",
        recordValue: "obiente-verification=tok",
      },
    });
    assert.deepEqual(formatDomain(pending), [
      "shop.example.com  pending",
      "  to verify: add a TXT record",
      "    name:  _obiente-challenge.shop.example.com",
      "    value: obiente-verification=tok",
      "  then run: obiente domains verify <deployment> shop.example.com",
    ]);
    const verified = create(DomainSchema, {
      domain: "shop.example.com",
      status: DomainStatus.VERIFIED,
      statusMessage: "ownership confirmed",
    });
    assert.deepEqual(formatDomain(verified), ["shop.example.com  verified  (ownership confirmed)"]);
    const byDefault = create(DomainSchema, { domain: "shop.apps.test", isDefault: true });
    assert.deepEqual(formatDomain(byDefault), ["shop.apps.test  default"]);
  });
});
