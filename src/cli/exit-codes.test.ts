import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { CliError, EXIT, exitCodeOf, messageOf } from "./exit-codes.js";

describe("exit codes", () => {
  test("the server's refusals map to distinct codes", () => {
    const cases: Array<[Code, number]> = [
      [Code.NotFound, 3],
      [Code.PermissionDenied, 4],
      [Code.Unauthenticated, 5],
      [Code.Unavailable, 6],
      [Code.InvalidArgument, 2],
      [Code.AlreadyExists, 1],
      [Code.FailedPrecondition, 1],
      [Code.Internal, 1],
    ];
    for (const [code, exit] of cases) {
      assert.equal(exitCodeOf(new ConnectError("x", code)), exit, Code[code]);
    }
  });

  test("usage errors are 2, help and version 0, the CLI's own errors carry theirs", () => {
    assert.equal(exitCodeOf(new CommanderError(1, "commander.unknownOption", "x")), EXIT.usage);
    assert.equal(exitCodeOf(new CommanderError(0, "commander.helpDisplayed", "x")), EXIT.ok);
    assert.equal(exitCodeOf(new CliError("no deployment named x", EXIT.notFound)), 3);
    assert.equal(exitCodeOf(new CliError("deployment failed")), 1);
    assert.equal(exitCodeOf(new Error("boom")), 1);
  });

  test("messages: the server's sentence, nothing for commander's (already printed)", () => {
    assert.equal(
      messageOf(new ConnectError("deployment not found", Code.NotFound)),
      "deployment not found",
    );
    assert.equal(messageOf(new CommanderError(1, "commander.unknownOption", "x")), undefined);
    assert.equal(messageOf(new Error("boom")), "boom");
    assert.match(
      messageOf(new ConnectError("connect ECONNREFUSED 127.0.0.1:9", Code.Unavailable)) ?? "",
      /^the API cannot be reached \(connect ECONNREFUSED 127\.0\.0\.1:9\): is it running/,
    );
  });
});
