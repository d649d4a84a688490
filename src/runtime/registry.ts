/**
 * Image distribution through a registry (REGISTRY), the alternative to streaming images from
 * engine to engine (swarm-images.ts): after a build, the building engine tags the image
 * `<registry>/obiente-<deployment>:<commit>` and pushes it; services then refer to it by digest,
 * `<registry>/obiente-<deployment>@sha256:…`, which is as content-addressed as the image id, and
 * the Swarm nodes pull it with the registry credentials that the service was created with
 * (X-Registry-Auth, kept by Swarm with the service).
 *
 * Credentials only travel in X-Registry-Auth headers to the engines: never in a message, a log
 * line, a command line or the database. Failures of the registry (unreachable, credentials
 * refused, plain HTTP unexpected) become DomainErrors a person can act on.
 */
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { DomainError, imageMissing, invalidArgument } from "../domain/index.js";
import { engineError, reasonOf, statusOf } from "./engine-errors.js";
import { PATH_COMPONENT, type RegistryReference } from "./registry-reference.js";
import { type EngineRef, engineClient } from "./swarm-images.js";

/** Where images go: REGISTRY and its companions, validated (src/config/config.ts). */
export interface RegistrySettings extends RegistryReference {
  username?: string | undefined;
  password?: string | undefined;
  /** The registry speaks plain HTTP (a private test registry); the engines must allow it. */
  insecure: boolean;
}

/** What the engine expects in X-Registry-Auth. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** The X-Registry-Auth of the settings (an empty one without credentials: the API wants one). */
export function registryAuth(settings: RegistrySettings): RegistryAuth {
  return settings.username !== undefined && settings.password !== undefined
    ? {
        username: settings.username,
        password: settings.password,
        serveraddress: settings.host,
      }
    : { serveraddress: settings.host };
}

/**
 * The repository and tag an image is pushed as: the build's tag `obiente/<deployment>:<sha>`
 * becomes `<registry>/<namespace>/obiente-<deployment>:<sha>` (one path component below the
 * namespace, which every registry accepts).
 */
export function pushTarget(
  settings: RegistryReference,
  imageId: string,
  repoTags: readonly string[],
): { repository: string; tag: string } {
  const prefix = settings.namespace ? `${settings.host}/${settings.namespace}` : settings.host;
  const own = repoTags.find((tag) => tag.startsWith("obiente/"));
  if (own) {
    const at = own.lastIndexOf(":");
    const name = own.slice(0, at).replace(/\//g, "-");
    const tag = own.slice(at + 1);
    if (PATH_COMPONENT.test(name) && /^[\w][\w.-]{0,127}$/.test(tag)) {
      return { repository: `${prefix}/${name}`, tag };
    }
  }
  return { repository: `${prefix}/obiente-image`, tag: imageId.slice("sha256:".length, 19) };
}

/** What the engine's push stream (JSON lines) said: the error, or the pushed digest. */
export function pushOutcome(body: string): { error?: string; digest?: string } {
  let digest: string | undefined;
  for (const line of body.split("\n")) {
    if (!line.trim()) continue;
    let message: {
      error?: string;
      errorDetail?: { message?: string };
      aux?: { Digest?: string };
      status?: string;
    };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      continue; // Not JSON: not something the engine reports.
    }
    const error = message.errorDetail?.message ?? message.error;
    if (error) return { error };
    if (message.aux?.Digest && DIGEST.test(message.aux.Digest)) digest = message.aux.Digest;
    const status = /digest: (sha256:[0-9a-f]{64})/.exec(message.status ?? "")?.[1];
    digest ??= status;
  }
  return digest ? { digest } : {};
}

/**
 * A registry failure as a person reads it: unreachable, credentials refused, or a plain-HTTP
 * registry the engine reaches over HTTPS. `reason` is the engine's message.
 */
