/**
 * A verified delivery to the event it means: the forge's event header chooses the reading, the
 * delivery header gives the id, the body gives the rest.
 */
import { createHash } from "node:crypto";
import { invalidArgument } from "../domain/index.js";
import { BITBUCKET } from "./bitbucket.js";
import type { ForgeParser } from "./delivery.js";
import { type ForgeEvent, type ForgeName, type Headers, headerValue } from "./forge.js";
import { GITEA, GITHUB } from "./github-like.js";
import { GITLAB } from "./gitlab.js";
import { Payload } from "./payload.js";

const PARSERS: Readonly<Record<ForgeName, ForgeParser>> = {
  github: GITHUB,
  gitlab: GITLAB,
  gitea: GITEA,
  bitbucket: BITBUCKET,
};

/**
 * The event a delivery (already verified with `verifyDelivery`) means. One delivery is one event:
 * a Bitbucket push of several branches gives its first branch (see bitbucket.ts).
 *
 * A delivery without an id header gets the hex SHA-256 of its body as id, so that a delivery sent
 * twice is still recognised. A body that is not JSON, or lacks a field the event needs, and a
 * delivery without its event header, throw `invalidArgument` with a message for the person who
 * set the webhook up. Events the platform does not act on (tags, issues, a pull request labelled)
 * are `ignored`, with the reason.
 */
export function parseDelivery(forge: ForgeName, headers: Headers, body: Buffer): ForgeEvent {
  const parser = PARSERS[forge];
  const event = firstHeader(headers, parser.eventHeaders);
  if (event === undefined) {
    throw invalidArgument(
      `the delivery has no ${parser.eventHeaders.join(" or ")} header: is it from ${parser.title}?`,
    );
  }
  const deliveryId =
    firstHeader(headers, parser.deliveryHeaders) ?? createHash("sha256").update(body).digest("hex");
  const payload = Payload.parse(
    body,
    headerValue(headers, "content-type"),
    `the ${parser.title} "${event}" delivery`,
  );
  return parser.parse(event, payload, { forge, deliveryId });
}

function firstHeader(headers: Headers, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headerValue(headers, name);
    if (value !== undefined) return value;
  }
  return undefined;
}
