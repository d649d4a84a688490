/**
 * The CLI's deployment lifecycle against the whole platform (every role in this process, the
 * local Docker engine, the built-in edge), each command run as the real `obiente` binary:
 * deploy, deploy again on the same name (a redeploy with the new branch), ls/status/builds with
 * --json, redeploy, rollback (to the previous build, and to a named one), scale, restart, open,
 * cancel (a running build is stopped, what served keeps serving; a first build cancelled leaves
 * the deployment stopped), and rm. The app is asked through the edge after each step.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventually } from "./helpers/caddy.js";
import { type CliTarget, cliJson, JSON_FIELDS, runCli, spawnCli } from "./helpers/cli.js";
import {
  commitToBranch,
  type DeployHarness,
  imagesOf,
  Leftovers,
  startDeployHarness,
  untilAnswers,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";

interface DeploymentJson {
  id: string;
  name: string;
  status: string;
  statusMessage: string;
  replicas: number;
  url: string;
  domains: string[];
  branch: string;
  currentBuildId: string | null;
}
interface BuildJson {
  id: string;
  status: string;
  commitSha: string;
  commitMessage: string;
  commitAuthor: string;
  trigger: string;
  branch: string;
  current: boolean;
  statusMessage: string;
}

describe("CLI: a deployment's lifecycle, each command against the real platform", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let target: CliTarget;
  let staticV2 = "";

  const cli = (...args: string[]) => runCli(target, ...args, "--org", harness().organizationId);
  const json = <T>(...args: string[]) =>
    cliJson<T>(target, ...args, "--org", harness().organizationId);
  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const ok = async (...args: string[]) => {
    const result = await cli(...args);
    assert.equal(result.code, 0, `obiente ${args.join(" ")}: ${result.stdout}\n${result.stderr}`);
    return result;
  };
  const status = (name = "web") => json<DeploymentJson>("status", name);
  const answers = async (body: string) => {
    const d = await status();
    const port = harness().edgePort;
    assert.ok(port && d.domains[0]);
    await untilAnswers(port, d.domains[0], 200, body);
  };

  before(async () => {
    repo = await makeFixtureRepo();
    h = await startDeployHarness({}, leftovers);
    target = { api: h.t.baseUrl, token: h.t.adminToken, home: h.t.dataDir };
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  it("deploy: builds, follows, ends with the URL; the app answers", async () => {
    assert.ok(repo);
    const { stdout } = await ok(
      "deploy",
      "--git",
      repo.url,
      "--branch",
      "dockerfile",
      "--name",
      "web",
      "--project",
      "cli",
    );
    const id = /\(([0-9a-f-]{36})\) queued/.exec(stdout)?.[1];
    assert.ok(id, stdout);
    leftovers.deploymentIds.add(id);
    assert.match(stdout, /✓ live at http:\/\/web\./);
    await answers(FIXTURE_CONTENT.dockerfile);
    const d = await status();
    const projects = await json<Array<{ id: string; slug: string }>>("projects", "ls");
    const project = projects.find((p) => p.slug === "cli");
    assert.ok(project);
    leftovers.projectIds.add(project.id);
    assert.equal(d.id, id);
  });

  it("deploy on an existing name redeploys it, with the branch given", async () => {
    assert.ok(repo);
    const before = await status();
    const { stdout } = await ok(
      "deploy",
      "--git",
      repo.url,
      "--branch",
      "static",
      "--name",
      "web",
      "--project",
      "cli",
    );
    assert.match(stdout, /queued for a redeploy/);
    assert.match(stdout, /✓ live at /);
    const after = await status();
    assert.equal(after.id, before.id, "the same deployment");
    assert.equal(after.branch, "static");
    await answers(FIXTURE_CONTENT.static);
  });

  it("ls, status and builds ls print JSON of the documented shapes", async () => {
    const list = await json<DeploymentJson[]>("ls");
    assert.equal(list.length, 1);
    assert.deepEqual(Object.keys(list[0] ?? {}).sort(), JSON_FIELDS.deployment);
    assert.equal(list[0]?.status, "running");
    const builds = await json<BuildJson[]>("builds", "ls", "web");
    assert.equal(builds.length, 2);
    assert.deepEqual(Object.keys(builds[0] ?? {}).sort(), JSON_FIELDS.build);
    assert.deepEqual(
      builds.map((b) => [b.status, b.current]),
      [
        ["succeeded", true],
        ["succeeded", false],
      ],
    );
    assert.equal(builds[0]?.commitSha, repo?.commits.static);
    // The commit as git reported it after the clone, and what asked for the build.
    assert.equal(builds[0]?.commitMessage, "static app");
    assert.equal(builds[0]?.commitAuthor, "Fixture <fixture@obiente.test>");
    assert.equal(builds[0]?.trigger, "api");
    assert.equal(builds[0]?.branch, "static");
    const text = await ok("builds", "ls", "web");
    assert.match(
      text.stdout,
      new RegExp(
        `^\\* ${builds[0]?.id.slice(0, 8)}\\s+succeeded +${repo?.commits.static.slice(0, 7)} +static app +Fixture +api +\\d{4}-`,
        "m",
      ),
    );
  });

  it("redeploy builds the branch again (its new commit)", async () => {
    assert.ok(repo);
    staticV2 = await commitToBranch(
      repo,
      "static",
      { "index.html": "<p>static app v2</p>\n" },
      "static v2",
    );
    const { stdout } = await ok("redeploy", "web");
    assert.match(stdout, /✓ live at /);
    await answers("static app v2");
    const builds = await json<BuildJson[]>("builds", "ls", "web");
    assert.equal(builds[0]?.commitSha, staticV2);
    assert.equal(builds[0]?.current, true);
  });

  it("rollback without a build goes to the previous one; with one, to that one", async () => {
    await ok("rollback", "web");
    await answers(FIXTURE_CONTENT.static);
    let builds = await json<BuildJson[]>("builds", "ls", "web");
    assert.equal(builds.find((b) => b.current)?.commitSha, repo?.commits.static);

    const first = builds.at(-1);
    assert.ok(first);
    assert.equal(first.commitSha, repo?.commits.dockerfile);
    await ok("rollback", "web", first.id.slice(0, 8));
    await answers(FIXTURE_CONTENT.dockerfile);
    builds = await json<BuildJson[]>("builds", "ls", "web");
    assert.equal(builds.find((b) => b.current)?.id, first.id);

    // Nothing before the first build.
    const none = await cli("rollback", "web");
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /no successful build before the current one/);
    const unknown = await cli("rollback", "web", "ffffffff");
    assert.equal(unknown.code, 3, unknown.stderr);
  });

  it("scale N runs N replicas; restart replaces them; open prints the URL", async () => {
    const { stdout } = await ok("scale", "web", "2");
    assert.match(stdout, /from 1 to 2 replica\(s\)/);
    assert.match(stdout, /✓ live at /);
    assert.equal((await status()).replicas, 2);
    const running = await harness().t.platform.deploying?.runtime.list({
      deploymentId: (await status()).id,
    });
    assert.equal(running?.filter((c) => c.state === "running").length, 2);
    await ok("restart", "web");
    await answers(FIXTURE_CONTENT.dockerfile);

    const opened = await ok("open", "web");
    assert.equal(opened.stdout.trim(), (await status()).url);
    assert.match(opened.stdout, /^http:\/\/web\./);
  });

  it("cancel stops a running build; what served keeps serving, and the following deploy says so", async () => {
    assert.ok(repo);
    // A redeploy onto the slow branch, followed as a user would, cancelled from elsewhere.
    const deploying = spawnCli(target, [
      "deploy",
      "--git",
      repo.url,
      "--branch",
      "slow",
      "--name",
      "web",
      "--project",
      "cli",
      "--org",
      harness().organizationId,
    ]);
    const running = await eventually(
      async () => {
        const builds = await json<BuildJson[]>("builds", "ls", "web");
        return builds.find((b) => b.status === "running");
      },
      60_000,
      "the slow build to run",
      200,
    );
    const cancelled = await ok("cancel", "web");
    assert.match(cancelled.stdout, new RegExp(`cancelled build ${running.id.slice(0, 8)} of web`));
    assert.match(cancelled.stdout, /keeps serving/);

    const followed = await deploying.done;
    assert.equal(followed.code, 1, followed.stdout);
    assert.match(followed.stderr, /the build did not deploy: .*was cancelled/);

    // The builder stopped: its log ends saying so, and it never finished the image.
    const log = await eventually(
      async () => {
        const lines: string[] = [];
        for await (const { line } of harness().deployments.streamBuildLogs({
          buildId: running.id,
        })) {
          lines.push(line);
        }
        const last = lines.at(-1) ?? "";
        return last === "cancelled" || lines.some((l) => l.startsWith("built obiente/"))
          ? lines
          : undefined;
      },
      90_000,
      "the cancelled build's log to end",
      500,
    );
    assert.ok(log.includes("the build was cancelled"), log.join("\n"));
    assert.ok(!log.some((l) => l.startsWith("built obiente/")), log.join("\n"));

    const d = await status();
    assert.equal(d.status, "running");
    assert.match(d.statusMessage, /was cancelled; build .* keeps serving/);
    await answers(FIXTURE_CONTENT.dockerfile);
    const builds = await json<BuildJson[]>("builds", "ls", "web");
    assert.equal(builds[0]?.id, running.id);
    assert.equal(builds[0]?.status, "cancelled");
    assert.equal(builds[0]?.current, false);
    const images = await imagesOf(d.id);
    assert.ok(
      images.every((image) => image.Labels?.["cloud.obiente.build_id"] !== running.id),
      "the cancelled build left no image",
    );

    // Nothing under way any more.
    const again = await cli("cancel", "web");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /nothing to cancel/);
  });

  it("cancel of a first build leaves the deployment stopped", async () => {
    assert.ok(repo);
    const { stdout } = await ok(
      "deploy",
      "--git",
      repo.url,
      "--branch",
      "slow",
      "--name",
      "fresh",
      "--project",
      "cli",
      "--no-follow",
    );
    const id = /\(([0-9a-f-]{36})\) queued/.exec(stdout)?.[1];
    assert.ok(id);
    leftovers.deploymentIds.add(id);
    await eventually(
      async () =>
        (await json<BuildJson[]>("builds", "ls", "fresh")).find((b) => b.status === "running"),
      60_000,
      "the first build to run",
      200,
    );
    await ok("cancel", "fresh");
    const d = await status("fresh");
    assert.equal(d.status, "stopped");
    assert.match(d.statusMessage, /cancelled before anything was deployed/);
    await eventually(
      async () => {
        const builds = await json<BuildJson[]>("builds", "ls", "fresh");
        return builds[0]?.status === "cancelled" ? builds : undefined;
      },
      30_000,
      "the build to end cancelled",
    );
    await ok("rm", "fresh");
  });

  it("rm deletes the deployment", async () => {
    await ok("rm", "web");
    await eventually(
      async () => ((await json<DeploymentJson[]>("ls")).length === 0 ? true : undefined),
      60_000,
      "the deployment to be gone",
      250,
    );
    const gone = await cli("status", "web");
    assert.equal(gone.code, 3, gone.stderr);
  });
});
