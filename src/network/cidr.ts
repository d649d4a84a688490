/**
 * IPv4 addresses and CIDRs as the isolation rules take them, and the allow-list's `CIDR:PORT`
 * entries. Pure. Only what iptables is given is accepted: dotted quads, a prefix of 0-32.
 */

export interface AllowEntry {
  /** "10.0.5.20/32". */
  cidr: string;
  port: number;
}

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpv4(text: string): boolean {
  const match = QUAD.exec(text);
  return match?.slice(1).every((part) => Number(part) <= 255) === true;
}

/** "10.0.0.1" or "10.0.0.0/24". */
export function isIpv4Cidr(text: string): boolean {
  const [address = "", prefix, extra] = text.split("/");
  if (extra !== undefined || !isIpv4(address)) return false;
  return prefix === undefined || (/^\d{1,2}$/.test(prefix) && Number(prefix) <= 32);
}

/** "10.0.0.1" → "10.0.0.1/32"; a CIDR as given. Throws on anything else. */
export function normalizeCidr(text: string): string {
  if (!isIpv4Cidr(text)) throw new Error(`not an IPv4 address or CIDR: "${text.slice(0, 60)}"`);
  return text.includes("/") ? text : `${text}/32`;
}

/** "10.0.5.20/32:5432" → { cidr: "10.0.5.20/32", port: 5432 }; undefined when malformed. */
export function parseAllowEntry(text: string): AllowEntry | undefined {
  const at = text.lastIndexOf(":");
  if (at < 0) return undefined;
  const cidr = text.slice(0, at);
  const port = text.slice(at + 1);
  if (!isIpv4Cidr(cidr) || !/^\d{1,5}$/.test(port)) return undefined;
  const number = Number(port);
  if (number < 1 || number > 65_535) return undefined;
  return { cidr: normalizeCidr(cidr), port: number };
}

export function isAllowEntry(text: string): boolean {
  return parseAllowEntry(text) !== undefined;
}

/**
 * An IPv4 address no one outside its own network can reach: RFC 1918, shared address space
 * (100.64/10, RFC 6598), benchmarking (198.18/15). The platform's own services at such an address
 * are blocked for tenants; a public one is on the internet for everyone anyway.
 */
export function isPrivateIpv4(address: string): boolean {
  if (!isIpv4(address)) return false;
  const [a = 0, b = 0] = address.split(".").map(Number);
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 198 && (b === 18 || b === 19))
  );
}

/**
 * The hosts a service URL names: "postgres://u:p@db1:5432,db2:5432/x" → ["db1", "db2"];
 * "redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/main" → both; "https://id.example.com" → one;
 * brackets of an IPv6 literal removed. Pure; an unreadable URL names none.
 */
export function serviceHosts(url: string): string[] {
  const scheme = url.indexOf("://");
  if (scheme < 0) return [];
  const rest = url.slice(scheme + 3);
  const authority = rest.split(/[/?#]/)[0] ?? "";
  const hosts = authority.slice(authority.lastIndexOf("@") + 1);
  return hosts
    .split(",")
    .map((entry) => {
      const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
      if (bracketed) return bracketed[1] ?? "";
      return entry.replace(/:\d*$/, "");
    })
    .filter((host) => host.length > 0);
}
