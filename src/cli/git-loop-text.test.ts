import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DeploymentSchema } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { authorName, commitSubject } from "./deployment-commands.js";
import { fullUrl } from "./hooks-commands.js";
import { previewSetting } from "./preview-commands.js";

describe("the git loop's CLI text", () => {
  test("a commit's subject: the first line, clipped with an ellipsis", () => {
    assert.equal(commitSubject("fix: the login form\n\nA body."), "fix: the login form");
    assert.equal(commitSubject("  padded  \r\nbody"), "padded");
    assert.equal(commitSubject(""), "");
    const long = "x".repeat(60);
    assert.equal(commitSubject(long), `${"x".repeat(49)}…`);
    assert.equal([...commitSubject(long)].length, 50);
    assert.equal(commitSubject("x".repeat(50)), "x".repeat(50));
    // Clipped by characters, not UTF-16 units: an emoji is never cut in half.
    assert.equal(commitSubject("😀".repeat(60), 5), "😀😀😀😀…");
  });

  test("an author's name without the address", () => {
    assert.equal(authorName("Ada Lovelace <ada@example.com>"), "Ada Lovelace");
    assert.equal(authorName("Ada <>"), "Ada");
    assert.equal(authorName("no-address"), "no-address");
    assert.equal(authorName(""), "");
  });

  test("a URL: the server's full one, else the path on the CLI's API address", () => {
    const path = "/api/v1/hooks/obh_x";
    assert.equal(
      fullUrl("http://127.0.0.1:3000", path, ""),
      "http://127.0.0.1:3000/api/v1/hooks/obh_x",
    );
    assert.equal(
      fullUrl("https://cloud.example.com/", path, ""),
      `https://cloud.example.com${path}`,
    );
    // An API under a path prefix keeps it.
    assert.equal(
      fullUrl("https://example.com/obiente", path, ""),
      `https://example.com/obiente${path}`,
    );
    assert.equal(
      fullUrl("http://127.0.0.1:3000", path, `https://public.example.com${path}`),
      `https://public.example.com${path}`,
    );
  });

  test("the preview setting", () => {
    const d = (previewsEnabled: boolean, previewBranches: string) =>
      create(DeploymentSchema, { name: "web", previewsEnabled, previewBranches });
    assert.equal(previewSetting(d(false, "feature/*")), "previews of web: off");
    assert.equal(previewSetting(d(true, "")), "previews of web: on, for every branch");
    assert.equal(
      previewSetting(d(true, "feature/*, fix/**")),
      "previews of web: on, for branches feature/*, fix/**",
    );
  });
});
