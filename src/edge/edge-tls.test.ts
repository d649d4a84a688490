import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadConfig } from "../config/config.js";
import { type EdgeTls, edgeTls, edgeUrl } from "./edge-tls.js";

/** edgeTls of the real configuration schema with these variables. */
const of = (env: Record<string, string>, listeningPort?: number) =>
  edgeTls(loadConfig(env), listeningPort);

describe("edgeTls", () => {
  const cases: Array<{
    name: string;
    env: Record<string, string>;
    listeningPort?: number;
    want: EdgeTls;
    url: string;
  }> = [
    {
      name: "built-in edge on its default port",
      env: {},
      want: {
        enabled: false,
        scheme: "http",
        port: 8080,
        entryPoint: "web",
        certResolver: undefined,
      },
      url: "http://app.localhost:8080",
    },
    {
      name: "built-in edge on the port it bound (EDGE_PORT=0)",
      env: { EDGE_PORT: "0" },
      listeningPort: 41234,
      want: {
        enabled: false,
        scheme: "http",
        port: 41234,
        entryPoint: "web",
        certResolver: undefined,
      },
      url: "http://app.localhost:41234",
    },
    {
      name: "built-in edge on port 80",
      env: { EDGE_PORT: "80" },
      want: {
        enabled: false,
        scheme: "http",
        port: undefined,
        entryPoint: "web",
        certResolver: undefined,
      },
      url: "http://app.localhost",
    },
    {
      name: "Caddy without an ACME CA: plain HTTP",
      env: { EDGE: "caddy", CADDY_HTTP_PORT: "8081" },
      want: {
        enabled: false,
        scheme: "http",
        port: 8081,
        entryPoint: "web",
        certResolver: undefined,
      },
      url: "http://app.localhost:8081",
    },
    {
      name: "Caddy with an ACME CA: HTTPS",
      env: { EDGE: "caddy", ACME_CA: "https://127.0.0.1:14000/dir" },
      want: {
        enabled: true,
        scheme: "https",
        port: undefined,
        entryPoint: "websecure",
        certResolver: "letsencrypt",
      },
      url: "https://app.localhost",
    },
    {
      name: "Caddy with an ACME CA on another HTTPS port",
      env: { EDGE: "caddy", ACME_CA: "https://127.0.0.1:14000/dir", CADDY_HTTPS_PORT: "8443" },
      want: {
        enabled: true,
        scheme: "https",
        port: 8443,
        entryPoint: "websecure",
        certResolver: "letsencrypt",
      },
      url: "https://app.localhost:8443",
    },
    {
      name: "Traefik (the stack): HTTPS on websecure with letsencrypt",
      env: { EDGE: "traefik" },
      want: {
        enabled: true,
        scheme: "https",
        port: undefined,
        entryPoint: "websecure",
        certResolver: "letsencrypt",
      },
      url: "https://app.localhost",
    },
    {
      name: "Traefik with other names",
      env: { EDGE: "traefik", TRAEFIK_ENTRYPOINT: "https", TRAEFIK_CERT_RESOLVER: "pebble" },
      want: {
        enabled: true,
        scheme: "https",
        port: undefined,
        entryPoint: "https",
        certResolver: "pebble",
      },
      url: "https://app.localhost",
    },
    {
      name: "Traefik without TLS (behind a TLS-terminating load balancer)",
      env: { EDGE: "traefik", TRAEFIK_TLS: "false" },
      want: {
        enabled: false,
        scheme: "http",
        port: undefined,
        entryPoint: "web",
        certResolver: undefined,
      },
      url: "http://app.localhost",
    },
    {
      name: "no edge",
      env: { EDGE: "none" },
      want: {
        enabled: false,
        scheme: "http",
        port: undefined,
        entryPoint: "web",
        certResolver: undefined,
      },
      url: "http://app.localhost",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const tls = of(c.env, c.listeningPort);
      assert.deepEqual(tls, c.want);
      assert.equal(edgeUrl(tls, "app.localhost"), c.url);
    });
  }

  it("agrees with the stack's Traefik option (deploy/stack.traefik.yml)", () => {
    const stack = readFileSync(new URL("../../deploy/stack.traefik.yml", import.meta.url), "utf8");
    const environment = /^ +EDGE: (\S+)\n +TRAEFIK_CERT_RESOLVER: (\S+)$/m.exec(stack);
    assert.ok(environment, "the stack sets EDGE and TRAEFIK_CERT_RESOLVER");
    const tls = of({ EDGE: environment[1] ?? "", TRAEFIK_CERT_RESOLVER: environment[2] ?? "" });
    assert.equal(tls.enabled, true);
    // The entry point exists, is not the one redirected to HTTPS, and the resolver is defined.
    assert.match(stack, new RegExp(`--entryPoints\\.${tls.entryPoint}\\.address=:443`));
    assert.match(
      stack,
      new RegExp(`--entryPoints\\.web\\.http\\.redirections\\.entryPoint\\.to=${tls.entryPoint}`),
    );
    assert.match(stack, new RegExp(`--certificatesResolvers\\.${tls.certResolver}\\.acme\\.`));
  });
});
