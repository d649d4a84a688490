import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../domain/errors.js";
import { dockerOptions, insecureEngineProblem, parseDockerHost } from "./docker-host.js";

const isInvalid = (pattern?: RegExp) => (error: unknown) =>
  error instanceof DomainError &&
  error.kind === "invalid_argument" &&
  (pattern === undefined || pattern.test(error.message));

test("unix sockets and loopback tcp, every connection field set explicitly", () => {
  assert.deepEqual(dockerOptions("unix:///var/run/docker.sock"), {
    options: {
      socketPath: "/var/run/docker.sock",
      host: undefined,
      port: undefined,
      ca: undefined,
      cert: undefined,
      key: undefined,
    },
    endpoint: "unix:///var/run/docker.sock",
  });
  const tcp = dockerOptions("tcp://127.0.0.1:2375");
  assert.equal(tcp.endpoint, "tcp://127.0.0.1:2375");
  assert.equal(tcp.options.host, "127.0.0.1");
  assert.equal(tcp.options.port, "2375");
  assert.equal(tcp.options.protocol, "http");
  assert.equal(tcp.options.socketPath, undefined);
  assert.equal(dockerOptions("tcp://localhost").endpoint, "tcp://localhost:2375");
  assert.equal(dockerOptions("tcp://[::1]:80").options.host, "::1");
  assert.equal(dockerOptions("tcp://[::1]:80").endpoint, "tcp://[::1]:80");
});

test("plain tcp to another machine is refused unless allowed", () => {
  for (const host of ["tcp://10.0.0.12:2375", "tcp://node-1", "http://10.77.0.11:2375"]) {
    assert.throws(() => dockerOptions(host), isInvalid(/ALLOW_INSECURE_ENGINE/), host);
  }
  const allowed = dockerOptions("tcp://10.77.0.11:2375", { allowInsecure: true });
  assert.equal(allowed.options.protocol, "http");
  assert.equal(allowed.endpoint, "tcp://10.77.0.11:2375");
});

test("tcp with TLS credentials: https with the client certificate and the CA", () => {
  const tls = { ca: "CA", cert: "CERT", key: "KEY" };
  const options = dockerOptions("tcp://10.0.0.12:2376", { tls });
  assert.equal(options.options.protocol, "https");
  assert.equal(options.options.ca, "CA");
  assert.equal(options.options.cert, "CERT");
  assert.equal(options.options.key, "KEY");
  assert.equal(options.endpoint, "tcp://10.0.0.12:2376");
  assert.equal(dockerOptions("https://node-2", { tls }).options.port, "2376");
  assert.throws(() => dockerOptions("https://node-2"), isInvalid(/DOCKER_TLS_VERIFY/));
});

test("ssh: an identity and a host-key check are required", () => {
  assert.deepEqual(parseDockerHost("ssh://deploy@10.0.0.12:2222"), {
    scheme: "ssh",
    host: "10.0.0.12",
    port: "2222",
    username: "deploy",
  });
  assert.throws(() => dockerOptions("ssh://deploy@10.0.0.12"), isInvalid(/DOCKER_SSH_KEY/));
  const seen: string[] = [];
  const { options, endpoint } = dockerOptions("ssh://deploy@node-2", {
    ssh: {
      privateKey: Buffer.from("KEY"),
      knownHost: (host, port, key) => {
        seen.push(`${host}:${port}:${key.toString()}`);
        return key.toString() === "good";
      },
    },
  });
  assert.equal(endpoint, "ssh://deploy@node-2:22");
  assert.equal(options.protocol, "ssh");
  assert.equal(options.username, "deploy");
  const verify = options.sshOptions?.hostVerifier as (key: Buffer) => boolean;
  assert.equal(verify(Buffer.from("good")), true);
  assert.equal(verify(Buffer.from("evil")), false);
  assert.deepEqual(seen, ["node-2:22:good", "node-2:22:evil"]);
});

test("other schemes and malformed addresses are refused", () => {
  for (const host of [
    "npipe:////./pipe/docker",
    "unix://relative.sock",
    "tcp://",
    "tcp://h:1/x",
    "ssh://",
    "ssh://user@h/path",
    "/var/run/docker.sock",
  ]) {
    assert.throws(() => dockerOptions(host, { allowInsecure: true }), isInvalid(), host);
  }
});

test("the configuration check names the variable and says what to do", () => {
  const plain = { tls: false, allowInsecure: false };
  assert.match(
    insecureEngineProblem("DOCKER_HOST", "tcp://10.0.0.12:2375", plain) ?? "",
    /^DOCKER_HOST=tcp:\/\/10\.0\.0\.12:2375: a plain-TCP Docker engine .* ALLOW_INSECURE_ENGINE=true$/,
  );
  assert.equal(insecureEngineProblem("DOCKER_HOST", "tcp://127.0.0.1:2375", plain), undefined);
  assert.equal(insecureEngineProblem("DOCKER_HOST", "unix:///x.sock", plain), undefined);
  assert.equal(insecureEngineProblem("DOCKER_HOST", "ssh://u@h", plain), undefined);
  assert.equal(
    insecureEngineProblem("DOCKER_HOST", "tcp://10.0.0.12:2376", { ...plain, tls: true }),
    undefined,
  );
  assert.equal(
    insecureEngineProblem("X", "tcp://10.0.0.12:2375", { ...plain, allowInsecure: true }),
    undefined,
  );
});
