/**
 * A local git repository with the branches a test gives, each an orphan holding only its files.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface GitRepo {
  dir: string;
  /** file:// URL (the platform needs GIT_ALLOW_FILE). */
  url: string;
  cleanup(): Promise<void>;
}

export async function makeGitRepo(
  branches: Record<string, Record<string, string>>,
): Promise<GitRepo> {
  const dir = await mkdtemp(join(tmpdir(), "obiente-repo-"));
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    LANG: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Fixture",
    GIT_AUTHOR_EMAIL: "fixture@obiente.test",
    GIT_COMMITTER_NAME: "Fixture",
    GIT_COMMITTER_EMAIL: "fixture@obiente.test",
  };
  const git = (...args: string[]) =>
    run("git", ["-c", "commit.gpgsign=false", ...args], { cwd: dir, env });
  await git("init", "-q", "-b", "main");
  for (const [branch, files] of Object.entries(branches)) {
    await git("switch", "-q", "--orphan", branch);
    await git("rm", "-rq", "--cached", "--ignore-unmatch", ".");
    for (const [name, contents] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), contents);
    }
    await git("add", "-A", ...Object.keys(files));
    await git("commit", "-qm", branch);
    for (const name of Object.keys(files)) await rm(join(dir, name), { force: true });
  }
  return {
    dir,
    url: pathToFileURL(dir).href,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
