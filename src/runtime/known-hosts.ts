/**
 * OpenSSH's known_hosts, read the way ssh reads it, to check the host key of an `ssh://` engine.
 * Pure. Lines are `patterns keytype base64-key [comment]`; patterns are comma-separated host
 * names or addresses, `[host]:port` for a port other than 22, wildcards `*` and `?`, negations
 * `!pattern`, or one hashed name `|1|salt|hmac` (HashKnownHosts). `@revoked` lines reject a key;
 * `@cert-authority` lines are not supported (certificates are not checked) and are skipped.
 */
import { createHmac } from "node:crypto";

interface Entry {
  revoked: boolean;
  patterns: string;
  key: string;
}

export class KnownHosts {
  private readonly entries: Entry[];

  constructor(text: string) {
    this.entries = [];
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const fields = line.split(/\s+/);
      let revoked = false;
      if (fields[0]?.startsWith("@")) {
        const marker = fields.shift();
        if (marker !== "@revoked") continue;
        revoked = true;
      }
      const [patterns, , key] = fields;
      if (patterns === undefined || key === undefined) continue;
      this.entries.push({ revoked, patterns, key });
    }
  }

  /** True when `key` (the raw key blob the server sent) is known, and not revoked, for host:port. */
  accepts(host: string, port: string | number, key: Buffer): boolean {
    const name = String(port) === "22" ? host : `[${host}]:${port}`;
    const blob = key.toString("base64");
    let known = false;
    for (const entry of this.entries) {
      if (entry.key !== blob) continue;
      if (entry.revoked) return false;
      if (matches(entry.patterns, name)) known = true;
    }
    return known;
  }
}

function matches(patterns: string, name: string): boolean {
  if (patterns.startsWith("|1|")) {
    const [, , salt = "", hash = ""] = patterns.split("|");
    const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(",")) {
    const negated = pattern.startsWith("!");
    if (!glob(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function glob(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${source}$`).test(name.toLowerCase());
}
