/**
 * The DNS label a branch's preview is served under: `<branch>--<deployment>`, one label of at most
 * 63 characters from [a-z0-9-], so `feature-login--web.preview.example.com` needs no more than a
 * wildcard certificate and a wildcard record.
 */
import { createHash } from "node:crypto";
import { invalidArgument } from "../domain/index.js";

const MAX_LABEL = 63;
const SEPARATOR = "--";
/** The longest deployment part, so a long deployment name leaves the branch at least 31. */
const MAX_DEPLOYMENT = 30;
/** Hex digits of the SHA-256 of the raw name appended when its part had to change. */
const BRANCH_HASH = 8;
const DEPLOYMENT_HASH = 6;

/**
 * The preview's label for `branch` of the deployment `deploymentName` (a DNS-safe slug).
 *
 * Each part is the name in lower case with every run of other characters than [a-z0-9] made one
 * `-`, none at either end. When that changed the name (case, characters replaced, cut to fit), or
 * the name already ends in a `-` and as many hex digits as a hash, the part is cut shorter and
 * ends in `-` and the first hex digits of the SHA-256 of the raw name (8 for a branch, 6 for a
 * deployment): a part left as written never ends like that, so two branches share a label only if
 * the hashes of two changed names agree in 32 bits. A branch part of exactly two characters is
 * hashed too, since `ab--web` has the `--` in the third and fourth places that DNS keeps for
 * encodings (`xn--`), and certificate authorities refuse such labels.
 */
export function previewLabel(branch: string, deploymentName: string): string {
  const deployment = labelPart(deploymentName, MAX_DEPLOYMENT, DEPLOYMENT_HASH);
  if (deployment === undefined) {
    throw invalidArgument(
      `the deployment name "${deploymentName}" has no letter or digit to name a preview with`,
    );
  }
  const room = MAX_LABEL - SEPARATOR.length - deployment.length;
  const branchPart =
    labelPart(branch, room, BRANCH_HASH, (part) => part.length !== 2) ?? hash(branch, BRANCH_HASH);
  return `${branchPart}${SEPARATOR}${deployment}`;
}

/**
 * `name` as a label part of at most `max` characters, as `previewLabel` describes; undefined when
 * the name has no letter or digit at all (the caller decides whether the hash alone will do).
 */
function labelPart(
  name: string,
  max: number,
  hashLength: number,
  mayStayAsWritten: (part: string) => boolean = () => true,
): string | undefined {
  const part = slug(name);
  const endsLikeAHash = new RegExp(`(?:^|-)[0-9a-f]{${hashLength}}$`).test(part);
  if (part === "") return undefined;
  if (part === name && part.length <= max && !endsLikeAHash && mayStayAsWritten(part)) {
    return part;
  }
  const kept = part.slice(0, max - hashLength - 1).replace(/-+$/, "");
  const suffix = hash(name, hashLength);
  return kept === "" ? suffix : `${kept}-${suffix}`;
}

/** Lower case, every run of characters other than [a-z0-9] one `-`, none at the ends. */
function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function hash(name: string, length: number): string {
  return createHash("sha256").update(name, "utf8").digest("hex").slice(0, length);
}
