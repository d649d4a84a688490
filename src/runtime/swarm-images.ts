/**
 * Image distribution without a registry: the image is streamed from the engine that built it
 * (`docker save`, GET /images/{id}/get) into the engine of the node that will run it
 * (`docker load`, POST /images/load), nothing on disk in between. In production the agent on the
 * target node does this; tests hand over a socket per node.
 *
 * Images are referred to by content id (`sha256:…`). `docker save` of an id keeps the id (it is
 * the hash of the image's configuration), so the loaded image is the same image; its tags are
 * copied as well, so that `docker image ls` on the node says what it is and `image prune` does not
 * treat it as dangling.
 */
import Dockerode from "dockerode";
import { DomainError, imageMissing, invalidArgument, unavailable } from "../domain/index.js";
import { dockerOptions } from "./docker-host.js";
import { engineError, reasonOf, statusOf } from "./engine-errors.js";

/** An engine: a dockerode client, or its DOCKER_HOST-style address. */
export type EngineRef = Dockerode | string;

export type ImagePresence = "present" | "loaded";

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

export function engineClient(ref: EngineRef): { docker: Dockerode; endpoint: string } {
  if (typeof ref === "string") {
    const { options, endpoint } = dockerOptions(ref);
    return { docker: new Dockerode(options), endpoint };
  }
  const modem = ref.modem as { socketPath?: unknown; host?: string; port?: string | number };
  const endpoint =
    typeof modem.socketPath === "string"
      ? `unix://${modem.socketPath}`
      : `tcp://${modem.host ?? "?"}:${modem.port ?? 2375}`;
  return { docker: ref, endpoint };
}

/**
 * Makes sure `target` has the image `imageId`: "present" when it had it, "loaded" when it was
 * copied from `source`. Throws `not_found` (reason image_missing) when the source does not have
 * it either.
 */
export async function copyImage(
  imageId: string,
  source: EngineRef,
  target: EngineRef,
  options: { signal?: AbortSignal } = {},
): Promise<ImagePresence> {
  if (!IMAGE_ID.test(imageId)) {
    throw invalidArgument(`image must be a content id "sha256:<64 hex digits>", got "${imageId}"`);
  }
  const to = engineClient(target);
  if (await hasImage(to.docker, to.endpoint, imageId)) return "present";
  const from = engineClient(source);
  let tags: string[];
  try {
    tags = ((await from.docker.getImage(imageId).inspect()).RepoTags ?? []).filter(
      (tag) => tag && tag !== "<none>:<none>",
    );
  } catch (error) {
    throw sourceError(error, from.endpoint, `inspect image ${imageId}`, imageId);
  }

  await stream(imageId, from, to, options.signal);
  if (!(await hasImage(to.docker, to.endpoint, imageId))) {
    throw unavailable(`${to.endpoint} loaded the image but has no image ${imageId} afterwards`);
  }
  for (const tag of tags) {
    const at = tag.lastIndexOf(":");
    const slash = tag.lastIndexOf("/");
    const [repo, name] = at > slash ? [tag.slice(0, at), tag.slice(at + 1)] : [tag, "latest"];
    try {
      await to.docker.getImage(imageId).tag({ repo, tag: name });
    } catch (error) {
      throw engineError(error, to.endpoint, `tag image ${imageId} as ${tag}`);
    }
  }
  return "loaded";
}

/** A failure of the engine copied from; one that has not got the image says image_missing. */
function sourceError(error: unknown, endpoint: string, action: string, imageId: string): Error {
  if (statusOf(error) === 404) {
    return imageMissing(
      `image ${imageId} not found on ${endpoint}, the engine it is copied from`,
      error,
    );
  }
  return engineError(error, endpoint, action);
}

async function hasImage(docker: Dockerode, endpoint: string, imageId: string): Promise<boolean> {
  try {
    await docker.getImage(imageId).inspect();
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw engineError(error, endpoint, `inspect image ${imageId}`);
  }
}

/** save | load, with either side's failure (or `signal`) ending both. */
async function stream(
  imageId: string,
  from: { docker: Dockerode; endpoint: string },
  to: { docker: Dockerode; endpoint: string },
  signal: AbortSignal | undefined,
): Promise<void> {
  const abort = new AbortController();
  const stop = () => abort.abort(signal?.reason);
  signal?.addEventListener("abort", stop, { once: true });
  let saved: NodeJS.ReadableStream & { destroy?: (error?: Error) => void };
  try {
    saved = await from.docker.getImage(imageId).get();
  } catch (error) {
    signal?.removeEventListener("abort", stop);
    throw sourceError(error, from.endpoint, `save image ${imageId}`, imageId);
  }
  // A source that fails halfway would otherwise leave the load waiting for the rest forever.
  const sourceFailed = new Promise<never>((_, reject) => {
    saved.once("error", (error: unknown) => {
      abort.abort();
      reject(
        unavailable(
          `reading image ${imageId} from ${from.endpoint} failed: ${reasonOf(error)}`,
          error,
        ),
      );
    });
  });
  // Only ever rejects; the race below reports it. Without a handler, a failure after the load
  // won would be an unhandled rejection.
  sourceFailed.catch(() => undefined);
  const load = (async () => {
    let response: NodeJS.ReadableStream;
    try {
      response = await to.docker.loadImage(saved, { quiet: true, abortSignal: abort.signal });
    } catch (error) {
      throw engineError(error, to.endpoint, `load image ${imageId}`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of response) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    }
    const failure = loadFailure(Buffer.concat(chunks).toString("utf8"));
    if (failure) {
      throw new DomainError(
        "unavailable",
        `${to.endpoint} could not load image ${imageId}: ${failure}`,
      );
    }
  })();
  // Whichever loses the race below still settles: its outcome is already accounted for.
  load.catch(() => undefined);
  try {
    await Promise.race([load, sourceFailed]);
  } catch (error) {
    saved.destroy?.();
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

/** The error the engine reported in its load progress (JSON lines), if it did. */
export function loadFailure(body: string): string | undefined {
  for (const line of body.split("\n")) {
    if (!line.trim()) continue;
    try {
      const message = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      const error = message.errorDetail?.message ?? message.error;
      if (error) return error;
    } catch {
      // Not JSON: not an error message of the engine.
    }
  }
  return undefined;
}
