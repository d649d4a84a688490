/**
 * A throwaway git repository made with the git CLI: one commit on `main` holding the given files.
 * For tests that need a repository of a particular shape (a Dockerfile, thousands of files).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestRepo {
  /** The repository's working folder (a non-bare repository: git clones it as it is). */
  dir: string;
  /** Its file:// URL (the builder needs allowFile). */
  url: string;
  commit: string;
  cleanup(): Promise<void>;
}

/** Isolated from the machine's git configuration, with a fixed identity. */
export function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Fixture",
    GIT_AUTHOR_EMAIL: "fixture@obiente.test",
    GIT_COMMITTER_NAME: "Fixture",
    GIT_COMMITTER_EMAIL: "fixture@obiente.test",
  };
}

export async function makeRepo(
  files: Record<string, string>,
  options: { emptyFiles?: number } = {},
): Promise<TestRepo> {
  const dir = await mkdtemp(join(tmpdir(), "obiente-test-repo-"));
  const env = gitEnv(dir);
  const git = async (...args: string[]) =>
    (
      await run("git", ["-c", "commit.gpgsign=false", ...args], {
        cwd: dir,
        env,
        maxBuffer: 64 * 1024 * 1024,
      })
    ).stdout.trim();
  try {
    await git("init", "-q", "-b", "main");
    for (const [name, contents] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), contents);
    }
    const empty = options.emptyFiles ?? 0;
    if (empty > 0) {
      // In folders of 1,000, as a real tree would be.
      for (let i = 0; i < empty; i++) {
        const folder = join(dir, "empty", String(Math.floor(i / 1000)));
        if (i % 1000 === 0) await mkdir(folder, { recursive: true });
        await writeFile(join(folder, String(i)), "");
      }
    }
    await git("add", "-A");
    await git("commit", "-q", "-m", "test repository");
    const commit = await git("rev-parse", "HEAD");
    return {
      dir,
      url: pathToFileURL(dir).href,
      commit,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
