import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { generateSshKeyPair } from "./ssh-key-format.js";

const run = promisify(execFile);
const KEYGEN = "/usr/bin/ssh-keygen";

describe("ed25519 keys in OpenSSH's formats", () => {
  it("writes the public key line and a fingerprint of the expected shapes", () => {
    const pair = generateSshKeyPair("obiente-project-shop-1234abcd");
    assert.match(
      pair.publicKey,
      /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} obiente-project-shop-1234abcd$/,
    );
    assert.match(pair.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.match(
      pair.privateKey,
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    assert.notEqual(generateSshKeyPair("x").publicKey.split(" ")[1], pair.publicKey.split(" ")[1]);
  });

  it("refuses a comment that would break the authorized_keys line", () => {
    assert.throws(() => generateSshKeyPair("two\nlines"), /one line/);
  });

  it("is read by OpenSSH's ssh-keygen: same public key, same fingerprint, signs", {
    skip: existsSync(KEYGEN) ? false : `${KEYGEN} is missing: install openssh-client`,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "obiente-key-"));
    try {
      const pair = generateSshKeyPair("obiente-project-shop-1234abcd");
      const file = join(dir, "key");
      await writeFile(file, pair.privateKey, { mode: 0o600 });
      const derived = await run(KEYGEN, ["-y", "-f", file]);
      assert.equal(derived.stdout.trim(), pair.publicKey);
      const listed = await run(KEYGEN, ["-l", "-f", file]);
      assert.equal(listed.stdout.split(" ")[1], pair.fingerprint);
      // A signature made with the private half verifies with the public half: the seed and
      // the public key written are a pair.
      const data = join(dir, "data");
      await writeFile(data, "obiente\n");
      await run(KEYGEN, ["-Y", "sign", "-f", file, "-n", "obiente-test", data]);
      await writeFile(join(dir, "allowed"), `test@obiente ${pair.publicKey}\n`);
      const verified = spawnSync(
        KEYGEN,
        [
          "-Y",
          "verify",
          "-f",
          join(dir, "allowed"),
          "-I",
          "test@obiente",
          "-n",
          "obiente-test",
          "-s",
          `${data}.sig`,
        ],
        { input: "obiente\n", encoding: "utf8" },
      );
      assert.match(verified.stdout, /Good "obiente-test" signature/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
