import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { type EdgeTlsSettings, edgeTls } from "./edge-tls.js";
import type { Route, RouteTable } from "./route-table.js";
import {
  CLIENT_CLAIMS_MIDDLEWARE,
  routeName,
  traefikDynamicConfig,
  traefikLabels,
} from "./traefik.js";

/** The Traefik v3 file-provider schema (SchemaStore), kept in test/fixtures/schemas. */
const schemaPath = new URL(
  "../../test/fixtures/schemas/traefik-v3-file-provider.json",
  import.meta.url,
);
const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as JsonSchema;

function settings(overrides: Partial<EdgeTlsSettings> = {}): EdgeTlsSettings {
  return {
    EDGE: "traefik",
    EDGE_PORT: 8080,
    CADDY_HTTP_PORT: 80,
    CADDY_HTTPS_PORT: 443,
    TRAEFIK_TLS: true,
    TRAEFIK_CERT_RESOLVER: "letsencrypt",
    ...overrides,
  };
}
/** The stack's edge: HTTPS on websecure, certificates from the letsencrypt resolver. */
const secure = edgeTls(settings());
/** No TLS: the built-in edge's setting, as the labels get it. */
const plain = edgeTls(settings({ EDGE: "builtin" }));

function route(overrides: Partial<Route> & Pick<Route, "domain">): Route {
  return {
    pathPrefix: "/",
    deploymentId: "d1",
    tls: false,
    lbAlgorithm: "round_robin",
    weights: {},
    upstreams: ["10.0.0.1:30001"],
    ...overrides,
  };
}

const table: RouteTable = {
  routes: [
    route({
      domain: "app.example.com",
      pathPrefix: "/api",
      upstreams: ["10.0.0.1:1", "10.0.0.2:2"],
    }),
    route({ domain: "app.example.com" }),
    route({ domain: "down.example.com", upstreams: [] }),
    route({ domain: "secure.example.com", tls: true }),
  ],
};

