/**
 * Whether the edge serves deployments over HTTPS, and the names and ports that follow from it,
 * decided once from the configuration. Everything that depends on it takes this value: the routing
 * rows the deployer writes (`tls`), the Caddy configuration (through those rows), Traefik's HTTP
 * provider configuration and its Docker labels, and the URLs the API shows. Pure.
 */

/** The configuration this depends on (a subset of the platform's Config). */
export interface EdgeTlsSettings {
  EDGE: "builtin" | "caddy" | "traefik" | "none";
  EDGE_PORT: number;
  CADDY_HTTP_PORT: number;
  CADDY_HTTPS_PORT: number;
  ACME_CA?: string | undefined;
  TRAEFIK_TLS: boolean;
  TRAEFIK_ENTRYPOINT?: string | undefined;
  TRAEFIK_CERT_RESOLVER: string;
}

export interface EdgeTls {
  /** Routes are served over HTTPS, with certificates the edge obtains through ACME. */
  enabled: boolean;
  scheme: "http" | "https";
  /** The port the URLs name; undefined when it is the scheme's default (80, 443) or unknown. */
  port: number | undefined;
  /**
   * Traefik: the entry point routers go on. The stack's static configuration defines `web` (:80,
   * redirected to HTTPS) and `websecure` (:443); a TLS router on `web` would never be reached.
   */
  entryPoint: string;
  /** Traefik: the certificate resolver of the static configuration, when TLS is on. */
  certResolver: string | undefined;
}

/** Traefik's entry points in the stack (deploy/stack.traefik.yml). */
export const TRAEFIK_HTTP_ENTRYPOINT = "web";
export const TRAEFIK_HTTPS_ENTRYPOINT = "websecure";

/**
 * - builtin: plain HTTP on EDGE_PORT (`listeningPort` when the edge runs here and bound port 0);
 * - caddy: HTTPS on CADDY_HTTPS_PORT when ACME_CA names a CA, else HTTP on CADDY_HTTP_PORT;
 * - traefik: HTTPS unless TRAEFIK_TLS=false, on the ports of Traefik's static configuration;
 * - none: whatever is in front; URLs are plain `http://domain`.
 */
export function edgeTls(settings: EdgeTlsSettings, listeningPort?: number): EdgeTls {
  switch (settings.EDGE) {
    case "builtin":
      return plain(listeningPort ?? (settings.EDGE_PORT || undefined));
    case "caddy":
      return settings.ACME_CA !== undefined
        ? secure(settings.CADDY_HTTPS_PORT, settings)
        : plain(settings.CADDY_HTTP_PORT);
    case "traefik":
      return settings.TRAEFIK_TLS
        ? secure(undefined, settings)
        : plain(undefined, settings.TRAEFIK_ENTRYPOINT);
    case "none":
      return plain(undefined);
  }
}

function plain(port: number | undefined, entryPoint?: string): EdgeTls {
  return {
    enabled: false,
    scheme: "http",
    port: port === 80 ? undefined : port,
    entryPoint: entryPoint ?? TRAEFIK_HTTP_ENTRYPOINT,
    certResolver: undefined,
  };
}

function secure(port: number | undefined, settings: EdgeTlsSettings): EdgeTls {
  return {
    enabled: true,
    scheme: "https",
    port: port === 443 ? undefined : port,
    entryPoint: settings.TRAEFIK_ENTRYPOINT ?? TRAEFIK_HTTPS_ENTRYPOINT,
    certResolver: settings.TRAEFIK_CERT_RESOLVER,
  };
}

/** The URL a deployment's domain answers on through this edge. */
export function edgeUrl(tls: EdgeTls, domain: string): string {
  return `${tls.scheme}://${domain}${tls.port === undefined ? "" : `:${tls.port}`}`;
}
