/**
 * The CLI and a tenant's escape sequences: an app whose build step and whose process print terminal
 * control sequences (window title, clipboard write through OSC 52, clear screen, cursor movement,
 * colours) is deployed with `obiente deploy` (which follows the build log) on the whole platform,
 * then read with `obiente logs`. What the CLI writes to the terminal keeps the text and none of the
 * control sequences.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { eventually } from "./helpers/caddy.js";
import {
  commitToBranch,
  type DeployHarness,
  Leftovers,
  startDeployHarness,
} from "./helpers/deploy-harness.js";
import { BUSYBOX_IMAGE, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { REPO_ROOT } from "./helpers/image.js";

const run = promisify(execFile);

/** Any C0 control but tab and line feed, DEL, any C1 control: what must not reach a terminal. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe("the CLI prints a tenant's text without its control sequences", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;

  before(async () => {
    repo = await makeFixtureRepo();
    // The shell's printf turns \033 and \007 into ESC and BEL.
    await commitToBranch(
      repo,
      "dockerfile",
      {
        Dockerfile: [
          `FROM ${BUSYBOX_IMAGE}`,
          `RUN printf 'build ${repo.nonce} says \\033]0;PWNED-TITLE\\007\\033[2J\\033[31mred\\033[0m done\\n'`,
          "COPY site/ /www/",
          "EXPOSE 8080",
          `CMD ["sh", "-c", "printf 'app says \\\\033]52;c;cHduZWQ=\\\\007\\\\033[1A\\\\033[2Kup done\\\\n'; exec busybox httpd -f -p 8080 -h /www"]`,
          "",
        ].join("\n"),
      },
      "an app that prints escape sequences",
    );
    h = await startDeployHarness({}, leftovers);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  /** `obiente …` as a user runs it, against the test's API with its admin token. */
  const cli = async (...args: string[]) => {
    assert.ok(h);
    const { stdout, stderr } = await run(
      process.execPath,
      ["bin/obiente.js", ...args, "--org", h.organizationId],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: h.t.dataDir,
          OBIENTE_API: h.t.baseUrl,
          OBIENTE_TOKEN: h.t.adminToken,
        },
        timeout: 180_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { stdout, stderr };
  };

  it("obiente deploy (the build log) and obiente logs (the app's output)", async () => {
    assert.ok(repo && h);
    const deployed = await cli(
      "deploy",
      "--git",
      repo.url,
      "--branch",
      "dockerfile",
      "--name",
      "escapes",
      "--project",
      "terminal",
    );
    const id = /\(([0-9a-f-]{36})\) queued/.exec(deployed.stdout)?.[1];
    assert.ok(id, deployed.stdout);
    leftovers.deploymentIds.add(id);
    assert.match(deployed.stdout, /✓ live at /, deployed.stdout + deployed.stderr);
    assert.ok(
      deployed.stdout.includes(`build ${repo.nonce} says red done`),
      JSON.stringify(deployed.stdout),
    );
    assert.doesNotMatch(deployed.stdout, CONTROL, JSON.stringify(deployed.stdout));

    const logs = await eventually(
      async () => {
        const out = await cli("logs", "escapes");
        return out.stdout.includes("up done") ? out : undefined;
      },
      30_000,
      "the app's line in obiente logs",
      500,
    );
    assert.match(logs.stdout, /app says up done/, JSON.stringify(logs.stdout));
    assert.doesNotMatch(logs.stdout, CONTROL, JSON.stringify(logs.stdout));
  });
});
