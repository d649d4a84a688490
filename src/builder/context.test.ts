import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tar from "tar-stream";
import { DomainError } from "../domain/errors.js";
import { packContext } from "./context.js";

/** Reads a tar stream back: entry name → [type, contents or link target]. */
async function unpack(stream: NodeJS.ReadableStream): Promise<Map<string, [string, string]>> {
  const entries = new Map<string, [string, string]>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
      body.on("end", () => {
        const name = header.name.replace(/\/$/, "");
        entries.set(name, [
          header.type,
          header.type === "symlink" ? header.linkname : Buffer.concat(chunks).toString(),
        ]);
        next();
      });
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return entries;
}

describe("packContext", () => {
  let root: string;
  let tree: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "obiente-context-test-"));
    tree = join(root, "tree");
    await mkdir(join(tree, ".git", "objects"), { recursive: true });
    await writeFile(join(tree, ".git", "HEAD"), "ref: refs/heads/main\n");
    await mkdir(join(tree, "src", "lib"), { recursive: true });
    await writeFile(join(tree, "src", "lib", "a.js"), "a");
    await writeFile(join(tree, "Dockerfile.obiente"), "FROM the-repo-s-own");
    await writeFile(join(tree, "secret.txt"), "secret");
    await writeFile(join(tree, "big.bin"), Buffer.alloc(3 * 1024 * 1024, 7));
    await writeFile(join(tree, ".dockerignore"), "secret.txt\nDockerfile\n");
    await writeFile(join(tree, "Dockerfile"), "FROM scratch");
    await symlink("src/lib/a.js", join(tree, "link-inside"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("sends the tree without .git or ignored files, with the builder's files and links kept as links", async () => {
    const context = await packContext({
      dir: tree,
      extraFiles: [{ name: "Dockerfile.obiente", contents: "FROM generated" }],
      alwaysInclude: ["Dockerfile"],
    });
    const entries = await unpack(context.stream);
    assert.deepEqual(entries.get("Dockerfile.obiente"), ["file", "FROM generated"]);
    assert.deepEqual(
      entries.get("Dockerfile"),
      ["file", "FROM scratch"],
      "the Dockerfile is always sent",
    );
    assert.deepEqual(entries.get("src/lib/a.js"), ["file", "a"]);
    assert.deepEqual(entries.get("link-inside"), ["symlink", "src/lib/a.js"]);
    assert.equal(entries.get("big.bin")?.[1].length, 3 * 1024 * 1024);
    assert.equal(entries.get("src")?.[0], "directory");
    assert.ok(entries.has(".dockerignore"));
    assert.ok(!entries.has("secret.txt"));
    assert.ok(![...entries.keys()].some((name) => name === ".git" || name.startsWith(".git/")));
    assert.equal(context.entries, entries.size);
  });

  for (const [name, target] of [
    ["absolute", "/etc/passwd"],
    ["relative", "../outside.txt"],
    ["deep", "src/../../outside.txt"],
  ] as const) {
    it(`refuses a symlink that points outside the tree (${name})`, async () => {
      const dir = join(root, `escape-${name}`);
      await mkdir(dir);
      await writeFile(join(dir, "index.html"), "x");
      await symlink(target, join(dir, "escape"));
      await assert.rejects(packContext({ dir }), (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.kind, "failed_precondition");
        assert.match(error.message, /symlink that points outside it: escape ->/);
        return true;
      });
    });
  }

  it("stops reading files when the reader destroys the stream", async () => {
    const context = await packContext({ dir: tree });
    await new Promise<void>((resolve) => {
      context.stream.once("data", () => {
        context.stream.destroy();
        resolve();
      });
    });
    await new Promise<void>((resolve) => context.stream.once("close", () => resolve()));
    assert.ok(context.stream.destroyed);
  });
});
