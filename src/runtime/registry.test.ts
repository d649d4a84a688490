import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../config/config.js";
import { pushOutcome, pushTarget, registryAuth, registryFailure } from "./registry.js";
import { parseRegistry } from "./registry-reference.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const IMAGE = `sha256:${"cd".repeat(32)}`;

describe("REGISTRY", () => {
  it("splits host[:port][/namespace]", () => {
    const cases: Array<[string, string, string]> = [
      ["registry.example.com", "registry.example.com", ""],
      ["10.77.0.1:5000/obiente-test", "10.77.0.1:5000", "obiente-test"],
      ["localhost:5000/team/apps/", "localhost:5000", "team/apps"],
      ["docker.io/someone", "docker.io", "someone"],
    ];
    for (const [text, host, namespace] of cases) {
      assert.deepEqual(parseRegistry(text), { ok: true, value: { host, namespace } }, text);
    }
  });

  it("says what is wrong with a bad one", () => {
    const cases: Array<[string, RegExp]> = [
      ["http://10.0.0.5:5000", /without a scheme .*REGISTRY_INSECURE=true/],
      ["someone/apps", /Docker Hub namespace \(use docker.io\/someone\)/],
      ["reg.example.com:99999", /port in 1-65535/],
      ["reg.example.com/Team", /namespace of lowercase letters.*"Team"/],
      ["reg.example.com//apps", /an empty part/],
      ["-bad-.example.com", /is not a host/],
    ];
    for (const [text, problem] of cases) {
      const parsed = parseRegistry(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.problem, problem, text);
    }
  });

  it("is checked by the configuration, with its companions, without showing the password", () => {
    const config = loadConfig({
      REGISTRY: "10.77.0.1:5000/ns",
      REGISTRY_USERNAME: "u",
      REGISTRY_PASSWORD: "hunter2",
      REGISTRY_INSECURE: "true",
    });
    assert.deepEqual(config.REGISTRY, { host: "10.77.0.1:5000", namespace: "ns" });
    assert.equal(config.REGISTRY_INSECURE, true);
    assert.equal(loadConfig({}).REGISTRY, undefined);
    assert.throws(
      () => loadConfig({ REGISTRY: "http://x.example.com" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /REGISTRY \(a value starting with "http:"; the rest is not shown\): expected host\[:port\]/.test(
          error.message,
        ) &&
        !error.message.includes("x.example.com"),
    );
    assert.throws(
      () => loadConfig({ REGISTRY: "x.example.com", REGISTRY_PASSWORD: "hunter2" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /REGISTRY_USERNAME and REGISTRY_PASSWORD together/.test(error.message) &&
        !error.message.includes("hunter2"),
    );
    assert.throws(
      () => loadConfig({ REGISTRY_USERNAME: "u", REGISTRY_PASSWORD: "hunter2" }),
      (error: unknown) => error instanceof ConfigError && /REGISTRY is not set/.test(error.message),
    );
  });
});

describe("pushing", () => {
  const settings = {
    host: "10.77.0.1:5000",
    namespace: "ns",
    username: "u",
    password: "hunter2",
    insecure: true,
  };

  it("names the repository after the deployment", () => {
    assert.deepEqual(pushTarget(settings, IMAGE, ["obiente/0f1e-22:abcdef123456"]), {
      repository: "10.77.0.1:5000/ns/obiente-0f1e-22",
      tag: "abcdef123456",
    });
    assert.deepEqual(pushTarget({ host: "r.example.com", namespace: "" }, IMAGE, []), {
      repository: "r.example.com/obiente-image",
      tag: "cdcdcdcdcdcd",
    });
  });

  it("sends the credentials only when there are both", () => {
    assert.deepEqual(registryAuth(settings), {
      username: "u",
      password: "hunter2",
      serveraddress: "10.77.0.1:5000",
    });
    assert.deepEqual(registryAuth({ ...settings, username: undefined, password: undefined }), {
      serveraddress: "10.77.0.1:5000",
    });
  });

  it("reads the digest, or the error, from the push stream", () => {
    const ok = [
      '{"status":"The push refers to repository [10.77.0.1:5000/ns/x]"}',
      '{"status":"Pushed","progressDetail":{},"id":"0123"}',
      `{"status":"t: digest: ${DIGEST} size: 527"}`,
      `{"progressDetail":{},"aux":{"Tag":"t","Digest":"${DIGEST}","Size":527}}`,
    ].join("\r\n");
    assert.deepEqual(pushOutcome(ok), { digest: DIGEST });
    assert.deepEqual(
      pushOutcome('{"status":"…"}\n{"errorDetail":{"message":"unauthorized: nope"},"error":"x"}'),
      { error: "unauthorized: nope" },
    );
    assert.deepEqual(pushOutcome("not json"), {});
  });

  it("says what the registry's failure means", () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        "unauthorized: authentication required",
        "permission_denied",
        /registry 10.77.0.1:5000 refused the credentials of user "u"/,
      ],
      [
        'Get "http://10.77.0.1:5000/v2/": dial tcp 10.77.0.1:5000: connect: connection refused',
        "unavailable",
        /registry 10.77.0.1:5000 cannot be reached from the engine at unix:\/\/\/s/,
      ],
      [
        'Get "https://10.77.0.1:5000/v2/": http: server gave HTTP response to HTTPS client',
        "failed_precondition",
        /speaks plain HTTP.*--insecure-registry 10.77.0.1:5000/,
      ],
    ];
    for (const [reason, kind, message] of cases) {
      const error = registryFailure(settings, "unix:///s", "10.77.0.1:5000/ns/x:t", reason);
      assert.equal(error.kind, kind, reason);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("hunter2"));
    }
  });
});
