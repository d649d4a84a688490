import assert from "node:assert/strict";
import crypto, { createHmac } from "node:crypto";
import { syncBuiltinESMExports } from "node:module";
import { after, before, describe, it, mock } from "node:test";
import { bitbucketPush, bodyOf, giteaPush, githubPush, gitlabPush } from "./fixtures.js";
import type { ForgeName, Headers } from "./forge.js";
import { verifyDelivery } from "./verify.js";

const SECRET = "s3cret-Ωhook";
const hmac = (body: Buffer, secret = SECRET) =>
  createHmac("sha256", secret).update(body).digest("hex");

const github = bodyOf(githubPush());
const gitea = bodyOf(giteaPush());
const gitlab = bodyOf(gitlabPush());
const bitbucket = bodyOf(bitbucketPush());

/** Each forge's genuine delivery: its body and the headers that prove it. */
const genuine: Record<ForgeName, { body: Buffer; headers: Headers }> = {
  github: { body: github, headers: { "x-hub-signature-256": `sha256=${hmac(github)}` } },
  gitea: { body: gitea, headers: { "x-gitea-signature": hmac(gitea) } },
  gitlab: { body: gitlab, headers: { "x-gitlab-token": SECRET } },
  bitbucket: { body: bitbucket, headers: { "x-hub-signature": `sha256=${hmac(bitbucket)}` } },
};
const proofHeader: Record<ForgeName, string> = {
  github: "x-hub-signature-256",
  gitea: "x-gitea-signature",
  gitlab: "x-gitlab-token",
  bitbucket: "x-hub-signature",
};
const forges = Object.keys(genuine) as ForgeName[];

