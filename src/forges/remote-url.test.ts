import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { sameRepository } from "./remote-url.js";

/** Pairs that name one repository. */
const SAME: [string, string][] = [
  ["https://github.com/acme/shop.git", "https://github.com/acme/shop"],
  ["https://github.com/acme/shop.git", "https://github.com/acme/shop/"],
  ["https://github.com/acme/shop.git", "https://github.com/acme/shop.git/"],
  ["https://github.com/acme/shop.git", "git@github.com:acme/shop.git"],
  ["https://github.com/acme/shop.git", "git@github.com:acme/shop"],
  ["https://github.com/acme/shop.git", "git@github.com:/acme/shop.git"],
  ["https://github.com/acme/shop.git", "ssh://git@github.com/acme/shop.git"],
  ["https://github.com/acme/shop.git", "ssh://git@github.com:22/acme/shop.git"],
  ["https://github.com/acme/shop.git", "git+ssh://git@github.com/acme/shop.git"],
  ["https://github.com/acme/shop.git", "git://github.com/acme/shop.git"],
  ["https://github.com/acme/shop.git", "git://github.com:9418/acme/shop.git"],
  ["https://github.com/acme/shop.git", "http://github.com/acme/shop"],
  ["https://github.com/acme/shop.git", "https://github.com:443/acme/shop"],
  ["https://github.com/acme/shop.git", "https://x-access-token:ghs_abc@github.com/acme/shop.git"],
  ["https://github.com/acme/shop.git", "https://GitHub.COM/acme/shop.git"],
  ["https://github.com/acme/shop.git", "https://github.com./acme/shop.git"],
  ["https://github.com/Acme/Shop.git", "git@github.com:acme/shop.git"],
  ["https://github.com/acme/shop.git", "  https://github.com/acme/shop.git\n"],
  ["https://github.com/acme/shop.git", "https://github.com//acme/./shop.git"],
  ["https://github.com/acme/shop.git", "https://github.com/acme/shop.git?ref=main#readme"],
  ["https://github.com/acme/my%20shop.git", "https://github.com/acme/my shop.git"],
  // GitLab's subgroups; a self-hosted forge serving ssh on a port of its own.
  [
    "https://gitlab.example.com/acme/platform/shop.git",
    "git@gitlab.example.com:acme/platform/shop.git",
  ],
  ["https://git.example.org/acme/shop.git", "ssh://git@git.example.org:2222/acme/shop.git"],
  ["http://git.example.org:3000/acme/shop", "ssh://git@git.example.org:2222/acme/shop.git"],
  ["ssh://git@[2001:db8::1]:2222/acme/shop.git", "https://[2001:DB8::1]/acme/shop"],
  // Local repositories, as paths.
  ["/srv/git/shop.git", "file:///srv/git/shop.git"],
  ["/srv/git/shop.git", "/srv/git/shop"],
  ["/srv/git/shop", "/srv/git/shop/"],
  ["/srv/git/shop", "/srv/git/shop/.git"],
  ["/srv/git/shop", "/srv/git/../git/./shop"],
  ["/srv/git/shop", "file://localhost/srv/git/shop"],
  ["./shop", "shop"],
  ["C:/repos/shop", "C:/repos/shop.git"],
];

/** Pairs that name two repositories. */
const DIFFERENT: [string, string][] = [
  ["https://github.com/acme/shop.git", "https://github.com/acme/shop2.git"],
  ["https://github.com/acme/shop.git", "https://github.com/acme2/shop.git"],
  ["https://github.com/acme/shop.git", "https://gitlab.com/acme/shop.git"],
  ["https://github.com/acme/shop.git", "git@gitlab.com:acme/shop.git"],
  ["https://github.com/acme/shop.git", "https://github.com/acme/shop/wiki.git"],
  ["https://github.com/acme/shop.git", "https://github.com/shop.git"],
  ["https://github.com/acme/shop.git", "https://github.com/acme"],
  ["https://git.example.org:8443/acme/shop", "https://git.example.org/acme/shop"],
  ["ssh://git@git.example.org:2222/acme/shop", "git@git.example.org:acme/shop"],
  ["https://github.com/acme/shop.git", "/acme/shop.git"],
  ["https://github.com/acme/shop.git", "file:///acme/shop.git"],
  ["/srv/git/shop", "/srv/git/Shop"],
  ["/srv/git/shop", "/srv/git/shop2"],
  ["file://other-host/srv/git/shop", "/srv/git/shop"],
  ["https://github.com/acme/shop.git", ""],
  ["", ""],
  ["https://github.com/", "https://github.com"],
  ["ftp://github.com/acme/shop.git", "https://github.com/acme/shop.git"],
  ["https://github.com:abc/acme/shop.git", "https://github.com/acme/shop.git"],
];

describe("sameRepository", () => {
  for (const [a, b] of SAME) {
    it(`same: ${JSON.stringify(a)} and ${JSON.stringify(b)}`, () => {
      assert.equal(sameRepository(a, b), true);
      assert.equal(sameRepository(b, a), true);
    });
  }
  for (const [a, b] of DIFFERENT) {
    it(`different: ${JSON.stringify(a)} and ${JSON.stringify(b)}`, () => {
      assert.equal(sameRepository(a, b), false);
      assert.equal(sameRepository(b, a), false);
    });
  }

  it("is reflexive and symmetric for any string, and never throws", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        assert.equal(sameRepository(a, b), sameRepository(b, a));
        if (a.trim() !== "") assert.equal(sameRepository(a, a), true);
      }),
    );
  });

  it("matches every way a forge writes one repository with every other", () => {
    const owner = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/);
    fc.assert(
      fc.property(owner, owner, (o, r) => {
        const forms = [
          `https://github.com/${o}/${r}.git`,
          `git@github.com:${o}/${r}.git`,
          `git://github.com/${o}/${r}.git`,
          `https://github.com/${o}/${r}`,
          `ssh://git@github.com/${o}/${r}`,
        ];
        for (const a of forms) for (const b of forms) assert.ok(sameRepository(a, b), `${a} ${b}`);
        assert.equal(sameRepository(forms[0] as string, `https://github.com/${o}/${r}x`), false);
      }),
    );
  });
});