export function registryFailure(
  settings: RegistrySettings,
  endpoint: string,
  reference: string,
  reason: string,
): DomainError {
  const where = `the registry ${settings.host}`;
  if (
    /unauthorized|authentication required|no basic auth credentials|denied|\b401\b/i.test(reason)
  ) {
    const who =
      settings.username !== undefined
        ? `the credentials of user "${settings.username}" (REGISTRY_USERNAME, REGISTRY_PASSWORD)`
        : "the push: it needs credentials (set REGISTRY_USERNAME and REGISTRY_PASSWORD)";
    return new DomainError(
      "permission_denied",
      `${where} refused ${who} when pushing ${reference}: ${reason}`,
    );
  }
  if (/server gave HTTP response to HTTPS client/i.test(reason)) {
    return new DomainError(
      "failed_precondition",
      `${where} speaks plain HTTP, and the engine at ${endpoint} talks HTTPS to it: list it in every engine's insecure registries (dockerd --insecure-registry ${settings.host})${settings.insecure ? "" : " and set REGISTRY_INSECURE=true"}: ${reason}`,
    );
  }
  if (
    /connection refused|no such host|i\/o timeout|no route to host|network is unreachable|dial tcp|timeout exceeded|EOF/i.test(
      reason,
    )
  ) {
    return new DomainError(
      "unavailable",
      `${where} cannot be reached from the engine at ${endpoint} (pushing ${reference}): ${reason}`,
    );
  }
  if (/http: server gave|tls|x509|certificate/i.test(reason)) {
    return new DomainError(
      "failed_precondition",
      `${where} could not be reached over HTTPS from the engine at ${endpoint}${settings.insecure ? ` (REGISTRY_INSECURE=true: is it in the engines' insecure registries?)` : ""}: ${reason}`,
    );
  }
  return new DomainError("unavailable", `pushing ${reference} to ${where} failed: ${reason}`);
}

/**
 * Pushes the image `imageId` from `engine` to the registry; resolves with the content-addressed
 * reference `<repository>@sha256:…` that services use.
 */
export async function pushImage(
  engine: EngineRef,
  imageId: string,
  settings: RegistrySettings,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  if (!IMAGE_ID.test(imageId)) {
    throw invalidArgument(`image must be a content id "sha256:<64 hex digits>", got "${imageId}"`);
  }
  const { docker, endpoint } = engineClient(engine);
  let repoTags: string[];
  try {
    repoTags = (await docker.getImage(imageId).inspect()).RepoTags ?? [];
  } catch (error) {
    if (statusOf(error) === 404) {
      throw imageMissing(
        `image ${imageId} not found on ${endpoint}, the engine it is pushed from`,
        error,
      );
    }
    throw engineError(error, endpoint, `inspect image ${imageId}`);
  }
  const { repository, tag } = pushTarget(settings, imageId, repoTags);
  const reference = `${repository}:${tag}`;
  try {
    await docker.getImage(imageId).tag({ repo: repository, tag });
  } catch (error) {
    throw engineError(error, endpoint, `tag image ${imageId} as ${reference}`);
  }
  const body = await pushStream(docker, endpoint, reference, repository, tag, settings, options);
  const outcome = pushOutcome(body);
  if (outcome.error !== undefined) {
    throw registryFailure(settings, endpoint, reference, outcome.error);
  }
  if (outcome.digest === undefined) {
    throw new DomainError(
      "unavailable",
      `the engine at ${endpoint} pushed ${reference} to the registry ${settings.host} but reported no digest`,
    );
  }
  return `${repository}@${outcome.digest}`;
}

async function pushStream(
  docker: Dockerode,
  endpoint: string,
  reference: string,
  repository: string,
  tag: string,
  settings: RegistrySettings,
  options: { signal?: AbortSignal },
): Promise<string> {
  let response: NodeJS.ReadableStream;
  try {
    response = (await docker.getImage(repository).push({
      tag,
      authconfig: registryAuth(settings),
      ...(options.signal ? { abortSignal: options.signal } : {}),
    })) as NodeJS.ReadableStream;
  } catch (error) {
    options.signal?.throwIfAborted();
    throw registryFailure(settings, endpoint, reference, reasonOf(error));
  }
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    }
  } catch (error) {
    options.signal?.throwIfAborted();
    throw engineError(error, endpoint, `push ${reference}`);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Pushes each image once per process: concurrent replicas of one build share one push, and a
 * pushed image's reference is remembered (a failed push is tried again next time).
 */
export class RegistryImages {
  private readonly pushed = new Map<string, Promise<string>>();

  constructor(
    private readonly options: {
      /** The engine that builds (and so has the images). */
      source: EngineRef;
      settings: RegistrySettings;
      logger?: Logger;
    },
  ) {}

  get host(): string {
    return this.options.settings.host;
  }

  /** The X-Registry-Auth that nodes pull with. */
  get auth(): RegistryAuth {
    return registryAuth(this.options.settings);
  }

  /** `<repository>@sha256:…` of the image `imageId`, pushing it the first time. */
  reference(imageId: string, signal?: AbortSignal): Promise<string> {
    const known = this.pushed.get(imageId);
    if (known) return known;
    const push = pushImage(this.options.source, imageId, this.options.settings, {
      ...(signal ? { signal } : {}),
    }).then((reference) => {
      this.options.logger?.info({ image: imageId, reference }, "image pushed to the registry");
      return reference;
    });
    this.pushed.set(imageId, push);
    push.catch(() => {
      if (this.pushed.get(imageId) === push) this.pushed.delete(imageId);
    });
    return push;
  }
}
