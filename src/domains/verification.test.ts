import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { domainInstructions, judge } from "./verification.js";

describe("judge: does a TXT answer prove the organization owns the domain", () => {
  const domain = "shop.example.com";
  const token = "tok_abc";
  const cases: Array<[string, Parameters<typeof judge>[0], ReturnType<typeof judge>]> = [
    [
      "the organization's value among others",
      { kind: "found", values: ["v=spf1 -all", " obiente-verification=tok_abc "] },
      { ok: true },
    ],
    [
      "another organization's value",
      { kind: "found", values: ["obiente-verification=someone-else"] },
      {
        ok: false,
        definite: true,
        message:
          'the TXT record at _obiente-challenge.shop.example.com holds another organization\'s value, not "obiente-verification=tok_abc"',
      },
    ],
    [
      "unrelated records only",
      { kind: "found", values: ["google-site-verification=x"] },
      {
        ok: false,
        definite: true,
        message:
          'the TXT records at _obiente-challenge.shop.example.com do not include "obiente-verification=tok_abc"',
      },
    ],
    [
      "a value that only starts like it",
      { kind: "found", values: ["obiente-verification=tok_abcdef"] },
      {
        ok: false,
        definite: true,
        message:
          'the TXT record at _obiente-challenge.shop.example.com holds another organization\'s value, not "obiente-verification=tok_abc"',
      },
    ],
    [
      "no record: definite",
      { kind: "missing", reason: "no TXT record at _obiente-challenge.shop.example.com" },
      {
        ok: false,
        definite: true,
        message: "no TXT record at _obiente-challenge.shop.example.com",
      },
    ],
    [
      "a failed lookup: proves nothing",
      { kind: "error", reason: "the DNS lookup failed (ETIMEOUT)" },
      { ok: false, definite: false, message: "the DNS lookup failed (ETIMEOUT)" },
    ],
  ];
  for (const [name, answer, expected] of cases) {
    it(name, () => assert.deepEqual(judge(answer, domain, token), expected));
  }

  it("tells a person what to add", () => {
    assert.deepEqual(domainInstructions(domain, token), {
      recordName: "_obiente-challenge.shop.example.com",
      recordType: "TXT",
      recordValue: "obiente-verification=tok_abc",
      instructions:
        'add a TXT record _obiente-challenge.shop.example.com with the value "obiente-verification=tok_abc" at your DNS provider, then verify the domain; keep the record: it is checked daily',
    });
  });
});
