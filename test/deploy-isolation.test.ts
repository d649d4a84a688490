/**
 * Network isolation between projects: each project's deployments run on the project's own bridge
 * network. A container of project A cannot reach a container of project B (nor B reach A), while
 * two containers of project A reach each other.
 *
 * The published-port path too: apps are published on a host address this test owns (HOST_ADDRESS,
 * on a port-less bridge it makes), where the edge reaches them. A container of project B that
 * tries project A's published port on that host address is refused (the agent's isolation rules,
 * NETWORK_ISOLATION=on: containers get nothing from the host itself), while the edge still
 * answers for A. The rules and the address are removed afterwards.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  containersOf,
  type DeployHarness,
  docker,
  Leftovers,
  startDeployHarness,
  storeRowsOf,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { execIn } from "./helpers/exec.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { addressHolder, netnsSkipReason, suffix, Undo } from "./helpers/netns.js";

const netnsSkip = await netnsSkipReason();

/** Runs `cmd` in the container; its exit code and output. */
const exec = (containerId: string, cmd: string[]) => execIn(docker, containerId, cmd);

/** The container's (only) container and its address on its project's network. */
async function addressOf(deploymentId: string, projectId: string) {
  const [container] = await containersOf(deploymentId);
  assert.ok(container, `deployment ${deploymentId} runs a container`);
  const info = await docker.getContainer(container.Id).inspect();
  const networks = Object.keys(info.NetworkSettings.Networks);
  assert.deepEqual(networks, [`obiente-net-${projectId}`], "only its project's network");
  const ip = info.NetworkSettings.Networks[`obiente-net-${projectId}`]?.IPAddress;
  assert.ok(ip, "an address on the project's network");
  return { id: container.Id, ip };
}

/**
 * `wget -T 2 -q -O- http://ip:8080/`, with the time limit from `timeout`: the test image's static
 * busybox wget crashes (SIGSEGV) when given -T.
 */
const wget = (ip: string) => ["timeout", "2", "wget", "-q", "-O-", `http://${ip}:8080/`];

describe("isolation between projects", { skip: netnsSkip ?? false }, () => {
  const leftovers = new Leftovers();
  const undo = new Undo();
  /** The host address apps are published on: this test's own. */
  const hostAddress = `10.79.${200 + Math.floor(Math.random() * 50)}.1`;
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  const projects = { a: "", b: "" };
  /** a: project A's app; a2: a second app of project A; b: project B's app. */
  const apps = {
    a: { id: "", ip: "" },
    a2: { id: "", ip: "" },
    b: { id: "", ip: "" },
  };
  const deployments = { a: "", a2: "", b: "" };
  const domains = { a: "", a2: "", b: "" };

  before(async () => {
    repo = await makeFixtureRepo();
    await addressHolder(`oip${suffix()}`, `${hostAddress}/32`, undo);
    h = await startDeployHarness({ HOST_ADDRESS: hostAddress, NETWORK_ISOLATION: "on" }, leftovers);
    const firewall = h.t.platform.deploying?.firewall;
    assert.ok(firewall, "the agent installed the isolation rules");
    undo.push(() => firewall.uninstall());
    projects.a = await h.project("Project A");
    projects.b = await h.project("Project B");
    const harness = h;
    const made = await Promise.all(
      [
        { key: "a", projectId: projects.a, name: "a-web", branch: "dockerfile" },
        { key: "a2", projectId: projects.a, name: "a-site", branch: "static" },
        { key: "b", projectId: projects.b, name: "b-web", branch: "dockerfile" },
      ].map(async ({ key, projectId, name, branch }) => {
        const { id, domain } = await harness.deploy({
          projectId,
          name,
          gitRepo: repo?.url ?? "",
          branch,
        });
        await waitForStatus(harness.deployments, id, DeploymentStatus.RUNNING);
        return { key: key as keyof typeof apps, id, domain, projectId, branch };
      }),
    );
    for (const m of made) {
      // Each one is up and serving through the edge.
      await untilAnswers(
        harness.edgePort ?? 0,
        m.domain,
        200,
        FIXTURE_CONTENT[m.branch as "dockerfile" | "static"],
      );
      const { id, ip } = await addressOf(m.id, m.projectId);
      apps[m.key] = { id, ip };
      deployments[m.key] = m.id;
      domains[m.key] = m.domain;
    }
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await undo.run();
    await repo?.cleanup();
  });

  it("gives each project its own network", async () => {
    const a = await docker.getNetwork(`obiente-net-${projects.a}`).inspect();
    const b = await docker.getNetwork(`obiente-net-${projects.b}`).inspect();
    assert.equal(a.Labels?.["cloud.obiente.project_id"], projects.a);
    assert.equal(b.Labels?.["cloud.obiente.project_id"], projects.b);
    assert.deepEqual(Object.keys(a.Containers ?? {}).sort(), [apps.a.id, apps.a2.id].sort());
    assert.deepEqual(Object.keys(b.Containers ?? {}), [apps.b.id]);
  });

  it("lets a second container of project A reach project A's app (sanity)", async () => {
    const result = await exec(apps.a2.id, wget(apps.a.ip));
    assert.equal(result.exitCode, 0, result.output);
    assert.ok(result.output.includes(FIXTURE_CONTENT.dockerfile), result.output);
  });

  it("keeps a container of project A from reaching a container of project B", async () => {
    const result = await exec(apps.a.id, wget(apps.b.ip));
    // 143: killed by `timeout` (the packets are dropped), or a refusal; never a crash of wget.
    assert.ok(result.exitCode === 143 || result.exitCode === 1, `exit ${result.exitCode}`);
    assert.notEqual(result.exitCode, 0, `A reached B: ${result.output}`);
    assert.ok(!result.output.includes(FIXTURE_CONTENT.dockerfile), result.output);
  });

  it("keeps a container of project B from reaching project A's containers", async () => {
    for (const target of [apps.a, apps.a2]) {
      const result = await exec(apps.b.id, wget(target.ip));
      assert.ok(result.exitCode === 143 || result.exitCode === 1, `exit ${result.exitCode}`);
      assert.notEqual(result.exitCode, 0, `B reached A: ${result.output}`);
    }
  });

  it("keeps a container of project B from project A's published host port; the edge reaches it", async () => {
    const info = await docker.getContainer(apps.a.id).inspect();
    const binding = info.NetworkSettings.Ports["8080/tcp"]?.[0];
    assert.equal(binding?.HostIp, hostAddress, "published on the host address only");
    const port = Number(binding?.HostPort);
    assert.ok(port > 0);
    const result = await exec(apps.b.id, [
      "timeout",
      "2",
      "wget",
      "-q",
      "-O-",
      `http://${hostAddress}:${port}/`,
    ]);
    assert.notEqual(result.exitCode, 0, `B reached A's published port: ${result.output}`);
    assert.ok(!result.output.includes(FIXTURE_CONTENT.dockerfile), result.output);
    // The edge, on the host, still reaches it there.
    const [location] = (await storeRowsOf((h as DeployHarness).t, deployments.a)).locations;
    assert.equal(location?.port, port);
    await untilAnswers(h?.edgePort ?? 0, domains.a, 200, FIXTURE_CONTENT.dockerfile);
  });
});
