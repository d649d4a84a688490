/**
 * Names the platform keeps for itself. Two kinds, both from RESERVED_NAMES:
 *  - labels (`www`, `api`, …): `<label>.<PLATFORM_DOMAIN>` is never a deployment's default name,
 *    so that no tenant answers at `login.<platform>` or `api.<platform>`;
 *  - hosts (entries with a dot, and the hosts of OIDC_ISSUER and CORS_ORIGINS, which are the
 *    platform's own sign-in and dashboard): never a custom domain, wherever they lie.
 * Pure.
 */
export interface ReservedNamesConfig {
  RESERVED_NAMES: readonly string[];
  PLATFORM_DOMAIN: string;
  OIDC_ISSUER?: string | undefined;
  CORS_ORIGINS: readonly string[];
}

export interface ReservedNames {
  /** Labels under the platform's domain. */
  readonly labels: ReadonlySet<string>;
  /** Whole host names. */
  readonly hosts: ReadonlySet<string>;
}

export function reservedNames(config: ReservedNamesConfig): ReservedNames {
  const labels = new Set<string>();
  const hosts = new Set<string>();
  for (const name of config.RESERVED_NAMES) {
    const lower = name.toLowerCase();
    if (lower.includes(".")) hosts.add(lower);
    else {
      labels.add(lower);
      hosts.add(`${lower}.${config.PLATFORM_DOMAIN}`);
    }
  }
  for (const url of [config.OIDC_ISSUER, ...config.CORS_ORIGINS]) {
    const host = hostOf(url);
    if (host) hosts.add(host);
  }
  return { labels, hosts };
}

/** Whether `<label>.<platform domain>` may be a default name. */
export function isReservedLabel(reserved: ReservedNames, label: string): boolean {
  return reserved.labels.has(label.toLowerCase());
}

/** Whether a custom domain is one of the platform's own hosts. */
export function isReservedHost(reserved: ReservedNames, domain: string): boolean {
  return reserved.hosts.has(domain.toLowerCase());
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host === "" ? undefined : host;
  } catch {
    // CORS_ORIGINS may hold "*" or a bare origin the URL parser refuses: no host to reserve.
    return undefined;
  }
}
