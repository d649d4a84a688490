import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../domain/errors.js";
import { dockerOptions } from "./docker-host.js";

test("unix sockets and tcp addresses, every connection field set explicitly", () => {
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
  const tcp = dockerOptions("tcp://10.77.0.11:2375");
  assert.equal(tcp.endpoint, "tcp://10.77.0.11:2375");
  assert.equal(tcp.options.host, "10.77.0.11");
  assert.equal(tcp.options.port, "2375");
  assert.equal(tcp.options.protocol, "http");
  assert.equal(tcp.options.socketPath, undefined);
  assert.equal(dockerOptions("tcp://node-1").endpoint, "tcp://node-1:2375");
  assert.equal(dockerOptions("tcp://[::1]:80").options.host, "::1");
  assert.equal(dockerOptions("tcp://[::1]:80").endpoint, "tcp://[::1]:80");
});

test("other schemes and malformed addresses are refused", () => {
  for (const host of [
    "ssh://user@h",
    "npipe:////./pipe/docker",
    "unix://relative.sock",
    "tcp://",
    "tcp://h:1/x",
    "/var/run/docker.sock",
  ]) {
    assert.throws(
      () => dockerOptions(host),
      (error: unknown) => error instanceof DomainError && error.kind === "invalid_argument",
      host,
    );
  }
});