describe("verifyDelivery", () => {
  for (const forge of forges) {
    describe(forge, () => {
      const { body, headers } = genuine[forge];
      const name = proofHeader[forge];
      const proof = headers[name] as string;

      it("accepts the genuine delivery", () => {
        assert.equal(verifyDelivery(forge, headers, body, SECRET), true);
      });

      it("refuses it under another secret, or an empty one", () => {
        assert.equal(verifyDelivery(forge, headers, body, "another secret"), false);
        assert.equal(verifyDelivery(forge, headers, body, ""), false);
      });

      it("refuses a body changed by one byte", () => {
        const changed = Buffer.from(body);
        changed[10] = (changed[10] as number) ^ 1;
        const expected = forge === "gitlab"; // GitLab's token does not cover the body
        assert.equal(verifyDelivery(forge, headers, changed, SECRET), expected);
      });

      it("refuses a delivery without its proof header", () => {
        assert.equal(verifyDelivery(forge, {}, body, SECRET), false);
        assert.equal(verifyDelivery(forge, { [name]: "" }, body, SECRET), false);
        assert.equal(verifyDelivery(forge, { [name]: undefined }, body, SECRET), false);
      });

      it("refuses, without throwing, a proof shorter or longer than the right one", () => {
        for (const value of [proof.slice(0, -2), `${proof}00`, proof.slice(0, 9), "x"]) {
          assert.equal(verifyDelivery(forge, { [name]: value }, body, SECRET), false, value);
        }
      });

      it("refuses the proof header sent twice, even with the right value", () => {
        assert.equal(verifyDelivery(forge, { [name]: [proof, proof] }, body, SECRET), false);
      });

      it("finds the header whatever the case of its name", () => {
        const upper = name.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase());
        assert.equal(verifyDelivery(forge, { [upper]: proof }, body, SECRET), true);
      });
    });
  }

  it("GitHub and Bitbucket: wants the sha256= prefix and a whole hex digest", () => {
    const digest = hmac(github);
    const check = (value: string) =>
      verifyDelivery("github", { "x-hub-signature-256": value }, github, SECRET);
    assert.equal(check(digest), false, "no prefix");
    assert.equal(check(`sha1=${digest}`), false, "another algorithm's prefix");
    assert.equal(check(`SHA256=${digest.toUpperCase()}`), true, "case of hex and prefix");
    assert.equal(check(`sha256=${digest}0`), false, "an odd extra digit");
    assert.equal(check(`sha256=${digest.slice(0, -1)}g`), false, "a character that is not hex");
    assert.equal(check(`sha256=${digest.slice(0, 32)}zz${digest.slice(34)}`), false);
    // Bitbucket reads its proof from X-Hub-Signature, not GitHub's header.
    const sig = `sha256=${hmac(bitbucket)}`;
    assert.equal(
      verifyDelivery("bitbucket", { "x-hub-signature-256": sig }, bitbucket, SECRET),
      false,
    );
  });

  it("Gitea and Forgejo: either signature header proves it; every one sent must hold", () => {
    const sig = hmac(gitea);
    const check = (headers: Headers) => verifyDelivery("gitea", headers, gitea, SECRET);
    assert.equal(check({ "x-forgejo-signature": sig }), true);
    assert.equal(check({ "x-gitea-signature": sig, "x-forgejo-signature": sig }), true);
    assert.equal(
      check({ "x-gitea-signature": sig, "x-forgejo-signature": hmac(gitea, "x") }),
      false,
    );
    assert.equal(check({ "x-gitea-signature": `sha256=${sig}` }), false, "Gitea sends no prefix");
  });

  it("an empty secret never verifies, not even a proof made with it", () => {
    const unsigned = `sha256=${hmac(github, "")}`;
    assert.equal(verifyDelivery("github", { "x-hub-signature-256": unsigned }, github, ""), false);
    assert.equal(
      verifyDelivery("gitea", { "x-gitea-signature": hmac(gitea, "") }, gitea, ""),
      false,
    );
    assert.equal(verifyDelivery("gitlab", { "x-gitlab-token": " " }, gitlab, ""), false);
  });

  it("GitLab: the token must be the secret exactly", () => {
    const check = (token: string) =>
      verifyDelivery("gitlab", { "x-gitlab-token": token }, gitlab, SECRET);
    assert.equal(check(SECRET.toUpperCase()), false);
    assert.equal(check(`${SECRET}x`), false);
    assert.equal(check(SECRET.slice(1)), false);
  });

  describe("compares in constant time", () => {
    // The module imports timingSafeEqual by name: replace the builtin's export and sync the named
    // binding, so the module under test calls the counting one.
    const calls: [Buffer, Buffer][] = [];
    before(() => {
      mock.method(crypto, "timingSafeEqual", (a: Buffer, b: Buffer) => {
        calls.push([a, b]);
        return a.equals(b);
      });
      syncBuiltinESMExports();
    });
    after(() => {
      mock.restoreAll();
      syncBuiltinESMExports();
    });

    it("through timingSafeEqual, for every forge, right or wrong", () => {
      for (const forge of forges) {
        const { body, headers } = genuine[forge];
        calls.length = 0;
        assert.equal(verifyDelivery(forge, headers, body, SECRET), true);
        assert.equal(calls.length, 1, forge);
        calls.length = 0;
        assert.equal(verifyDelivery(forge, headers, body, "wrong"), false);
        assert.equal(calls.length, 1, forge);
        assert.ok(calls.every(([a, b]) => a.length === 32 && b.length === 32));
      }
    });

    it("never reaching it with buffers of different lengths (it would throw)", () => {
      calls.length = 0;
      const short = `sha256=${hmac(github).slice(0, 40)}`;
      assert.equal(
        verifyDelivery("github", { "x-hub-signature-256": short }, github, SECRET),
        false,
      );
      assert.equal(calls.length, 0);
      // GitLab compares digests of both sides: one length, whatever the token's.
      assert.equal(verifyDelivery("gitlab", { "x-gitlab-token": "ab" }, gitlab, SECRET), false);
      assert.equal(calls.length, 1);
    });
  });
});
