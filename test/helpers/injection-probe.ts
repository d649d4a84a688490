/**
 * Command-injection payloads that really run: a script that creates a marker file at a path
 * unique to this test run, and the payloads that would make git run it (`ext::<script>`,
 * `--upload-pack=<script>`), free of whitespace so that only the rule under test can refuse them.
 * `provesLive` runs git with each payload where git does honour it, to show the payload works:
 * a test that finds no marker after the platform refused the payload then proves something.
 */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface InjectionProbe {
  /** Created only if the script ran. */
  marker: string;
  script: string;
  /** `ext::<script>`: git runs it as a remote helper command. */
  extRemote: string;
  /** `--upload-pack=<script>`: git runs it in place of upload-pack when it reads it as an option. */
  uploadPackOption: string;
  fired(): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** Synchronous, so that a test file can name its payloads where it declares its cases. */
export function makeInjectionProbe(): InjectionProbe {
  const dir = mkdtempSync(join(tmpdir(), "obiente-pwned-"));
  const marker = join(dir, "pwned");
  const script = join(dir, "payload.sh");
  writeFileSync(script, `#!/bin/sh\n: > '${marker}'\nexit 1\n`);
  chmodSync(script, 0o755);
  const fired = async () => existsSync(marker);
  return {
    marker,
    script,
    extRemote: `ext::${script}`,
    uploadPackOption: `--upload-pack=${script}`,
    fired,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Runs git where each payload is honoured (ext allowed; --upload-pack read as an option), and
 * says whether both created the marker; removes it again.
 */
export async function provesLive(probe: InjectionProbe, repoUrl: string): Promise<boolean> {
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: tmpdir(),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  const results: boolean[] = [];
  for (const args of [
    ["-c", "protocol.ext.allow=always", "clone", "-q", probe.extRemote],
    ["clone", "-q", probe.uploadPackOption, repoUrl],
  ]) {
    const into = await mkdtemp(join(tmpdir(), "obiente-probe-clone-"));
    // git fails either way (the script is no git server): whether the marker appeared is the answer.
    await run("git", [...args, join(into, "c")], { env }).catch(() => undefined);
    await rm(into, { recursive: true, force: true });
    results.push(await probe.fired());
    await rm(probe.marker, { force: true });
  }
  return results.every(Boolean);
}