describe("traefikDynamicConfig", () => {
  it("has a router and a service per route", () => {
    const config = traefikDynamicConfig(table, { tls: plain });
    const api = routeName({ domain: "app.example.com", pathPrefix: "/api" });
    assert.deepEqual(config.http.routers[api], {
      rule: "Host(`app.example.com`) && PathPrefix(`/api`)",
      service: api,
      entryPoints: ["web"],
      middlewares: [CLIENT_CLAIMS_MIDDLEWARE],
    });
    assert.deepEqual(config.http.services[api], {
      loadBalancer: {
        servers: [{ url: "http://10.0.0.1:1" }, { url: "http://10.0.0.2:2" }],
        passHostHeader: true,
      },
    });
    assert.equal(Object.keys(config.http.routers).length, 4);
  });

  it("puts every router on the HTTPS entry point with the resolver when the edge has TLS", () => {
    // Whatever a (possibly older) routing row says: the edge's one TLS decision.
    const config = traefikDynamicConfig(table, { tls: secure });
    for (const router of Object.values(config.http.routers)) {
      assert.deepEqual(router.entryPoints, ["websecure"]);
      assert.deepEqual(router.tls, { certResolver: "letsencrypt" });
    }
    const custom = traefikDynamicConfig(table, {
      tls: edgeTls(settings({ TRAEFIK_ENTRYPOINT: "https", TRAEFIK_CERT_RESOLVER: "pebble" })),
    });
    for (const router of Object.values(custom.http.routers)) {
      assert.deepEqual(router.entryPoints, ["https"]);
      assert.deepEqual(router.tls, { certResolver: "pebble" });
    }
    // No resolver: TLS with Traefik's default certificate.
    const noResolver = traefikDynamicConfig(table, {
      tls: edgeTls(settings({ TRAEFIK_CERT_RESOLVER: "" })),
    });
    for (const router of Object.values(noResolver.http.routers)) assert.deepEqual(router.tls, {});
  });

  it("removes the client's claims about itself that Traefik passes on", () => {
    const config = traefikDynamicConfig(table, { tls: secure });
    const removed = config.http.middlewares[CLIENT_CLAIMS_MIDDLEWARE]?.headers.customRequestHeaders;
    assert.ok(removed);
    for (const name of ["Forwarded", "X-Forwarded-Prefix", "True-Client-Ip", "Cf-Connecting-Ip"]) {
      assert.equal(removed[name], "", name);
    }
    // Traefik sets these itself from the connection: removing them would remove its own values.
    for (const name of ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip"]) {
      assert.equal(removed[name], undefined, name);
    }
  });

  it("points a route without live replica at a closed port (Traefik answers 502)", () => {
    const config = traefikDynamicConfig(table, {
      tls: secure,
      unavailableUrl: "http://127.0.0.1:9",
    });
    const down = config.http.services[routeName({ domain: "down.example.com", pathPrefix: "/" })];
    assert.deepEqual(down?.loadBalancer.servers, [{ url: "http://127.0.0.1:9" }]);
  });

  it("is deterministic", () => {
    assert.equal(
      JSON.stringify(traefikDynamicConfig(table, { tls: secure })),
      JSON.stringify(traefikDynamicConfig(table, { tls: secure })),
    );
  });

  it("names routes uniquely even when their slugs collide", () => {
    assert.notEqual(
      routeName({ domain: "a-b.com", pathPrefix: "/" }),
      routeName({ domain: "a.b-com", pathPrefix: "/" }),
    );
  });

  it("validates against the Traefik v3 schema (minimal draft-07 check)", () => {
    for (const tls of [secure, plain, edgeTls(settings({ TRAEFIK_CERT_RESOLVER: "pebble" }))]) {
      assert.deepEqual(validate(schema, traefikDynamicConfig(table, { tls })), []);
      assert.deepEqual(validate(schema, traefikDynamicConfig({ routes: [] }, { tls })), []);
    }
    // The check does bite: a missing and an unknown key, a wrong type, a server without url.
    const bad = {
      http: {
        routers: { r: { rule: 1, servce: "x" } },
        services: { s: { loadBalancer: { servers: [{}] } } },
      },
    };
    assert.deepEqual(validate(schema, bad), [
      "/http/routers/r: missing service",
      "/http/routers/r/rule: not string",
      "/http/routers/r/servce: not allowed",
      "/http/services/s: matches 0 of oneOf",
    ]);
  });

  it("validates against the Traefik v3 schema (ajv)", async () => {
    // ajv is a pinned devDependency: its absence is a broken install, not a reason to skip.
    const ajv = await loadAjv();
    assert.ok(ajv, "ajv is missing: run npm ci");
    const check = ajv.compile(schema);
    for (const tls of [secure, plain]) {
      const config = traefikDynamicConfig(table, { tls });
      assert.equal(check(config), true, JSON.stringify(check.errors));
    }
    assert.equal(check({ http: { routers: { r: { servce: "x" } } } }), false);
  });
});

describe("traefikLabels", () => {
  it("gives the design's labels, for HTTP", () => {
    const labels = traefikLabels({
      deploymentId: "d1",
      domains: ["b.test", "A.test"],
      port: 3000,
      tls: plain,
    });
    const middleware = "traefik.http.middlewares.deployment-d1-client-claims";
    assert.deepEqual(
      Object.fromEntries(Object.entries(labels).filter(([key]) => !key.startsWith(middleware))),
      {
        "traefik.enable": "true",
        "traefik.http.routers.deployment-d1.entrypoints": "web",
        "traefik.http.routers.deployment-d1.middlewares": "deployment-d1-client-claims",
        "traefik.http.routers.deployment-d1.rule": "Host(`a.test`) || Host(`b.test`)",
        "traefik.http.routers.deployment-d1.service": "deployment-d1",
        "traefik.http.services.deployment-d1.loadbalancer.server.port": "3000",
      },
    );
    assert.equal(labels[`${middleware}.headers.customrequestheaders.Forwarded`], "");
  });

  it("adds TLS with the certificate resolver, on the HTTPS entry point", () => {
    const labels = traefikLabels({
      deploymentId: "d1",
      domains: ["a.test"],
      port: 3000,
      tls: edgeTls(settings({ TRAEFIK_CERT_RESOLVER: "le" })),
    });
    assert.equal(labels["traefik.http.routers.deployment-d1.tls"], "true");
    assert.equal(labels["traefik.http.routers.deployment-d1.tls.certresolver"], "le");
    assert.equal(labels["traefik.http.routers.deployment-d1.entrypoints"], "websecure");
  });

  it("agrees with the provider's router for the same deployment", () => {
    for (const tls of [secure, plain]) {
      const one: RouteTable = { routes: [route({ domain: "a.test", deploymentId: "d1" })] };
      const router = traefikDynamicConfig(one, { tls }).http.routers[
        routeName({ domain: "a.test", pathPrefix: "/" })
      ];
      const labels = traefikLabels({ deploymentId: "d1", domains: ["a.test"], port: 80, tls });
      const prefix = "traefik.http.routers.deployment-d1";
      assert.equal(labels[`${prefix}.rule`], router?.rule);
      assert.equal(labels[`${prefix}.entrypoints`], router?.entryPoints.join(","));
      assert.equal(labels[`${prefix}.tls`] === "true", router?.tls !== undefined);
      assert.equal(labels[`${prefix}.tls.certresolver`], router?.tls?.certResolver);
    }
  });
});

/** ajv when it can be imported (it is not a direct dependency), else undefined. */
async function loadAjv(): Promise<
  { compile(schema: unknown): ((data: unknown) => boolean) & { errors?: unknown } } | undefined
> {
  const name = "ajv";
  try {
    const module = (await import(name)) as { default: { default?: unknown } };
    const Ajv = (module.default.default ?? module.default) as new (
      options: object,
    ) => {
      compile(schema: unknown): ((data: unknown) => boolean) & { errors?: unknown };
    };
    return new Ajv({ strict: false, allErrors: true });
  } catch {
    return undefined;
  }
}

/**
 * The subset of JSON Schema draft-07 that the Traefik schema uses: type, properties,
 * additionalProperties, patternProperties, required, items, minItems, minimum, maximum, oneOf,
 * enum and local $ref. Returns the errors, as JSON pointers with a reason.
 */
interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  minimum?: number;
  maximum?: number;
  oneOf?: JsonSchema[];
  enum?: unknown[];
  definitions?: Record<string, JsonSchema>;
}

function validate(root: JsonSchema, value: unknown, node: JsonSchema = root, at = ""): string[] {
  if (node.$ref !== undefined) {
    const name = node.$ref.replace(/^#\/definitions\//, "");
    const target = root.definitions?.[name];
    if (!target) return [`${at}: unresolved ${node.$ref}`];
    return validate(root, value, target, at);
  }
  if (node.type !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.some((type) => hasType(value, type))) return [`${at}: not ${types.join("|")}`];
  }
  const errors: string[] = [];
  if (
    node.enum &&
    !node.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))
  ) {
    errors.push(`${at}: not in enum`);
  }
  if (typeof value === "number") {
    if (node.minimum !== undefined && value < node.minimum) errors.push(`${at}: below minimum`);
    if (node.maximum !== undefined && value > node.maximum) errors.push(`${at}: above maximum`);
  }
  if (Array.isArray(value)) {
    if (node.minItems !== undefined && value.length < node.minItems)
      errors.push(`${at}: too few items`);
    const items = node.items;
    if (items) {
      for (const [i, item] of value.entries())
        errors.push(...validate(root, item, items, `${at}/${i}`));
    }
  } else if (value !== null && typeof value === "object") {
    const object = value as Record<string, unknown>;
    for (const key of node.required ?? [])
      if (!(key in object)) errors.push(`${at}: missing ${key}`);
    for (const [key, item] of Object.entries(object)) {
      const path = `${at}/${key}`;
      const property = node.properties?.[key];
      const patterns = Object.entries(node.patternProperties ?? {}).filter(([p]) =>
        new RegExp(p, "u").test(key),
      );
      if (property) errors.push(...validate(root, item, property, path));
      for (const [, patternSchema] of patterns)
        errors.push(...validate(root, item, patternSchema, path));
      if (property || patterns.length > 0) continue;
      if (node.additionalProperties === false) errors.push(`${path}: not allowed`);
      else if (typeof node.additionalProperties === "object") {
        errors.push(...validate(root, item, node.additionalProperties, path));
      }
    }
  }
  if (node.oneOf) {
    const passing = node.oneOf.filter(
      (option) => validate(root, value, option, at).length === 0,
    ).length;
    if (passing !== 1) errors.push(`${at}: matches ${passing} of oneOf`);
  }
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "null":
      return value === null;
    default:
      return typeof value === type;
  }
}
